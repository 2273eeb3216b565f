"""Project-wide middleware: request metrics, NUL characters refused at the edge, and a database
outage answered with 503.

`NullCharacterMiddleware`: a NUL (0x00) in the path or the query string cannot be stored or even
compared in a PostgreSQL text column (`DataError`); such a request is answered 400 with the
reason before any view or query sees it (forms already refuse NUL in fields, via Django's
ProhibitNullCharactersValidator; query parameters read by views had no such check).

`DatabaseUnavailableMiddleware`: when Postgres is down or restarting, a view raises
`django.db.OperationalError` / `InterfaceError`. Answered as a plain 500 it looks like our bug
and some providers give up on it; 503 with Retry-After says "try again": Evolution and Meta
retry deliveries, load balancers take the instance out briefly. Nothing was committed (the
service's transaction rolled back), so the retry stores the message once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse

from kumon.metrics import HTTP_LATENCY

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5


class MetricsMiddleware:
    """Latency of every request in `kumon_http_request_duration_seconds`, labelled by the
    route pattern (not the path: phone numbers and ids would explode the label set)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        route = (match.route or match.view_name) if match else "unmatched"
        HTTP_LATENCY.labels(route[:100], request.method or "", f"{response.status_code // 100}xx").observe(
            time.perf_counter() - started
        )
        return response


class NullCharacterMiddleware:
    """A NUL character in the path or a query parameter → 400 {"error": …}."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "\x00" in request.path or any(
            "\x00" in key or any("\x00" in value for value in values) for key, values in request.GET.lists()
        ):
            return JsonResponse({"error": "NUL character (0x00) in the path or the query string"}, status=400)
        return self.get_response(request)


class DatabaseUnavailableMiddleware:
    """OperationalError / InterfaceError from a view → 503 {"error": "database unavailable"}."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        logger.warning(
            "database unavailable for %s %s: %s", request.method, request.path[:100], type(exception).__name__
        )
        response = JsonResponse({"error": "database unavailable"}, status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
