"""Text from providers made storable at the edge (issue #11 M1).

JSON may carry what PostgreSQL cannot store: U+0000, and lone UTF-16 surrogates (`"\\ud800"`, an
emoji cut in half by a client). psycopg then fails to encode the text or jsonb refuses it: a 500
for the whole webhook, every message of the batch lost, and the provider retrying the same body
forever. The parsers run every string of a payload through here first: a lone surrogate becomes
U+FFFD (the replacement character, what a UTF-8 decoder shows for a broken sequence), U+0000 is
dropped.
"""

from __future__ import annotations

import re
from typing import Any

_INVALID = re.compile("[\x00\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def _replace(match: re.Match[str]) -> str:
    return "" if match.group() == "\x00" else REPLACEMENT


def valid_text(value: str) -> str:
    """`value` with lone surrogates replaced by U+FFFD and U+0000 removed."""
    # json.loads pairs a valid "\\ud83d\\ude00" into one code point, so any surrogate left is lone.
    return _INVALID.sub(_replace, value) if _INVALID.search(value) else value


def valid_json(value: Any) -> Any:
    """The decoded JSON `value` with every string (keys too) made valid; unchanged objects are
    returned as they are."""
    if isinstance(value, str):
        return valid_text(value)
    if isinstance(value, list):
        return [valid_json(v) for v in value]
    if isinstance(value, dict):
        return {valid_text(k) if isinstance(k, str) else k: valid_json(v) for k, v in value.items()}
    return value
