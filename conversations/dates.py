"""Portuguese (and a little English/Spanish) dates and times as parents write them.

"quinta às 16h", "amanhã de manhã", "sexta depois das 17", "dia 3 as 15:30", "02/12 16h",
"segunda que vem", "hoje à tarde". Returns a `When`: a day (or none), a time (or none), a
time window (morning/afternoon/evening or "after 17h"), all naive and to be read in the unit's
time zone.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from knowledge.normalize import strip_accents
from scheduling.texts import WEEKDAYS as WEEKDAYS_PT
from scheduling.texts import hour_pt

WEEKDAYS = {
    "segunda": 0, "seg": 0, "terca": 1, "ter": 1, "quarta": 2, "qua": 2, "quinta": 3, "qui": 3,
    "sexta": 4, "sex": 4, "sabado": 5, "sab": 5, "domingo": 6, "dom": 6,
    "monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5, "sunday": 6,
    "lunes": 0, "martes": 1, "miercoles": 2, "jueves": 3, "viernes": 4,
}
PERIODS = {
    "manha": (dt.time(6), dt.time(12)), "morning": (dt.time(6), dt.time(12)), "manana": (dt.time(6), dt.time(12)),
    "tarde": (dt.time(12), dt.time(18)), "afternoon": (dt.time(12), dt.time(18)),
    "noite": (dt.time(18), dt.time(23)), "evening": (dt.time(18), dt.time(23)),
}
_WEEKDAY_RE = re.compile(r"\b(" + "|".join(sorted(WEEKDAYS, key=len, reverse=True)) + r")(?:[- ]?feira)?\b")
_DATE_RE = re.compile(r"\b(?:dia\s+)?(\d{1,2})/(\d{1,2})(?:/(\d{2,4}))?\b")
_DAY_ONLY_RE = re.compile(r"\bdia\s+(\d{1,2})\b")
_TIME_RE = re.compile(
    r"(?:\b(?:as|a|at|las|pelas|umas|depois\s+das|apos\s+as|after|antes\s+das|before|a\s+partir\s+das)\s+)?"
    r"\b(\d{1,2})(?:\s*(?:h|:|hs|horas?)\s*(\d{2})?|\s*(am|pm))\b"
)
_BARE_TIME_RE = re.compile(r"\b(?:as|pelas|umas|at|las|a las)\s+(\d{1,2})\b(?!\s*(?:anos|years|/|materias))")
_AFTER_RE = re.compile(r"\b(?:depois\s+das|apos\s+as|a\s+partir\s+das|after|despues\s+de\s+las)\s+(\d{1,2})")
_BEFORE_RE = re.compile(r"\b(?:antes\s+das|ate\s+as|before|antes\s+de\s+las)\s+(\d{1,2})")


@dataclass(frozen=True)
class When:
    day: dt.date | None = None
    weekday: int | None = None
    time: dt.time | None = None
    window: tuple[dt.time, dt.time] | None = None

    @property
    def empty(self) -> bool:
        return self.day is None and self.weekday is None and self.time is None and self.window is None


def fold(text: str) -> str:
    return strip_accents(text.lower())


def _next_weekday(today: dt.date, weekday: int, *, next_week: bool) -> dt.date:
    """The nearest such weekday from today ("quinta" on a Thursday = today; the slots filter
    drops past times). "que vem"/"próxima" on the same weekday means a week later."""
    days = (weekday - today.weekday()) % 7
    if days == 0 and next_week:
        days = 7
    return today + dt.timedelta(days=days)


_SALUTATIONS = re.compile(
    r"\b(bom dia|boa tarde|boa noite|buenos dias|buenas tardes|buenas noches|good morning|good afternoon|good evening)\b"
)


def parse_when(text: str, *, today: dt.date) -> When:
    t = _SALUTATIONS.sub(" ", fold(text))
    day: dt.date | None = None
    weekday: int | None = None
    if re.search(r"\b(depois de amanha|depois d amanha)\b", t):
        day = today + dt.timedelta(days=2)
    elif re.search(r"\b(amanha|tomorrow)\b", t) or re.search(r"\bmanana\b(?! por la)", t) and "la manana" not in t:
        day = today + dt.timedelta(days=1)
    elif re.search(r"\b(hoje|today|hoy)\b", t):
        day = today
    if day is None:
        m = _DATE_RE.search(t)
        if m:
            d, mo = int(m.group(1)), int(m.group(2))
            year = int(m.group(3)) if m.group(3) else today.year
            year = year + 2000 if year < 100 else year
            try:
                day = dt.date(year, mo, d)
                if not m.group(3) and day < today:
                    day = dt.date(year + 1, mo, d)
            except ValueError:
                day = None
    if day is None:
        m = _WEEKDAY_RE.search(t)
        if m:
            weekday = WEEKDAYS[m.group(1)]
            day = _next_weekday(today, weekday, next_week=bool(re.search(r"que vem|proxima|next", t)))
    if day is None:
        m = _DAY_ONLY_RE.search(t)
        if m:
            d = int(m.group(1))
            month, year = today.month, today.year
            if d < today.day:
                month, year = (1, year + 1) if month == 12 else (month + 1, year)
            try:
                day = dt.date(year, month, d)
            except ValueError:
                day = None

    time: dt.time | None = None
    window: tuple[dt.time, dt.time] | None = None
    after = _AFTER_RE.search(t)
    before = _BEFORE_RE.search(t)
    if after:
        hour = _pm(int(after.group(1)))
        if hour < 24:
            window = (dt.time(hour), dt.time(23))
    elif before:
        hour = _pm(int(before.group(1)))
        if hour < 24:
            window = (dt.time(6), dt.time(hour))
    else:
        for m in _TIME_RE.finditer(_strip_dates(t)):
            hour = int(m.group(1))
            minute = int(m.group(2)) if m.group(2) else 0
            if m.group(3) == "pm" and hour < 12:
                hour += 12
            elif m.group(3) is None:
                hour = _pm(hour)
            if hour < 24 and minute < 60:
                time = dt.time(hour, minute)
                break
        if time is None:
            m = _BARE_TIME_RE.search(_strip_dates(t))
            if m and int(m.group(1)) < 24:
                time = dt.time(_pm(int(m.group(1))))
    if time is None and window is None:
        for word, span in PERIODS.items():
            if re.search(rf"\b{word}\b", t.replace("amanha", "")):
                window = span
                break
    return When(day=day, weekday=weekday, time=time, window=window)


def _pm(hour: int) -> int:
    # A unit open 8h–19h: "às 5" or "às 4" means the afternoon.
    return hour + 12 if 1 <= hour <= 6 else hour


def _strip_dates(t: str) -> str:
    t = _DATE_RE.sub(" ", t)
    return _DAY_ONLY_RE.sub(" ", t)


# Portuguese comes from scheduling.texts (reminders word slots the same way).
WEEKDAY_NAMES = {
    "pt": WEEKDAYS_PT,
    "en": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
    "es": ["lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"],
}


def format_slot(start: dt.datetime, *, lang: str = "pt") -> str:
    """"terça 02/12 às 16h" (unit-local `start`)."""
    name = WEEKDAY_NAMES.get(lang, WEEKDAYS_PT)[start.weekday()]
    if lang == "en":
        return f"{name} {start:%d/%m} at {start:%H:%M}"
    if lang == "es":
        return f"{name} {start:%d/%m} a las {hour_pt(start)}"
    return f"{name} {start:%d/%m} às {hour_pt(start)}"
