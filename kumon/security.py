"""Who is asking: the client's address, trusting X-Forwarded-For only as far as configured.

Behind a load balancer every request comes from the balancer's address (REMOTE_ADDR); the
client's own is in X-Forwarded-For, which anyone can also send. So the header is read only when
TRUSTED_PROXY_COUNT says how many proxies of ours append to it: the client is the address that
many hops from the right (what the first of our proxies saw). 0 (the default) = REMOTE_ADDR.
Used by the login lockout (django-axes) and the API throttles.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from django.conf import settings


def client_ip(request: Any) -> str | None:
    remote = request.META.get("REMOTE_ADDR") or None
    hops = settings.TRUSTED_PROXY_COUNT
    if hops <= 0:
        return remote
    chain = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if len(chain) < hops:
        return remote  # not through all our proxies: the header is not theirs
    candidate = chain[-hops]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote


def lockout_response(request: Any, original_response: Any = None, credentials: Any = None) -> Any:
    """django-axes' answer to a locked-out login (AXES_LOCKOUT_CALLABLE): the admin's look,
    status 429 with Retry-After, the cool-off in minutes."""
    from django.shortcuts import render  # noqa: PLC0415 -- axes calls this during a request, after apps are loaded

    cooloff = settings.AXES_COOLOFF_TIME
    seconds = int(cooloff.total_seconds())
    response = render(request, "kumon/lockout.html", {"cooloff_minutes": max(1, seconds // 60)}, status=429)
    response["Retry-After"] = str(seconds)
    return response
