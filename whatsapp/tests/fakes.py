"""Fake Evolution API and Meta Graph API: real HTTP servers on loopback, in a thread.

They speak the real paths, headers and JSON of REFERENCE.md §4 and §5.5, record every request,
and answer from a script (then with success). Other apps' tests reuse them:

    with FakeEvolution(api_key="k") as evo:          # or the `fake_evolution` fixture
        evo.script(Reply(500), Reply(500))           # two 500s, then 201s
        evo.script(Reply.timeout(3))                 # sleep 3 s before answering (client times out)
        evo.script(Reply.not_on_whatsapp())          # 400 exists:false
        settings: EVOLUTION_API_URL=evo.url, EVOLUTION_API_KEY="k"
        evo.requests -> [Recorded(method, path, headers, json)]
        evo.sent_texts() -> [(instance, number, text)]
        evo.states["kumon-demo"] = "close"           # GET /instance/connectionState/<name>

    with FakeMeta(access_token="t") as meta:          # META_GRAPH_URL=meta.url, META_ACCESS_TOKEN="t"
        meta.script(Reply(400, meta_error(131047, "Re-engagement message")))
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from kumon.testing import FakeServer


@dataclass
class Reply:
    status: int = 0  # 0 = the provider's normal success answer
    body: Any = None
    delay: float = 0.0

    @classmethod
    def timeout(cls, seconds: float) -> Reply:
        return cls(delay=seconds)

    @classmethod
    def not_on_whatsapp(cls, number: str = "5511900000000") -> Reply:
        return cls(
            400,
            {
                "status": 400,
                "error": "Bad Request",
                "response": {
                    "message": [{"jid": f"{number}@s.whatsapp.net", "exists": False, "number": number}]
                },
            },
        )

    @classmethod
    def server_error(cls, message: str = "Connection Closed") -> Reply:
        return cls(500, {"status": 500, "error": "Internal Server Error", "response": {"message": message}})


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    json: Any


def meta_error(code: int, message: str, details: str = "") -> dict[str, Any]:
    return {
        "error": {
            "message": f"(#{code}) {message}",
            "type": "OAuthException",
            "code": code,
            "error_data": {"messaging_product": "whatsapp", "details": details or message},
            "fbtrace_id": "AbCdEfGhIjKlMnOpQrStUvW",
        }
    }


@dataclass
class _FakeServer:
    requests: list[Recorded] = field(default_factory=list)
    _script: list[Reply] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    def start(self) -> _FakeServer:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode(errors="replace")
                status, answer, delay = fake._answer(self.command, self.path, dict(self.headers), body)
                if delay:
                    time.sleep(delay)
                data = json.dumps(answer).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json; charset=utf-8")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client timed out and left

            do_GET = _handle
            do_POST = _handle

        self.server = FakeServer(Handler)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def script(self, *replies: Reply) -> None:
        with self._lock:
            self._script.extend(replies)

    def reset(self) -> None:
        with self._lock:
            self._script.clear()
            self.requests.clear()
            self._ids = itertools.count(1)

    def _answer(self, method: str, path: str, headers: dict[str, str], body: Any) -> tuple[int, Any, float]:
        with self._lock:
            self.requests.append(Recorded(method, path, {k.lower(): v for k, v in headers.items()}, body))
            reply = self._script.pop(0) if self._script else Reply()
            seq = next(self._ids)
        status, answer = self.respond(
            method, path, {k.lower(): v for k, v in headers.items()}, body, reply, seq
        )
        return status, answer, reply.delay

    def respond(
        self, method: str, path: str, headers: dict[str, str], body: Any, reply: Reply, seq: int
    ) -> tuple[int, Any]:
        raise NotImplementedError


@dataclass
class FakeEvolution(_FakeServer):
    """Evolution API 2.3.6: `apikey` header; sendText → 201; connectionState → 200."""

    api_key: str = "evolution-test-key"
    states: dict[str, str] = field(default_factory=dict)
    media: dict[str, str] = field(default_factory=dict)  # key.id -> base64 (getBase64FromMediaMessage)

    def respond(self, method, path, headers, body, reply, seq):
        if headers.get("apikey") != self.api_key:
            return 401, {"status": 401, "error": "Unauthorized", "response": {"message": "Unauthorized"}}
        if reply.status:
            return reply.status, reply.body if reply.body is not None else {
                "status": reply.status,
                "error": "Error",
                "response": {"message": ["scripted error"]},
            }
        send = re.fullmatch(r"/message/sendText/([^/?]+)", path)
        if method == "POST" and send:
            if not isinstance(body, dict) or not isinstance(body.get("text"), str) or not body.get("number"):
                return 400, {
                    "status": 400,
                    "error": "Bad Request",
                    "response": {"message": [['instance requires property "text"']]},
                }
            number = re.sub(r"\D", "", str(body["number"]))
            return 201, {
                "key": {"remoteJid": f"{number}@s.whatsapp.net", "fromMe": True, "id": f"3EB0FAKE{seq:014d}"},
                "pushName": "Você",
                "status": "PENDING",
                "message": {"conversation": body["text"]},
                "contextInfo": None,
                "messageType": "conversation",
                "messageTimestamp": int(time.time()),
                "instanceId": "6f1d2b7e-3c4a-4e59-9a41-2b8c7d0e5f13",
                "source": "web",
            }
        media = re.fullmatch(r"/chat/getBase64FromMediaMessage/([^/?]+)", path)
        if method == "POST" and media:
            key_id = ((body or {}).get("message") or {}).get("key", {}).get("id")
            if key_id not in self.media:
                return 400, {
                    "status": 400,
                    "error": "Bad Request",
                    "response": {"message": ["Message not found"]},
                }
            return 201, {
                "mediaType": "audioMessage",
                "fileName": f"{key_id}.oga",
                "caption": None,
                "size": {"fileLength": len(self.media[key_id])},
                "mimetype": "audio/ogg; codecs=opus",
                "base64": self.media[key_id],
                "buffer": None,
            }
        state = re.fullmatch(r"/instance/connectionState/([^/?]+)", path)
        if method == "GET" and state:
            name = state.group(1)
            if name not in self.states:
                return 404, {
                    "status": 404,
                    "error": "Not Found",
                    "response": {"message": [f'The "{name}" instance does not exist']},
                }
            return 200, {"instance": {"instanceName": name, "state": self.states[name]}}
        return 404, {
            "status": 404,
            "error": "Not Found",
            "response": {"message": ["Cannot " + method + " " + path]},
        }

    def sent_texts(self) -> list[tuple[str, str, str]]:
        return [
            (r.path.rsplit("/", 1)[-1], r.json.get("number"), r.json.get("text"))
            for r in list(self.requests)
            if r.method == "POST" and r.path.startswith("/message/sendText/") and isinstance(r.json, dict)
        ]


@dataclass
class FakeMeta(_FakeServer):
    """Graph API: `Authorization: Bearer`; POST /{phone_number_id}/messages → 200 messages[0].id."""

    access_token: str = "meta-test-token"

    def respond(self, method, path, headers, body, reply, seq):
        if headers.get("authorization") != f"Bearer {self.access_token}":
            return 401, meta_error(190, "Invalid OAuth access token.")
        if reply.status:
            return reply.status, reply.body if reply.body is not None else meta_error(
                131000, "Something went wrong"
            )
        send = re.fullmatch(r"/([^/?]+)/messages", path)
        if (
            method == "POST"
            and send
            and isinstance(body, dict)
            and body.get("messaging_product") == "whatsapp"
        ):
            to = str(body.get("to", ""))
            return 200, {
                "messaging_product": "whatsapp",
                "contacts": [{"input": to, "wa_id": to}],
                "messages": [{"id": f"wamid.FAKE{seq:010d}"}],
            }
        return 400, meta_error(100, "Invalid parameter")

    def sent(self) -> list[dict[str, Any]]:
        return [r.json for r in list(self.requests) if r.method == "POST" and isinstance(r.json, dict)]
