"""A local OpenAI-compatible server for tests: /v1/chat/completions (plain and JSON-schema
responses, with usage) and /v1/audio/transcriptions, on loopback.

Its "model" is deterministic: understanding requests (response_format json_schema) are answered
with what the rules understanding reads in the message — the point of the fake is the protocol,
the engine's LLM path, fallbacks and accounting, not intelligence. Answer requests return the
first sentence of the first KNOWLEDGE item, so a test can tell an LLM-phrased answer from the
knowledge text. `mode` makes it fail the ways real servers do.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler
from typing import Any

from conversations.understanding import understand
from kumon.testing import FakeServer

API_KEY = "sk-test-fake"


class FakeOpenAI:
    def __init__(self) -> None:
        self.mode = "ok"  # ok | down (500) | slow | garbage | hallucinate
        self.slow_seconds = 30.0
        self.transcript = "quero agendar uma visita"
        self.requests: list[dict[str, Any]] = []
        self._server = FakeServer(self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def start(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def env(self) -> dict[str, str]:
        return {
            "OPENAI_API_KEY": API_KEY,
            "OPENAI_BASE_URL": self.base_url,
            "OPENAI_MODEL": "fake-gpt",
            "OPENAI_TIMEOUT_SECONDS": "3",
        }

    def chat_requests(self, *, kind: str) -> list[dict[str, Any]]:
        """Recorded chat requests: kind "understand" (JSON schema) or "answer"."""
        return [
            r
            for r in self.requests
            if r["path"].endswith("/chat/completions")
            and (("response_format" in r["body"]) == (kind == "understand"))
        ]

    # --- the model's behaviour ---------------------------------------------------------------

    def complete(self, body: dict[str, Any]) -> str:
        system = body["messages"][0]["content"]
        user = body["messages"][-1]["content"]
        if "response_format" in body:
            if self.mode == "garbage":
                return "{not json"
            step = re.search(r"The receptionist\s+last asked: ([^.\n]*)\.", system)
            today = re.search(r"Today is (\d{4}-\d{2}-\d{2})", system)
            u = understand(
                user,
                step="" if not step or step.group(1) == "nothing" else step.group(1),
                today=dt.date.fromisoformat(today.group(1)) if today else dt.date.today(),
                use_model=False,
            )
            when = u.when
            return json.dumps(
                {
                    "language": u.language,
                    "intents": sorted(str(i) for i in u.intents),
                    "parent_name": u.facts.parent_name or None,
                    "children": [
                        {
                            "name": c.name or None,
                            "age": c.age,
                            "school_year": c.school_year or None,
                            "subjects": c.subjects,
                            "not_subjects": c.not_subjects,
                        }
                        for c in u.facts.children
                    ],
                    "heard_from": u.facts.heard_from or None,
                    "questions": u.questions,
                    "choice": u.choice,
                    "when": {
                        "date": when.day.isoformat() if when and when.day else None,
                        "time": when.time.strftime("%H:%M") if when and when.time else None,
                        "window_from": when.window[0].strftime("%H:%M") if when and when.window else None,
                        "window_until": when.window[1].strftime("%H:%M") if when and when.window else None,
                    },
                    "correction": u.correction,
                }
            )
        if self.mode == "hallucinate":
            return "Custa só R$ 99,00 por mês, com 50% de desconto!"
        knowledge = re.search(r"KNOWLEDGE:\n- (.+?)(?:\n\n|\nFAMILY DATA)", system, re.S)
        if not knowledge:
            return "NO_ANSWER"
        first_sentence = re.split(r"(?<=[.!?])\s", knowledge.group(1).strip())[0]
        return first_sentence

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _json(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                if self.headers.get("Authorization") != f"Bearer {API_KEY}":
                    self._json(
                        401,
                        {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}},
                    )
                    return
                is_json = (self.headers.get("Content-Type") or "").startswith("application/json")
                body = json.loads(raw) if is_json else {}
                fake.requests.append({"path": self.path, "body": body, "raw_size": len(raw)})
                if fake.mode == "down":
                    self._json(500, {"error": {"message": "The server had an error", "type": "server_error"}})
                    return
                if fake.mode == "slow":
                    time.sleep(fake.slow_seconds)
                if self.path.endswith("/audio/transcriptions"):
                    self._json(200, {"text": fake.transcript})
                    return
                if not self.path.endswith("/chat/completions"):
                    self._json(404, {"error": {"message": "Unknown path"}})
                    return
                content = fake.complete(body)
                prompt_tokens = sum(len(m["content"].split()) for m in body["messages"])
                self._json(
                    200,
                    {
                        "id": f"chatcmpl-{len(fake.requests)}",
                        "object": "chat.completion",
                        "created": int(time.time()),
                        "model": body.get("model", "fake-gpt"),
                        "choices": [
                            {
                                "index": 0,
                                "finish_reason": "stop",
                                "message": {"role": "assistant", "content": content},
                            }
                        ],
                        "usage": {
                            "prompt_tokens": prompt_tokens,
                            "completion_tokens": len(content.split()),
                            "total_tokens": prompt_tokens + len(content.split()),
                        },
                    },
                )

        return Handler
