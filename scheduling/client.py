"""Google Calendar API v3 with a service account (google-api-python-client).

No database access. Raises TransientError (timeouts, connection errors, 5xx, 429) or
PermanentError (other 4xx, bad configuration); the callers decide what to retry.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass
from typing import Any

import google.auth.exceptions
import google_auth_httplib2
import httplib2
from google.oauth2 import service_account
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

log = logging.getLogger(__name__)

SCOPES = ["https://www.googleapis.com/auth/calendar"]
DEFAULT_API_ROOT = "https://www.googleapis.com/"


class CalendarError(Exception):
    pass


class TransientError(CalendarError):
    pass


class PermanentError(CalendarError):
    pass


@dataclass(frozen=True)
class EventData:
    """What we write into the unit's calendar for one appointment."""

    event_id: str
    summary: str
    description: str
    start: dt.datetime
    end: dt.datetime
    timezone: str
    location: str = ""


class GoogleCalendarClient:
    """One service account, many calendars (each unit shares its calendar with the account)."""

    def __init__(self, *, service_account_file: str, api_url: str = "", timeout: float = 10.0) -> None:
        if not service_account_file:
            raise PermanentError("GOOGLE_SERVICE_ACCOUNT_FILE is not set")
        try:
            credentials = service_account.Credentials.from_service_account_file(
                service_account_file, scopes=SCOPES
            )
        except (OSError, ValueError, json.JSONDecodeError) as exc:
            raise PermanentError(f"service account file unreadable: {type(exc).__name__}") from exc
        # httplib2 applies `timeout` to connect and to every read, token refresh included.
        http = google_auth_httplib2.AuthorizedHttp(credentials, http=httplib2.Http(timeout=timeout))
        root = (api_url or DEFAULT_API_ROOT).rstrip("/") + "/"
        self._service = build(
            "calendar",
            "v3",
            http=http,
            static_discovery=True,
            client_options={"api_endpoint": root + "calendar/v3/"},
            cache_discovery=False,
        )

    def freebusy(
        self, *, calendar_id: str, start: dt.datetime, end: dt.datetime
    ) -> list[tuple[dt.datetime, dt.datetime]]:
        body = {
            "timeMin": start.astimezone(dt.UTC).isoformat(),
            "timeMax": end.astimezone(dt.UTC).isoformat(),
            "items": [{"id": calendar_id}],
        }
        data = self._execute(self._service.freebusy().query(body=body))
        calendar = (data.get("calendars") or {}).get(calendar_id) or {}
        if calendar.get("errors"):
            raise PermanentError(f"freebusy error: {calendar['errors'][0].get('reason', 'unknown')}")
        return [
            (dt.datetime.fromisoformat(b["start"]), dt.datetime.fromisoformat(b["end"]))
            for b in calendar.get("busy", [])
        ]

    def upsert_event(self, *, calendar_id: str, event: EventData, known: bool = False) -> str:
        """Insert the event with our own id; if it exists already (a retried or racing sync),
        patch it. `known`: we stored its id before, so patch first. Returns the event id."""
        body = self._event_body(event)
        if known:
            try:
                patched = self._execute(
                    self._service.events().patch(calendarId=calendar_id, eventId=event.event_id, body=body)
                )
                return str(patched.get("id", event.event_id))
            except _Missing:
                pass  # deleted in Google by someone: create it again
        try:
            created = self._execute(
                self._service.events().insert(calendarId=calendar_id, body={"id": event.event_id, **body})
            )
            return str(created.get("id", event.event_id))
        except _Exists:
            patched = self._execute(
                self._service.events().patch(calendarId=calendar_id, eventId=event.event_id, body=body)
            )
            return str(patched.get("id", event.event_id))

    def delete_event(self, *, calendar_id: str, event_id: str) -> None:
        try:
            self._execute(self._service.events().delete(calendarId=calendar_id, eventId=event_id))
        except _Gone:
            pass  # deleted already: the goal is reached

    @staticmethod
    def _event_body(event: EventData) -> dict[str, Any]:
        return {
            "summary": event.summary,
            "description": event.description,
            "location": event.location,
            "start": {"dateTime": event.start.isoformat(), "timeZone": event.timezone},
            "end": {"dateTime": event.end.isoformat(), "timeZone": event.timezone},
            "status": "confirmed",
        }

    @staticmethod
    def _execute(request: Any) -> dict[str, Any]:
        try:
            return request.execute(num_retries=0) or {}
        except HttpError as exc:
            status = int(exc.resp.status)
            if status == 409 and request.method == "POST":
                raise _Exists() from exc
            if status in (404, 410) and request.method == "DELETE":
                raise _Gone() from exc
            if status in (404, 410) and request.method == "PATCH":
                raise _Missing() from exc
            if status == 429 or status >= 500:
                raise TransientError(f"google calendar {status}") from exc
            raise PermanentError(f"google calendar {status}: {_reason(exc)}") from exc
        except google.auth.exceptions.TransportError as exc:
            raise TransientError(f"google token endpoint unreachable: {type(exc).__name__}") from exc
        except google.auth.exceptions.RefreshError as exc:
            if getattr(exc, "retryable", False):
                raise TransientError("google token endpoint failed") from exc
            raise PermanentError(f"google token refused: {str(exc)[:200]}") from exc
        except (TimeoutError, OSError, httplib2.HttpLib2Error) as exc:
            raise TransientError(f"google calendar unreachable: {type(exc).__name__}") from exc


class _Exists(Exception):
    pass


class _Gone(Exception):
    pass


class _Missing(Exception):
    pass


def _reason(exc: HttpError) -> str:
    try:
        return str(json.loads(exc.content)["error"]["message"])[:200]
    except Exception:
        return "unknown"


def event_id_for(appointment_id: int) -> str:
    """Our deterministic Google event id: base32hex (a-v, 0-9), so a retried insert of the same
    appointment finds its event instead of creating a second one."""
    return f"kumon{appointment_id:010d}"
