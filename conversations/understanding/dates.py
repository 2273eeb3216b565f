"""Dates and times as parents write them, in Portuguese (and English and Spanish).

"quinta às 16h", "amanhã cedo", "sexta depois das 17", "dia 10 às 9", "02/12 16h", "segunda que
vem", "hoje à tarde", "semana que vem depois das 17h", "qualquer horário de manhã", "sábado
8h30", "umas 11h", "on Wednesday at 9am", "el viernes a las 4 de la tarde". Returns a `When`: a
day, or a range of days ("essa semana"), a time or a window of times — naive, read in the unit's
time zone. What is exact (numbers, weekdays, clock times) is parsed by rules here; what the
parent *means* by it (a wish, an offer's choice, their existing visit) is the engine's.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from conversations.understanding.text import NUMBER_WORDS
from knowledge.normalize import strip_accents
from scheduling.texts import WEEKDAYS as WEEKDAYS_PT
from scheduling.texts import hour_pt

WEEKDAYS = {
    "segunda": 0,
    "seg": 0,
    "terca": 1,
    "ter": 1,
    "quarta": 2,
    "qua": 2,
    "quinta": 3,
    "qui": 3,
    "sexta": 4,
    "sex": 4,
    "sabado": 5,
    "sab": 5,
    "domingo": 6,
    "dom": 6,
    "monday": 0,
    "tuesday": 1,
    "wednesday": 2,
    "thursday": 3,
    "friday": 4,
    "saturday": 5,
    "sunday": 6,
    "mon": 0,
    "tue": 1,
    "wed": 2,
    "thu": 3,
    "fri": 4,
    "sat": 5,
    "sun": 6,
    "lunes": 0,
    "martes": 1,
    "miercoles": 2,
    "jueves": 3,
    "viernes": 4,
}
MORNING = (dt.time(6), dt.time(12))
AFTERNOON = (dt.time(12), dt.time(18))
EVENING = (dt.time(17, 30), dt.time(23))
PERIODS = [
    (
        r"\bmais tarde (?:que|q) (?:voces|vcs|vc|voce) tem\b|\b(?:o )?ultimo horario\b|\bhorario mais tarde\b|\blatest\b",
        (dt.time(16), dt.time(23, 59)),
    ),
    (
        r"\b(?:bem )?cedo(?:inho)?\b|\bearly\b|\bprimeira hora\b|\btemprano\b|\bmanhazinha\b",
        (dt.time(6), dt.time(10)),
    ),
    (
        r"\bfi(?:m|nal) da tarde\b|\bfinal de tarde\b|\blate afternoon\b|\btardezinha\b|\btardinha\b|\bfim de tarde\b",
        (dt.time(16), dt.time(23)),
    ),
    (r"\bdepois do almoco\b|\bafter lunch\b", (dt.time(13), dt.time(18))),
    (r"\bhora do almoco\b|\bno almoco\b", (dt.time(11, 30), dt.time(14))),
    (r"\b(?:de|pela|na|a|da|of the|in the|por la|de la)?\s*(?:manha|morning|manana)\b", MORNING),
    (r"\btarde\b|\bafternoon\b", AFTERNOON),
    (
        r"\bnoite\b|\bnoitinha\b|\bevening\b|\bnight\b|\bnoche\b|\bdepois do trabalho\b|\bdepois do servico\b|\bsaindo do trabalho\b",
        EVENING,
    ),
]
# "segunda" is also an ordinal ("a segunda opção", "segunda via"); "quarta/sexta série" a year.
_NOT_WEEKDAY_AFTER = r"(?!\s*(?:via|vez|opcao|opção|filh[ao]|crianca|disciplina|materia|parcela|serie|série|ano|grado|grade|mensalidade|feira\s+santa))"
# Short forms that are also words ("vou ter", "sex", "qui") count only before a date or time.
_SHORT = {"ter", "qua", "qui", "sex", "mon", "tue", "wed", "thu", "fri", "sat", "sun"}
_WEEKDAY_RE = re.compile(
    r"\b("
    + "|".join(sorted(set(WEEKDAYS) - _SHORT, key=len, reverse=True))
    + r")(?:[- ]?feira)?\b"
    + _NOT_WEEKDAY_AFTER
    + r"|\b("
    + "|".join(sorted(_SHORT))
    + r")\b(?:[- ]?feira\b|\.?(?=\s*(?:,\s*)?(?:dia\s+)?\d))"
    # "qua as 16", "sex de manha", "qui a tarde" ("ter" is a verb: only at the start, "vou ter as 16h livre")
    + r"|(?:^|\bou\s|\be\s|,\s*)(ter)\b(?=\s+(?:as|a|de|da|pela|cedo|tarde|manha)\b)"
    + r"|\b(qua|qui|sex)\b(?=\s+(?:as|a|de|da|pela|cedo|tarde|manha|noite)\b)"
)
_DATE_RE = re.compile(r"\b(?:dia\s+)?(\d{1,2})/(\d{1,2})(?:/(\d{2,4}))?\b")
_DAY_ONLY_RE = re.compile(
    r"\b(?:dia|day|el dia|el|the|on the)\s+(\d{1,2})(?:st|nd|rd|th)?\b(?!\s*(?:anos|h\b|horas|:|/|grade))|\b(\d{1,2})\s+de\s+(?:dezembro|janeiro|fevereiro|marco|abril|maio|junho|julho|agosto|setembro|outubro|novembro)\b"
)
# "sábado seguinte, 26", "quinta 17 às 10": a weekday then the day of the month.
_WEEKDAY_AND_NUMBER = re.compile(
    r"\b(?:segunda|terca|quarta|quinta|sexta|sabado|domingo)(?:[- ]feira)?(?:\s+(?:seguinte|que vem))?\s*,?\s*(?:dia\s+)?(\d{1,2})\b(?!\s*(?:h\b|hs|horas|hrs|ora|oras|hora|:|/|am|pm|da tarde|da manha|da noite))"
)
_MONTHS = {
    "janeiro": 1,
    "fevereiro": 2,
    "marco": 3,
    "abril": 4,
    "maio": 5,
    "junho": 6,
    "julho": 7,
    "agosto": 8,
    "setembro": 9,
    "outubro": 10,
    "novembro": 11,
    "dezembro": 12,
}
_NAMED_DATE_RE = re.compile(r"\b(\d{1,2})\s+de\s+(" + "|".join(_MONTHS) + r")\b")
_CLOCK_RE = re.compile(
    # "15:30", "15h", "15h30" ("tenho 3: os gêmeos…" is a count before a colon, not a time)
    r"\b(\d{1,2})\s*(?::(?=\s*\d{2})|h|hs|hrs|horas?|hr|oras?)\s*(\d{2})?\b(?!\s*(?:anos|years|min))|\b(\d{1,2})\s*(am|pm|a\.m\.|p\.m\.)"
)
_BARE_TIME_RE = re.compile(
    r"\b(?:o das|a das|aquele das|aquela das|as|às|a|pelas|pelas|umas|perto das|at|las|a las|around|por volta das)\s+(\d{1,2})(?:[:h](\d{2}))?\b"
    r"(?!\s*(?:anos|years|/|materias|disciplinas|vezes|filhos|criancas|dias|semanas|meses|%))"
)
# "sexta 3 da tarde", "10 da manhã", "4 de la tarde": an hour and the part of the day, no "às".
_HOUR_OF_PERIOD_RE = re.compile(
    r"\b(\d{1,2})(?:[:h](\d{2}))?\s+(?:da|de la|in the)\s+(?:tarde|manha|noite|noche|manana|afternoon|morning|evening)\b"
)
_AFTER_RE = re.compile(
    r"\b(?:depois\s+das?|apos\s+as?|a\s+partir\s+das?|after|despues\s+de\s+las|mais\s+tarde\s+que|desde\s+las)\s+(\d{1,2})(?:[:h](\d{2}))?"
)
_BEFORE_RE = re.compile(
    r"\b(?:antes\s+das?|ate\s+as?|before|antes\s+de\s+las|no\s+maximo\s+as)\s+(\d{1,2})(?:[:h](\d{2}))?"
)
_THIS_WEEK = re.compile(r"\b(?:ess?a|est?a|nessa|nesta)\s+semana\b|\bthis week\b|\besta semana\b")
_NEXT_WEEK = re.compile(
    r"\bsemana\s+que\s+vem\b|\bproxima\s+semana\b|\bsemana\s+seguinte\b|\bnext week\b|\bsemana\s+que\s+viene\b|\bla\s+proxima\s+semana\b"
)
_WEEKEND = re.compile(r"\bfi(?:m|nal)\s+de\s+semana\b|\bweekend\b")
_ANY_TIME = re.compile(
    r"\bqualquer\s+(?:horario|hora|dia|um)\b|\bany\s*time\b|\bcualquier\s+(?:horario|hora|dia)\b"
)
_SALUTATIONS = re.compile(
    r"\b(bom dia|boa tarde|boa noite|buenos dias|buenas tardes|buenas noches|buen dia|good morning|good afternoon|good evening)\b"
)


@dataclass(frozen=True)
class When:
    day: dt.date | None = None
    weekday: int | None = None
    time: dt.time | None = None
    window: tuple[dt.time, dt.time] | None = None  # times of day wanted (start from, before)
    days: tuple[dt.date, dt.date] | None = None  # a range of days wanted, both included
    anytime: bool = False  # "qualquer horário"

    @property
    def empty(self) -> bool:
        return (
            self.day is None
            and self.weekday is None
            and self.time is None
            and self.window is None
            and self.days is None
        )

    @property
    def exact(self) -> bool:
        """A day and a time: one slot."""
        return self.day is not None and self.time is not None

    def to_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        if self.day:
            data["day"] = self.day.isoformat()
        if self.weekday is not None:
            data["weekday"] = self.weekday
        if self.time:
            data["time"] = self.time.isoformat("minutes")
        if self.window:
            data["window"] = [self.window[0].isoformat("minutes"), self.window[1].isoformat("minutes")]
        if self.days:
            data["days"] = [self.days[0].isoformat(), self.days[1].isoformat()]
        if self.anytime:
            data["anytime"] = True
        return data

    @classmethod
    def from_data(cls, data: dict[str, Any] | None) -> When | None:
        if not data:
            return None
        try:
            return cls(
                day=dt.date.fromisoformat(data["day"]) if data.get("day") else None,
                weekday=data.get("weekday"),
                time=dt.time.fromisoformat(data["time"]) if data.get("time") else None,
                window=(dt.time.fromisoformat(data["window"][0]), dt.time.fromisoformat(data["window"][1]))
                if data.get("window")
                else None,
                days=(dt.date.fromisoformat(data["days"][0]), dt.date.fromisoformat(data["days"][1]))
                if data.get("days")
                else None,
                anytime=bool(data.get("anytime")),
            )
        except (KeyError, TypeError, ValueError):
            return None

    def on(self, day: dt.date) -> When:
        """This wish read on `day` ("às 11" after an offer of tomorrow's mornings)."""
        return When(day=day, weekday=day.weekday(), time=self.time, window=self.window, anytime=self.anytime)

    def admits(self, local: dt.datetime) -> bool:
        """Whether a unit-local start fits every part of the wish."""
        if self.day is not None and local.date() != self.day:
            return False
        if self.days is not None and not self.days[0] <= local.date() <= self.days[1]:
            return False
        if self.time is not None and local.time() != self.time:
            return False
        if self.window is not None and not self.window[0] <= local.time() < self.window[1]:
            return False
        return True


def fold(text: str) -> str:
    return strip_accents(text.lower())


def _next_weekday(today: dt.date, weekday: int, *, next_week: bool) -> dt.date:
    """The nearest such weekday from today ("quinta" on a Thursday = today; the slots filter
    drops past times). With "que vem"/"próxima"/"semana que vem": that weekday of next week."""
    if next_week:
        return _monday(today) + dt.timedelta(days=7 + weekday)
    return today + dt.timedelta(days=(weekday - today.weekday()) % 7)


def _monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def _hour(hour: int, minute: int, *, meridiem: str = "", text: str = "") -> dt.time | None:
    if meridiem.startswith("p") and hour < 12:
        hour += 12
    elif meridiem.startswith("a") and hour == 12:
        hour = 0
    elif not meridiem and 1 <= hour <= 6:
        # A unit open 8h–19h: "às 5" or "às 4" means the afternoon (also "4 de la tarde").
        hour += 12
    elif not meridiem and 7 <= hour <= 11 and re.search(r"\b(da|de la) (tarde|noite|noche)\b|\bpm\b", text):
        hour += 12
    if hour > 23 or minute > 59:
        return None
    return dt.time(hour, minute)


# "levando mais de 1 hora", "demora 2 horas", "3 horas por dia": how long, not when.
_DURATION = re.compile(
    r"\b(?:mais de|menos de|quase|cerca de|por|durante|leva|levando|levou|demora|demorando|demorou|gasta|gastando|fica|ficar|dura|ha|faz)"
    r"\s+(?:uma|duas|meia|\d{1,2})\s*(?:h|hs|hrs?|horas?)\b(?!\s*(?:da|de la)\s+(?:tarde|manha|noite))"
    r"|\b\d{1,2}\s*(?:h|hs|hrs?|horas?)\s+(?:por dia|por semana|de aula|seguidas|de tarefa|de licao)\b"
)


def _strip_dates(t: str) -> str:
    t = _DURATION.sub(" ", t)
    t = _DATE_RE.sub(" ", t)
    t = _NAMED_DATE_RE.sub(" ", t)
    return _DAY_ONLY_RE.sub(" ", t)


_FULL_WEEKDAYS = ("segunda", "terca", "quarta", "quinta", "sexta", "sabado", "domingo")
_REAL_WORDS = {"quarto", "quinto", "sexto", "certa", "certo", "segundo", "terco", "quartas", "quintas"}


def _weekday_typos(t: str) -> str:
    """ "sesta", "terssa", "sabadp": a word one letter off a weekday, followed by a time or a day
    part, is that weekday (alone, "sesta" is a nap)."""

    def fix(m: re.Match[str]) -> str:
        word = m.group(1)
        if word in _REAL_WORDS:
            return m.group(0)
        for name in _FULL_WEEKDAYS:
            if word != name and len(word) >= 5 and _one_off(word, name):
                return name + m.group(2)
        return m.group(0)

    return re.sub(r"\b([a-z]{5,8})(\s+(?:as|a|de|da|dia|umas|pela|\d))", fix, t)


def _one_off(a: str, b: str) -> bool:
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) == 1
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    return any(long_[:i] + long_[i + 1 :] == short for i in range(len(long_)))


