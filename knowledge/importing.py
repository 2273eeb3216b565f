"""Reading FAQ files for `knowledge import`: JSON list, CSV, or Markdown with `##` questions."""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from django.utils.text import slugify

from kumon.exceptions import DomainError


class ImportFormatError(DomainError):
    pass


@dataclass(frozen=True)
class FaqRow:
    id: str
    question: str
    answer: str
    phrasings: list[str] | None = field(default=None)


def read_faq_file(path: Path) -> list[FaqRow]:
    text = path.read_text(encoding="utf-8-sig")
    suffix = path.suffix.lower()
    if suffix == ".json":
        rows = _from_json(text)
    elif suffix == ".csv":
        rows = _from_csv(text)
    elif suffix in {".md", ".markdown"}:
        rows = _from_markdown(text)
    else:
        raise ImportFormatError(f"unknown FAQ format {suffix!r}: use .json, .csv or .md")
    ids = [r.id for r in rows]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ImportFormatError(f"duplicate ids in {path.name}: {', '.join(duplicates)}")
    return rows


def _from_json(text: str) -> list[FaqRow]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportFormatError(f"not valid JSON: {exc.msg} at line {exc.lineno}") from exc
    if isinstance(data, dict) and isinstance(data.get("faq"), list):
        data = data["faq"]  # a unit profile (shared/eval-dev/FORMAT.md): its FAQ
    if not isinstance(data, list):
        raise ImportFormatError("the JSON file must be a list of {id, question, answer}")
    rows = []
    for n, item in enumerate(data, start=1):
        if not isinstance(item, dict):
            raise ImportFormatError(f"entry {n}: must be an object with id, question and answer")
        where = f"entry {n}" + (f" (id {item['id']!r})" if isinstance(item.get("id"), str | int) else "")
        for key in ("question", "answer"):
            if not isinstance(item.get(key), str):
                kind = "missing" if item.get(key) is None else f"a {type(item.get(key)).__name__}, not text"
                raise ImportFormatError(f"{where}: {key!r} is {kind}")
        if isinstance(item.get("id"), bool) or not isinstance(item.get("id"), str | int):
            raise ImportFormatError(f"{where}: 'id' must be text")
        if not all(str(item[k]).strip() for k in ("id", "question", "answer")):
            raise ImportFormatError(f"{where} needs non-empty id, question and answer")
        phrasings = item.get("phrasings")
        if phrasings is not None and not (
            isinstance(phrasings, list) and all(isinstance(p, str) for p in phrasings)
        ):
            raise ImportFormatError(f"{where}: 'phrasings' must be a list of texts")
        rows.append(
            FaqRow(
                str(item["id"]).strip(),
                item["question"].strip(),
                item["answer"].strip(),
                list(phrasings) if phrasings is not None else None,
            )
        )
    return rows


def _from_csv(text: str) -> list[FaqRow]:
    reader = csv.DictReader(io.StringIO(text))
    missing = {"id", "question", "answer"} - set(reader.fieldnames or [])
    if missing:
        raise ImportFormatError(f"CSV columns missing: {', '.join(sorted(missing))}")
    rows = []
    for n, item in enumerate(reader, start=2):
        if not all((item.get(k) or "").strip() for k in ("id", "question", "answer")):
            raise ImportFormatError(f"CSV line {n} needs id, question and answer")
        phrasings = [p.strip() for p in (item.get("phrasings") or "").split("|") if p.strip()]
        rows.append(
            FaqRow(
                item["id"].strip(),
                item["question"].strip(),
                item["answer"].strip(),
                phrasings if "phrasings" in item else None,
            )
        )
    return rows


_ID_COMMENT = re.compile(r"<!--\s*id:\s*([\w.-]+)\s*-->")


def _slug(text: str) -> str:

    return slugify(text)[:100] or "entry"


def _from_markdown(text: str) -> list[FaqRow]:
    """`## Question` then the answer; an optional `<!-- id: xyz -->` line sets the id
    (default: the slug of the question)."""
    rows: list[FaqRow] = []
    question: str | None = None
    body: list[str] = []
    explicit_id: str | None = None

    def flush() -> None:
        if question is not None:
            answer = "\n".join(body).strip()
            if not answer:
                raise ImportFormatError(f"the question {question!r} has no answer")
            rows.append(FaqRow(explicit_id or _slug(question), question, answer))

    for line in text.splitlines():
        if line.startswith("## "):
            flush()
            question, body, explicit_id = line[3:].strip(), [], None
            continue
        match = _ID_COMMENT.search(line)
        if match and question is not None:
            explicit_id = match.group(1)
            continue
        if question is not None:
            body.append(line)
    flush()
    return rows
