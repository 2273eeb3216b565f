"""Template context for the admin: the count of conversations waiting for staff (the badge)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from conversations.inbox import waiting_count


def _waiting_count(request: HttpRequest) -> int:
    return waiting_count(user=request.user)


def admin_badges(request: HttpRequest) -> dict[str, Any]:
    """`waiting_count`, lazy: the COUNT query runs only if a template shows the badge."""
    user = getattr(request, "user", None)
    if not (
        user is not None and user.is_authenticated and user.is_staff and request.path.startswith("/admin/")
    ):
        return {}
    return {"waiting_count": SimpleLazyObject(lambda: _waiting_count(request))}