_DAY_PART_TYPOS = {
    "tardi": "tarde",
    "tardes": "tarde",
    "manhan": "manha",
    "manham": "manha",
    "noiti": "noite",
    "amanhan": "amanha",
    "amanham": "amanha",
}


# How parents shorten the words of a date on WhatsApp ("semana q vem", "prox sexta", "qlqr horario").
_DATE_ABBREVIATIONS = {
    "q": "que",
    "prox": "proxima",
    "prx": "proxima",
    "qlqr": "qualquer",
    "qlq": "qualquer",
    "qq": "qualquer",
    "qualqr": "qualquer",
    "qquer": "qualquer",
    "hj": "hoje",
    "amnh": "amanha",
    "amh": "amanha",
    "amnha": "amanha",
    "dps": "depois",
    "dpois": "depois",
    "d": "de",
    "hrs": "horas",
    "hr": "hora",
    "hs": "horas",
    "meiodia": "meio dia",
    "meio-dia": "meio dia",
    "tard": "tarde",
    "manh": "manha",
    "mnh": "manha",
}
_HOUR_WORDS = {
    w: NUMBER_WORDS[w] for w in "uma duas tres quatro cinco seis sete oito nove dez onze doze".split()
}
# "as duas" / "as tres" are also "both" / "all three" (subjects, children): the small hours need a
# word that makes them a time.
_TIME_FOLLOWS = r"(?=\s*(?:h\b|horas?\b|da (?:tarde|manha|noite)|e meia|e quinze))"
_SPELT_HOUR = re.compile(
    r"\b(as|a|pelas|umas|perto das|por volta das|depois das|antes das|a partir das|ate as)\s+"
    r"(?:(sete|oito|nove|dez|onze|doze)\b|(" + "|".join(_HOUR_WORDS) + r")\b" + _TIME_FOLLOWS + ")"
    # "nove horas", "dez e meia" ("uma hora", "duas horas" are more often how long something lasts)
    r"|\b(sete|oito|nove|dez|onze|doze)\s+(?=horas?\b|e meia\b)|\b("
    + "|".join(_HOUR_WORDS)
    + r")\s+(?=e meia\b)"
)
_HALF = re.compile(
    r"\b(\d{1,2})(?:\s*h)?\s+(?:e|y|and)\s+(meia|media|quinze|cuarto|trinta|quarenta e cinco|a half)\b"
)
_NOON = re.compile(r"\b(?:ao |no |de |a )?meio\s+dia(?:\s+e\s+meia)?\b")
_RANGE_RE = re.compile(
    r"\b(?:entre(?:\s+as)?|das?|de)\s+(\d{1,2})(?:[:h](\d{2}))?\s*(?:h|hs|horas)?\s*(?:e|as|a|ate)\s+(?:as\s+)?(\d{1,2})(?:[:h](\d{2}))?\s*(?:h|hs|horas)?\b"
    r"(?!\s*(?:anos|de (?:dezembro|janeiro|novembro)|/))"
)


