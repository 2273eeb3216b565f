"""Phone numbers: E.164 normalisation (Brazilian mobile 9th digit) and masking for logs."""

from __future__ import annotations

import re

import phonenumbers

_DIGITS = re.compile(r"\D+")
# Long digit runs in free text (phones, JIDs): masked in every log line.
# Not inside decimals or longer numbers ("succeeded in 7.35990599s" is not a phone).
_PHONE_IN_TEXT = re.compile(r"(?:(?<=%2[Bb])|(?<!\w)(?<!\d\.))\+?(\d{2,4})(\d{4,9})(\d{4})(?!\d)(?!\.\d)")


class InvalidPhone(ValueError):
    pass


def normalize_phone(raw: str, *, default_region: str = "BR") -> str:
    """Return `raw` as E.164, e.g. "+5511987654321".

    Brazilian mobiles written without the 9th digit (the pre-2016 8-digit form that WhatsApp
    still reports for some old accounts) get it added, so both spellings are one contact.
    """
    text = (raw or "").split("@", 1)[0].split(":", 1)[0].strip()
    digits = _DIGITS.sub("", text)
    if not digits or len(digits) > 15:
        raise InvalidPhone(f"not a phone number: {mask_phone(text)!r}")
    candidate = "+" + digits if (text.startswith("+") or len(digits) > 11) else digits
    try:
        number = phonenumbers.parse(candidate, default_region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone(str(exc)) from exc
    national = str(number.national_number)
    if number.country_code == 55 and len(national) == 10 and national[2] in "6789":
        # DDD + 8-digit mobile (starts 6-9): insert the 9th digit.
        national = national[:2] + "9" + national[2:]
        number = phonenumbers.parse("+55" + national, None)
    if not phonenumbers.is_possible_number(number):
        raise InvalidPhone(f"not a possible phone number: {mask_phone(text)!r}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def mask_phone(phone: str) -> str:
    """ "+5511987654321" -> "+55119*****4321": enough to tell numbers apart in support."""
    digits = _DIGITS.sub("", phone or "")
    if len(digits) < 8:
        return "*" * len(digits)
    prefix = "+" if (phone or "").startswith("+") else ""
    return f"{prefix}{digits[:4]}{'*' * (len(digits) - 8)}{digits[-4:]}"


# Phones as people and URLs write them (issue #11): "+55 (11) 98765-4321", "11 96600-0001",
# "98765-4321", and URL-encoded ("%2B5511…", "11%2096600-0001"). Brazilian shapes only — a DDD,
# a 9-digit mobile or a 4-digit prefix — so dates ("2026-12-01 20:44"), amounts and ids stay.
_SEP = r"(?:[ .-]|%20|%2[Dd])"
_FORMATTED_PHONE = re.compile(
    rf"""(?:(?<=%20)|(?<=%2[89Bb])|(?<![\w.%]))(?:
        (?:\+|%2[Bb])?55{_SEP}?(?:\(|%28)?\d{{2}}(?:\)|%29)?{_SEP}?9?\d{{4}}{_SEP}?\d{{4}}   # country code
      | (?:\(|%28)\d{{2}}(?:\)|%29){_SEP}?9?\d{{4}}{_SEP}?\d{{4}}                         # (DDD) number
      | \d{{2}}{_SEP}9\d{{4}}{_SEP}?\d{{4}}                                              # DDD mobile
      | 9\d{{4}}(?:-|%2[Dd])\d{{4}}                                                      # mobile, no DDD
    )(?![\w%])""",
    re.X,
)
_URL_ESCAPE = re.compile(r"%(?:2[Bb]|20|28|29|2[Dd])")


def _mask_formatted(match: re.Match[str]) -> str:
    return mask_phone(_URL_ESCAPE.sub(lambda m: chr(int(m.group(0)[1:], 16)), match.group(0)))


def mask_phones_in_text(text: str) -> str:
    text = _FORMATTED_PHONE.sub(_mask_formatted, text)
    return _PHONE_IN_TEXT.sub(lambda m: mask_phone(m.group(0)), text)
