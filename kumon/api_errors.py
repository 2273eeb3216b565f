"""One error shape for the whole API: {"message": ..., "extra": {...}}.

Validation errors: `message` is "Dados inválidos." followed by the first problem, `extra.fields`
maps each public field name (what the client sent: `from`, never a Python name like `from_`) to
its messages. Messages follow the request's language (Accept-Language; Portuguese by default).
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext
from django.utils.translation import gettext_noop as _
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from kumon.exceptions import DomainError

# DRF messages whose Portuguese in DRF's own catalogue reads wrong ("Este campo pode não ser
# nulo." means "may be not null"): our catalogue comes first and translates them again.
DRF_MESSAGES = [
    _("This field may not be null."),
    _("This field may not be blank."),
    _("This field is required."),
    _("A valid integer is required."),
    _("A valid number is required."),
    _("Ensure this value is greater than or equal to {min_value}."),
    _("Ensure this value is less than or equal to {max_value}."),
    _("Datetime has wrong format. Use one of these formats instead: {format}."),
    _("Date has wrong format. Use one of these formats instead: {format}."),
    _("JSON parse error - {detail}"),
    _("Request was throttled."),
    _("Invalid data. Expected a dictionary, but got {datatype}."),
]


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        return Response({"message": exc.message, "extra": exc.extra}, status=exc.status_code)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = response.data if isinstance(response.data, dict) else {"non_field_errors": response.data}
        message = gettext("Invalid input.")
        first = _first_problem(fields)
        response.data = {"message": f"{message} {first}" if first else message, "extra": {"fields": fields}}
    else:
        detail = response.data.get("detail", "") if isinstance(response.data, dict) else ""
        response.data = {"message": str(detail) or gettext("Error."), "extra": {}}
    return response


def _first_problem(fields: dict[str, Any]) -> str:
    """ "to: deve ser depois de from." — the first field's first message, for a one-line answer."""
    for name, problems in fields.items():
        while isinstance(problems, (list, dict)) and problems:
            problems = problems[0] if isinstance(problems, list) else next(iter(problems.values()))
        if problems:
            text = str(problems)
            return text if name == "non_field_errors" else f"{name}: {text}"
    return ""