def _spell_out(t: str) -> str:
    """ "às nove" → "às 9", "dez e meia" → "10:30", "meio dia" → "12h"."""
    t = _SPELT_HOUR.sub(
        lambda m: (
            f"{m.group(1)} {_HOUR_WORDS[m.group(2) or m.group(3)]}"
            if m.group(1)
            else f"{_HOUR_WORDS[m.group(4) or m.group(5)]} "
        ),
        t,
    )
    minutes = {
        "meia": "30",
        "media": "30",
        "a half": "30",
        "trinta": "30",
        "quinze": "15",
        "cuarto": "15",
        "quarenta e cinco": "45",
    }
    t = _HALF.sub(lambda m: f"{m.group(1)}:{minutes[m.group(2)]}", t)
    return _NOON.sub(lambda m: " 12:30 " if m.group(0).endswith("meia") else " 12h ", t)


_RULED_OUT = re.compile(
    r"\b(?:nao (?:posso|consigo|da|vai dar|rola|podemos|conseguimos)|nao|nem|em vez de|ao inves de|instead of|not)\s+(?:e\s+|eh\s+|na\s+|no\s+|a\s+|o\s+|on\s+)?$"
)


# A time the parent is busy until, not the time they ask for ("saio do trabalho 17h30").
_CONSTRAINT_BEFORE = re.compile(
    r"\b(?:saio|sai|largo|chego|trabalho|termino|acabo|fico|estou|to|tou|busco|pego"
    r"|get off|finish|leave|work until|salgo|trabajo)\b[^0-9?!.]{0,20}$"
)


