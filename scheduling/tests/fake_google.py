"""A local fake of the Google Calendar v3 API and Google's OAuth token endpoint.

It checks that requests look like the real API's: the service-account JWT grant (signature
verified with the account's public key), Bearer tokens it issued, the v3 paths, RFC 3339 times,
event ids in base32hex, JSON bodies. Faults are injected per operation.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import threading
import urllib.parse
from collections import defaultdict
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from kumon.testing import FakeServer

EVENT_ID = re.compile(r"^[a-v0-9]{5,1024}$")
EVENTS_PATH = re.compile(r"^/calendar/v3/calendars/([^/]+)/events(?:/([^/]+))?$")
CLIENT_EMAIL = "kumon-calendar@kumon-test.iam.gserviceaccount.com"


class FakeGoogleCalendar:
    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.events: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
        self.deleted: set[tuple[str, str]] = set()
        self.busy: dict[str, list[tuple[str, str]]] = defaultdict(list)
        self.calendars: set[str] = set()
        self.requests: list[tuple[str, str]] = []  # (operation, path)
        self.tokens: set[str] = set()
        self.faults: dict[str, list[int]] = defaultdict(list)
        self.errors: list[str] = []  # requests that did not look like the real API
        self._lock = threading.Lock()
        self.server: FakeServer | None = None

    # --- control ---------------------------------------------------------------------------------

    def start(self) -> FakeGoogleCalendar:
        fake = self

        class Handler(_Handler):
            google = fake

        self.server = FakeServer(Handler)
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()

    @property
    def url(self) -> str:
        assert self.server
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def fail(self, operation: str, *statuses: int) -> None:
        """The next calls of `operation` (token, freebusy, insert, patch, delete) answer these."""
        self.faults[operation].extend(statuses)

    def count(self, operation: str) -> int:
        return sum(1 for op, _ in self.requests if op == operation)

    def write_service_account(self, path: Path) -> Path:
        pem = self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        path.write_text(
            json.dumps(
                {
                    "type": "service_account",
                    "project_id": "kumon-test",
                    "private_key_id": "key-1",
                    "private_key": pem,
                    "client_email": CLIENT_EMAIL,
                    "client_id": "1234567890",
                    "auth_uri": "https://accounts.google.com/o/oauth2/auth",
                    "token_uri": f"{self.url}/token",
                }
            )
        )
        return path


class _Handler(BaseHTTPRequestHandler):
    google: FakeGoogleCalendar

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_GET(self) -> None:
        self._dispatch("GET")

    def _dispatch(self, method: str) -> None:
        g = self.google
        parsed = urllib.parse.urlsplit(self.path)
        path = parsed.path
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if method == "POST" and path == "/token":
            return self._token(raw)
        operation, calendar_id, event_id = _operation(method, path)
        with g._lock:
            g.requests.append((operation, path))
        if operation == "unknown":
            return self._error(404, f"no such API path {method} {path}")
        if not self._authorized():
            return self._error(401, "Request had invalid authentication credentials.")
        if g.faults[operation]:
            return self._error(g.faults[operation].pop(0), "Backend Error")
        body: dict[str, Any] = {}
        if raw:
            if self.headers.get("Content-Type", "").split(";")[0] != "application/json":
                return self._bad("body is not JSON")
            body = json.loads(raw)
        if operation == "freebusy":
            return self._freebusy(body)
        if operation == "insert":
            return self._insert(calendar_id, body)
        if operation == "patch":
            return self._patch(calendar_id, event_id, body)
        if operation == "delete":
            return self._delete(calendar_id, event_id)
        return self._error(405, "not implemented")

    # --- endpoints -------------------------------------------------------------------------------

    def _token(self, raw: bytes) -> None:
        g = self.google
        with g._lock:
            g.requests.append(("token", "/token"))
        if g.faults["token"]:
            return self._json(g.faults["token"].pop(0), {"error": "internal_failure"})
        form = urllib.parse.parse_qs(raw.decode())
        if form.get("grant_type") != ["urn:ietf:params:oauth:grant-type:jwt-bearer"]:
            return self._bad("grant_type must be the JWT bearer grant", status=400, oauth=True)
        try:
            header_b64, payload_b64, signature_b64 = form["assertion"][0].split(".")
            g.key.public_key().verify(
                _unb64(signature_b64),
                f"{header_b64}.{payload_b64}".encode(),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
            header, payload = json.loads(_unb64(header_b64)), json.loads(_unb64(payload_b64))
        except Exception:
            return self._bad("assertion is not a JWT signed by the service account", status=400, oauth=True)
        if header.get("alg") != "RS256" or payload.get("iss") != CLIENT_EMAIL:
            return self._bad("wrong issuer or algorithm", status=400, oauth=True)
        # google-auth signs for Google's token audience whatever token_uri is; so does real Google check.
        if payload.get("aud") != "https://oauth2.googleapis.com/token" or "auth/calendar" not in payload.get(
            "scope", ""
        ):
            return self._bad("wrong audience or scope", status=400, oauth=True)
        token = f"ya29.fake-{len(g.tokens) + 1}"
        with g._lock:
            g.tokens.add(token)
        return self._json(200, {"access_token": token, "expires_in": 3600, "token_type": "Bearer"})

    def _freebusy(self, body: dict[str, Any]) -> None:
        try:
            time_min, time_max = _rfc3339(body["timeMin"]), _rfc3339(body["timeMax"])
            ids = [item["id"] for item in body["items"]]
        except (KeyError, TypeError, ValueError):
            return self._bad("freebusy needs timeMin, timeMax (RFC 3339) and items[].id")
        calendars: dict[str, Any] = {}
        for cal in ids:
            if cal not in self.google.calendars:
                calendars[cal] = {"errors": [{"domain": "global", "reason": "notFound"}], "busy": []}
                continue
            # Like Google: explicit busy blocks plus every non-cancelled event of the calendar.
            intervals = list(self.google.busy[cal]) + [
                (e["start"]["dateTime"], e["end"]["dateTime"])
                for e in self.google.events[cal].values()
                if e.get("status") != "cancelled"
            ]
            busy = [
                {
                    "start": _rfc3339(s).astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
                    "end": _rfc3339(e).astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
                }
                for s, e in sorted(intervals, key=lambda i: _rfc3339(i[0]))
                if _rfc3339(s) < time_max and _rfc3339(e) > time_min
            ]
            calendars[cal] = {"busy": busy}
        return self._json(
            200,
            {
                "kind": "calendar#freeBusy",
                "timeMin": body["timeMin"],
                "timeMax": body["timeMax"],
                "calendars": calendars,
            },
        )

    def _insert(self, calendar_id: str, body: dict[str, Any]) -> None:
        g = self.google
        problem = _event_problem(body, partial=False)
        if problem:
            return self._bad(problem)
        if calendar_id not in g.calendars:
            return self._error(404, "Not Found")
        event_id = body.get("id") or f"gen{len(g.events[calendar_id]):06d}"
        if not EVENT_ID.match(event_id):
            return self._bad("Invalid resource id value.")
        with g._lock:
            if event_id in g.events[calendar_id] or (calendar_id, event_id) in g.deleted:
                return self._error(409, "The requested identifier already exists.")
            event = {
                **body,
                "id": event_id,
                "kind": "calendar#event",
                "status": body.get("status", "confirmed"),
            }
            g.events[calendar_id][event_id] = event
        return self._json(200, event)

    def _patch(self, calendar_id: str, event_id: str, body: dict[str, Any]) -> None:
        g = self.google
        problem = _event_problem(body, partial=True)
        if problem:
            return self._bad(problem)
        with g._lock:
            event = g.events[calendar_id].get(event_id)
            if event is None:
                return self._error(410 if (calendar_id, event_id) in g.deleted else 404, "Not Found")
            event.update(body)
        return self._json(200, event)

    def _delete(self, calendar_id: str, event_id: str) -> None:
        g = self.google
        with g._lock:
            if g.events[calendar_id].pop(event_id, None) is None:
                gone = (calendar_id, event_id) in g.deleted
                return self._error(410 if gone else 404, "Resource has been deleted" if gone else "Not Found")
            g.deleted.add((calendar_id, event_id))
        self.send_response(204)
        self.end_headers()

    # --- helpers ---------------------------------------------------------------------------------

    def _authorized(self) -> bool:
        auth = self.headers.get("Authorization", "")
        return auth.startswith("Bearer ") and auth[len("Bearer ") :] in self.google.tokens

    def _bad(self, message: str, *, status: int = 400, oauth: bool = False) -> None:
        self.google.errors.append(message)
        if oauth:
            return self._json(status, {"error": "invalid_grant", "error_description": message})
        return self._error(status, message)

    def _error(self, status: int, message: str) -> None:
        self._json(status, {"error": {"code": status, "message": message, "errors": [{"message": message}]}})

    def _json(self, status: int, data: dict[str, Any]) -> None:
        payload = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def _operation(method: str, path: str) -> tuple[str, str, str]:
    if method == "POST" and path == "/calendar/v3/freeBusy":
        return "freebusy", "", ""
    match = EVENTS_PATH.match(path)
    if not match:
        return "unknown", "", ""
    calendar_id = urllib.parse.unquote(match.group(1))
    event_id = urllib.parse.unquote(match.group(2) or "")
    if method == "POST" and not event_id:
        return "insert", calendar_id, ""
    if method == "PATCH" and event_id:
        return "patch", calendar_id, event_id
    if method == "DELETE" and event_id:
        return "delete", calendar_id, event_id
    return "unknown", calendar_id, event_id


def _event_problem(body: dict[str, Any], *, partial: bool) -> str:
    for side in ("start", "end"):
        if side not in body:
            if partial:
                continue
            return f"Missing {side} time."
        try:
            _rfc3339(body[side]["dateTime"])
        except (KeyError, TypeError, ValueError):
            return f"{side}.dateTime must be RFC 3339 with an offset"
    if not partial and not isinstance(body.get("summary"), str):
        return "summary missing"
    return ""


def _rfc3339(value: str) -> dt.datetime:
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError("no offset")
    return parsed


def _unb64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
