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
from typing import TypeGuard

JWT_LEEWAY_SECONDS = 30
# Evolution's tokens live 600 s (exp = iat + 600). A signed token claiming years (a leaked or
# forged-by-a-former-holder one) is refused: `iat` is required and exp - iat is bounded (#11).
JWT_MAX_LIFETIME_SECONDS = 900


def _number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def jwt_ok(token: str, secret: str, *, now: float | None = None) -> bool:
    """An HS256 JWT signed with `secret`, issued by Evolution, current. Evolution's claims are
    {iat, exp: iat+600, app: "evolution", action: "webhook"}: iat and exp are required, the
    lifetime exp - iat at most JWT_MAX_LIFETIME_SECONDS, iat not in the future, app "evolution"."""
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
    iat, exp = claims.get("iat"), claims.get("exp")
    if not _number(iat) or not _number(exp) or not 0 < exp - iat <= JWT_MAX_LIFETIME_SECONDS:
        return False
    if claims.get("app") != "evolution":
        return False
    moment = now if now is not None else time.time()
    return iat - JWT_LEEWAY_SECONDS <= moment <= exp + JWT_LEEWAY_SECONDS


def evolution_request_ok(*, secret_header: str | None, authorization: str | None, secret: str) -> bool:
    """Either credential is enough; both are compared in constant time."""
    if not secret:
        return False
    if secret_header is not None and hmac.compare_digest(secret_header.encode(), secret.encode()):
        return True
    if authorization and authorization[:7].lower() == "bearer ":
        return jwt_ok(authorization[7:].strip(), secret)
    return False


def make_jwt(secret: str, *, ttl: int = 600, now: float | None = None, claims: dict | None = None) -> str:
    """A token exactly like Evolution's (used by tests and by support to try the endpoint);
    `claims` replaces or adds claims (None values remove one)."""
    iat = int(now if now is not None else time.time())

    def enc(obj: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj, separators=(",", ":")).encode()).rstrip(b"=").decode()

    head = enc({"alg": "HS256", "typ": "JWT"})
    payload = {"iat": iat, "exp": iat + ttl, "app": "evolution", "action": "webhook", **(claims or {})}
    body = enc({k: v for k, v in payload.items() if v is not None})
    sig = hmac.new(secret.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{base64.urlsafe_b64encode(sig).rstrip(b'=').decode()}"
