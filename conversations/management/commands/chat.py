"""Talk to the receptionist as a parent, through the same path as WhatsApp.

    python manage.py chat --unit demo --phone +5511987654321 --message "oi" --message "qto custa?"
    python manage.py chat --unit demo --phone +5511987654321 --at 2026-12-01T20:30:00-03:00 --message "oi"
    python manage.py chat --unit demo --phone +5511987654321 --media audio --json
    python manage.py chat --unit demo --phone +5511987654321          # interactive

Each message is ingested like a webhook (record_inbound), the worker answers the turn and the
unit's gateway sends it; the command prints the bot's replies, one per line (line breaks inside
a reply become " / "), once the turn is answered. It needs a running worker (`make run`).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
import time
import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from conversations import services
from conversations.inbound import InboundMessage
from conversations.models import Conversation, Message
from kumon.models import Unit
from kumon.phones import InvalidPhone, normalize_phone

BURST_GAP_SECONDS = 2.0
MEDIA: dict[str, dict[str, Any]] = {
    "audio": {"mimetype": "audio/ogg; codecs=opus", "seconds": 10},
    "image": {"mimetype": "image/jpeg"},
}


@dataclass(frozen=True)
class Typed:
    """One message the parent sends: text, or a voice note / image without content."""

    kind: str  # text | audio | image
    text: str = ""


@dataclass(frozen=True)
class Burst:
    """What typing a burst left: its last stored message, and whether a turn was due for it when
    the burst ended (read before any worker can answer it: once it has, the conversation's
    state no longer tells a turn answered from a turn that was never scheduled)."""

    last: Message | None
    turn_due: bool


def type_burst(
    *, unit: Unit, phone: str, burst: list[Typed], at: dt.datetime | None, gaps: list[float] | None = None
) -> Burst:
    """Ingest the burst as WhatsApp would (record_inbound), `at` being the first message's moment
    ("now" for the engine) and `gaps` the seconds between messages; then bring the turn
    forward (the burst is known to be over). Returns the last stored message."""
    if at is not None:
        # Typed at once (no real pauses): one transaction, so no turn starts on half the burst
        # whatever the debounce is.
        with transaction.atomic():
            return _type(unit=unit, phone=phone, burst=burst, at=at, gaps=gaps)
    return _type(unit=unit, phone=phone, burst=burst, at=at, gaps=gaps)


def _type(
    *, unit: Unit, phone: str, burst: list[Typed], at: dt.datetime | None, gaps: list[float] | None
) -> Burst:
    last: Message | None = None
    offset = 0.0
    for i, typed in enumerate(burst):
        if i:
            offset += gaps[i - 1] if gaps else BURST_GAP_SECONDS
            if at is None:
                time.sleep(BURST_GAP_SECONDS)
        clock = at + dt.timedelta(seconds=offset) if at else None
        stored = services.record_inbound(
            unit=unit,
            message=InboundMessage(
                phone=phone,
                provider_id=f"chat-{uuid.uuid4().hex}",
                kind=typed.kind,
                text=typed.text,
                media=dict(MEDIA.get(typed.kind, {})),
                sent_at=clock,
                clock=clock,
            ),
        )
        last = stored or last
    if last is None:
        return Burst(last=None, turn_due=False)
    due = Conversation.objects.filter(pk=last.conversation_id, reply_due_at__isnull=False).exists()
    # The burst is over (we typed all of it): no need to wait for the debounce.
    services.answer_turn_now(conversation_id=last.conversation_id)
    return Burst(last=last, turn_due=due)


def wait_for_replies(*, last: Message, timeout: float) -> list[Message] | None:
    """The bot's replies to the burst ending with `last` once the turn is answered and every
    reply is settled (sent or failed), or None on timeout. A turn answered with nothing (staff
    have the conversation) is []."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        last.refresh_from_db(fields=["status"])
        conversation = Conversation.objects.only("mode", "reply_due_at", "turn_lease_until").get(
            pk=last.conversation_id
        )
        turn_over = conversation.reply_due_at is None and conversation.turn_lease_until is None
        # Answered by the bot (handled), or with staff: the turn at most sent a waiting notice.
        if last.status == Message.Status.HANDLED or (
            turn_over and conversation.mode != Conversation.Mode.BOT
        ):
            # A turn's replies answer its last message (the burst is one turn).
            replies = list(
                Message.objects.filter(in_reply_to=last, sender=Message.Sender.BOT).order_by("seq")
            )
            if all(r.status in Message.SETTLED for r in replies):
                return replies
        time.sleep(0.1)
    return None


