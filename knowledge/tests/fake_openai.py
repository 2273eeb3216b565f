"""A local HTTP server speaking OpenAI's POST /v1/embeddings (float and base64 encodings) and
POST /v1/chat/completions (answers `chat_reply`, a fixed text: the point is the protocol)."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler
from typing import Any

import numpy as np

from kumon.testing import FakeServer

DIMS = 16


def bag_of_words(text: str) -> list[float]:
    vector = np.zeros(DIMS, dtype=np.float32)
    for word in text.lower().split():
        vector[int(hashlib.md5(word.encode()).hexdigest(), 16) % DIMS] += 1.0
    return vector.tolist()


class FakeOpenAI:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.fail_with: int | None = None
        self.chat_reply = '- qto custa?\n2. quanto sai por mes\n"valor da mensalidade"\nHow much is it?'
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append(
                    {"path": self.path, "body": body, "auth": self.headers.get("Authorization")}
                )
                if fake.fail_with:
                    self._reply(fake.fail_with, {"error": {"message": "boom", "type": "server_error"}})
                    return
                if self.path.endswith("/chat/completions"):
                    self._reply(
                        200,
                        {
                            "id": "chatcmpl-fake",
                            "object": "chat.completion",
                            "created": 0,
                            "model": body["model"],
                            "choices": [
                                {
                                    "index": 0,
                                    "message": {"role": "assistant", "content": fake.chat_reply},
                                    "finish_reason": "stop",
                                }
                            ],
                            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                        },
                    )
                    return
                inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
                data = []
                for i, text in enumerate(inputs):
                    vector = bag_of_words(text)
                    if body.get("encoding_format") == "base64":
                        embedding: Any = base64.b64encode(
                            np.asarray(vector, dtype=np.float32).tobytes()
                        ).decode()
                    else:
                        embedding = vector
                    data.append({"object": "embedding", "index": i, "embedding": embedding})
                self._reply(
                    200,
                    {
                        "object": "list",
                        "data": data,
                        "model": body["model"],
                        "usage": {"prompt_tokens": 1, "total_tokens": 1},
                    },
                )

            def _reply(self, status: int, payload: dict[str, Any]) -> None:
                raw = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = FakeServer(Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