def parse_when(text: str, *, today: dt.date) -> When:
    words = [_DAY_PART_TYPOS.get(w, w) for w in fold(text).split()]
    t = _spell_out(" ".join(_DATE_ABBREVIATIONS.get(w, w) for w in words))
    t = _weekday_typos(_SALUTATIONS.sub(" ", t))
    day: dt.date | None = None
    weekday: int | None = None
    days: tuple[dt.date, dt.date] | None = None
    next_week = bool(_NEXT_WEEK.search(t)) or bool(re.search(r"\b(?:que vem|proxim[ao]|next|que viene)\b", t))
    if re.search(r"\b(depois de amanha|depois d amanha|day after tomorrow|pasado manana)\b", t):
        day = today + dt.timedelta(days=2)
    elif re.search(r"\b(amanha|tomorrow)\b", t) or (
        re.search(r"\bmanana\b", t) and not re.search(r"\b(la|por la|de la) manana\b", t)
    ):
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
    if day is None and (m := _NAMED_DATE_RE.search(t)):
        try:
            day = dt.date(today.year, _MONTHS[m.group(2)], int(m.group(1)))
            if day < today:
                day = dt.date(today.year + 1, day.month, day.day)
        except ValueError:
            day = None
    if day is None:
        m = _DAY_ONLY_RE.search(t) or _WEEKDAY_AND_NUMBER.search(t)
        if m and m.group(1):
            d = int(m.group(1))
            month, year = today.month, today.year
            if d < today.day:
                month, year = (1, year + 1) if month == 12 else (month + 1, year)
            try:
                day = dt.date(year, month, d)
            except ValueError:
                day = None
    if day is None:
        # "ah é sábado né… então segunda às 16h": the last weekday named is the wish, unless it
        # is the one ruled out ("quinta 10h, não quarta").
        found = [m for m in _WEEKDAY_RE.finditer(t) if not _RULED_OUT.search(t[: m.start()])]
        m = found[-1] if found else None
        if m:
            weekday = WEEKDAYS[next(g for g in m.groups() if g)]
            day = _next_weekday(today, weekday, next_week=next_week)
    if day is None:
        if _NEXT_WEEK.search(t):
            start = _monday(today) + dt.timedelta(days=7)
            days = (start, start + dt.timedelta(days=6))
        elif _THIS_WEEK.search(t):
            days = (today, _monday(today) + dt.timedelta(days=6))
        elif _WEEKEND.search(t):
            saturday = today + dt.timedelta(days=(5 - today.weekday()) % 7)
            days = (saturday, saturday + dt.timedelta(days=1))

    time: dt.time | None = None
    window: tuple[dt.time, dt.time] | None = None
    clean = _strip_dates(t)
    after = _AFTER_RE.search(clean)
    before = _BEFORE_RE.search(clean)
    ranged = _RANGE_RE.search(clean)
    if ranged and not after and not before:
        low = _hour(int(ranged.group(1)), int(ranged.group(2) or 0), text=clean)
        high = _hour(int(ranged.group(3)), int(ranged.group(4) or 0), text=clean)
        if low and high and low < high:
            window = (low, high)
    if after:
        since = _hour(int(after.group(1)), int(after.group(2) or 0), text=clean)
        if since:
            window = (since, dt.time(23, 59))
    if before:
        until = _hour(int(before.group(1)), int(before.group(2) or 0), text=clean)
        if until:
            window = (window[0] if window else dt.time(6), until)
    if window is None:
        clocks = list(_CLOCK_RE.finditer(clean))
        wishes = [
            m for m in clocks if not _CONSTRAINT_BEFORE.search(clean[max(0, m.start() - 30) : m.start()])
        ]
        if len(clocks) > 1 and wishes:
            clocks = wishes  # "quarta 18h consegue? saio do lab 17h30": when the parent is free, not the wish
        if len(clocks) > 1 and re.search(
            r"\b(nao|em vez|ao inves|melhor|prefiro|instead|consegue|pode ser|passar|mudar|trocar|so que)\b",
            clean,
        ):
            clocks.reverse()  # "9h não… consegue 10h?": the later time is the wish
        for m in clocks:
            if m.group(3):
                time = _hour(int(m.group(3)), 0, meridiem=m.group(4).replace(".", ""), text=clean)
            else:
                time = _hour(int(m.group(1)), int(m.group(2) or 0), text=clean)
            if time is not None:
                break
        if time is None:
            m = _BARE_TIME_RE.search(clean) or _HOUR_OF_PERIOD_RE.search(clean)
            if m:
                time = _hour(int(m.group(1)), int(m.group(2) or 0), text=clean)
    if time is None and window is None:
        for pattern, period in PERIODS:
            if re.search(pattern, clean.replace("amanha", " ")):
                window = period
                break
    return When(
        day=day, weekday=weekday, time=time, window=window, days=days, anytime=bool(_ANY_TIME.search(t))
    )


# Portuguese comes from scheduling.texts (reminders word slots the same way).
WEEKDAY_NAMES = {
    "pt": WEEKDAYS_PT,
    "en": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
    "es": ["lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"],
}


def format_day(day: dt.date, *, lang: str = "pt") -> str:
    """ "terça 02/12"."""
    return f"{WEEKDAY_NAMES.get(lang, WEEKDAYS_PT)[day.weekday()]} {day:%d/%m}"


def format_slot(start: dt.datetime, *, lang: str = "pt") -> str:
    """ "terça 02/12 às 16h" (unit-local `start`)."""
    day = format_day(start.date(), lang=lang)
    if lang == "en":
        return f"{day} at {start:%H:%M}"
    if lang == "es":
        return f"{day} a las {hour_pt(start)}"
    return f"{day} às {hour_pt(start)}"
