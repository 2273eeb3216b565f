"""Content-Security-Policy (issue #11): what a page of ours may load and run.

Django 5.2 has no CSP of its own; this middleware is small enough not to need django-csp.
Scripts only from our origin, plus inline scripts that carry the request's nonce
(`<script nonce="{{ request.csp_nonce }}">`: the reports' charts, the inbox's refresh, the
simulator). An injected `<script>` or `onclick=` does not run. Styles may be inline (the admin and
our templates use style attributes; a style cannot run code). Nothing may frame us, forms post
only to us. The API docs (/docs, /redoc) load Swagger UI and Redoc from our own static files
(drf-spectacular-sidecar): no outside origin is allowed; those two pages only add Redoc's blob:
worker and Swagger's data: images.

Only HTML responses get the header: JSON and files have nothing to protect with it, and the
webhooks stay lean.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

HEADER = "Content-Security-Policy"
DOCS_PATHS = ("/docs", "/redoc")


def policy(*, nonce: str, docs: bool = False) -> str:
    directives = {
        "default-src": "'self'",
        "script-src": f"'self' 'nonce-{nonce}'",
        "style-src": "'self' 'unsafe-inline'",
        "img-src": "'self' data:",
        "font-src": "'self'",
        "connect-src": "'self'",
        "worker-src": "'self' blob:" if docs else "'self'",
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        nonce = secrets.token_urlsafe(16)
        request.csp_nonce = nonce  # type: ignore[attr-defined]
        response = self.get_response(request)
        if HEADER not in response and response.get("Content-Type", "").startswith("text/html"):
            response[HEADER] = policy(nonce=nonce, docs=request.path.startswith(DOCS_PATHS))
        return response
