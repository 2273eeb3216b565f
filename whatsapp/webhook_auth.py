"""Authenticating Evolution webhooks. Evolution signs nothing (REFERENCE.md §1.1), so each unit
has a secret that Evolution sends either as the custom header `X-Webhook-Secret` (its
`webhook.headers`) or, with `jwt_key`, as an HS256 Bearer token signed with it."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time

JWT_LEEWAY_SECONDS = 30


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def jwt_ok(token: str, secret: str, *, now: float | None = None) -> bool:
    """An HS256 JWT signed with `secret`, not expired. Evolution's claims are
    {iat, exp: iat+600, app: "evolution", action: "webhook"}; exp is required."""
    if not secret or token.count(".") != 2 or len(token) > 4096:
        return False
    header_b64, payload_b64, signature_b64 = token.split(".")
    expected = hmac.new(secret.encode(), f"{header_b64}.{payload_b64}".encode(), hashlib.sha256).digest()
    try:
        signature = _b64decode(signature_b64)
        header = json.loads(_b64decode(header_b64))
        claims = json.loads(_b64decode(payload_b64))
    except (binascii.Error, ValueError, RecursionError):
        return False
    if not hmac.compare_digest(signature, expected):
        return False
    if not isinstance(header, dict) or header.get("alg") != "HS256" or not isinstance(claims, dict):
        return False
    exp = claims.get("exp")
    if not isinstance(exp, (int, float)) or isinstance(exp, bool):
        return False
    return (now if now is not None else time.time()) <= exp + JWT_LEEWAY_SECONDS


def evolution_request_ok(*, secret_header: str | None, authorization: str | None, secret: str) -> bool:
    """Either credential is enough; both are compared in constant time."""
    if not secret:
        return False
    if secret_header is not None and hmac.compare_digest(secret_header.encode(), secret.encode()):
        return True
    if authorization and authorization[:7].lower() == "bearer ":
        return jwt_ok(authorization[7:].strip(), secret)
    return False


def make_jwt(secret: str, *, ttl: int = 600, now: float | None = None) -> str:
    """A token exactly like Evolution's (used by tests and by support to try the endpoint)."""
    iat = int(now if now is not None else time.time())

    def enc(obj: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj, separators=(",", ":")).encode()).rstrip(b"=").decode()

    head = enc({"alg": "HS256", "typ": "JWT"})
    body = enc({"iat": iat, "exp": iat + ttl, "app": "evolution", "action": "webhook"})
    sig = hmac.new(secret.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{base64.urlsafe_b64encode(sig).rstrip(b'=').decode()}"