class Command(BaseCommand):
    help = "Talk to the receptionist as a parent (ingest → worker → gateway) and print its replies."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--unit", required=True, help="unit slug")
        parser.add_argument(
            "--phone", required=True, help="the parent's phone (E.164 or any Brazilian spelling)"
        )
        parser.add_argument("--message", action="append", default=[], help="a message; repeat for a burst")
        parser.add_argument("--at", help="ISO-8601 moment the first message arrives (the engine's 'now')")
        parser.add_argument(
            "--media", choices=["audio", "image"], help="add a voice note or an image (no content)"
        )
        parser.add_argument("--json", action="store_true", help='one {"body", "offered"} object per reply')
        parser.add_argument("--timeout", type=float, default=None, help="seconds to wait for the reply")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            unit = Unit.objects.get(slug=options["unit"])
        except Unit.DoesNotExist as exc:
            raise CommandError(f"no unit with slug {options['unit']!r}") from exc
        try:
            phone = normalize_phone(options["phone"])
        except InvalidPhone as exc:
            raise CommandError(str(exc)) from exc
        at = None
        if options["at"]:
            try:
                at = dt.datetime.fromisoformat(options["at"])
            except ValueError as exc:
                raise CommandError(f"--at is not ISO-8601: {options['at']!r}") from exc
            if at.tzinfo is None:
                raise CommandError("--at needs an offset, e.g. 2026-12-01T20:30:00-03:00")
        timeout = options["timeout"] or settings.CONVERSATION_DEBOUNCE_MAX_SECONDS + 30
        self.as_json = options["json"]
        if options["message"] or options["media"]:
            burst = [Typed(kind=options["media"], text="")] if options["media"] else []
            burst += [Typed(kind="text", text=t) for t in options["message"]]
            ok = self.turn(unit, phone, burst, at, timeout)
            if not ok:
                sys.exit(2)
            return
        self.stdout.write(f"Conversa com {unit.name} como {phone}. Ctrl-D para sair.")
        while True:
            try:
                line = input("> ").strip()
            except EOFError:
                return
            if line:
                self.turn(unit, phone, [Typed(kind="text", text=line)], None, timeout)

    def turn(
        self, unit: Unit, phone: str, burst: list[Typed], at: dt.datetime | None, timeout: float
    ) -> bool:
        typed = type_burst(unit=unit, phone=phone, burst=burst, at=at)
        last = typed.last
        if last is None:
            self.stderr.write("nothing was stored")
            return False
        if not typed.turn_due:
            # No turn was scheduled: staff have the conversation and answer it themselves.
            conversation = Conversation.objects.get(pk=last.conversation_id)
            self.stderr.write(f"(no reply: the conversation is {conversation.get_mode_display()})")
            return True
        replies = wait_for_replies(last=last, timeout=timeout)
        if replies is None:
            self.stderr.write(
                f"(no reply came within {timeout:.0f}s — is the worker running? `make run` starts one)"
            )
            return False
        for reply in replies:
            if self.as_json:
                self.stdout.write(
                    json.dumps({"body": reply.body, "offered": reply.offered_slots}, ensure_ascii=False)
                )
            else:
                self.stdout.write(re.sub(r"\s*\n+\s*", " / ", reply.body))
        if not replies:
            conversation = Conversation.objects.get(pk=last.conversation_id)
            self.stderr.write(f"(no reply: the conversation is {conversation.get_mode_display()})")
        return True
