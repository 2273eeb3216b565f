"""What a source becomes in the index: FAQ entries stay whole, documents split on headings and
paragraphs with overlap. Also the text extraction of uploaded documents (text, Markdown, PDF)."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

from knowledge.models import Chunk, Source

# A document passage aims at this many characters; the last paragraph of a passage is repeated
# at the start of the next one (overlap) unless it is longer than OVERLAP_CHARS.
PASSAGE_CHARS = 900
OVERLAP_CHARS = 300
_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")


@dataclass(frozen=True)
class ChunkText:
    role: str
    text: str


def chunk_texts(source: Source, phrasings: list[str]) -> list[ChunkText]:
    if source.kind == Source.Kind.FAQ:
        question = source.question.strip()
        entry = f"{question}\n{source.answer.strip()}".strip()
        out = [ChunkText(Chunk.Role.ENTRY, entry)]
        if question:
            out.append(ChunkText(Chunk.Role.QUESTION, question))
        out.extend(ChunkText(Chunk.Role.PHRASING, p.strip()) for p in phrasings if p.strip())
        return out
    return [ChunkText(Chunk.Role.PASSAGE, p) for p in split_document(source.answer, title=source.title)]


def split_document(body: str, *, title: str = "") -> list[str]:
    """Paragraphs grouped under their heading path into passages of ~PASSAGE_CHARS, overlapping."""
    sections: list[tuple[str, list[str]]] = []
    headings: list[str] = [title] if title else []
    paragraph: list[str] = []
    current: list[str] = []

    def flush_paragraph() -> None:
        if paragraph:
            current.append(" ".join(line.strip() for line in paragraph).strip())
            paragraph.clear()

    def flush_section() -> None:
        flush_paragraph()
        if current:
            sections.append((" › ".join(h for h in headings if h), list(current)))
            current.clear()

    for line in body.splitlines():
        match = _HEADING.match(line.strip())
        if match:
            flush_section()
            level = len(match.group(1))
            base = 1 if title else 0
            del headings[base + level - 1 :]
            headings.append(match.group(2).strip())
        elif not line.strip():
            flush_paragraph()
        else:
            paragraph.append(line)
    flush_section()

    passages: list[str] = []
    for heading, paragraphs in sections:
        buffer: list[str] = []
        for para in paragraphs:
            if buffer and sum(len(p) for p in buffer) + len(para) > PASSAGE_CHARS:
                passages.append(_passage(heading, buffer))
                tail = buffer[-1]
                buffer = [tail] if len(tail) <= OVERLAP_CHARS else []
            buffer.append(para)
        if buffer:
            passages.append(_passage(heading, buffer))
    return passages


def _passage(heading: str, paragraphs: list[str]) -> str:
    body = "\n\n".join(paragraphs)
    return f"{heading}\n{body}" if heading else body


def extract_text(*, filename: str, data: bytes) -> str:
    """Plain text of an uploaded document: .pdf through pypdf, anything else as UTF-8 text."""
    if filename.lower().endswith(".pdf"):
        from pypdf import PdfReader

        reader = PdfReader(io.BytesIO(data))
        return "\n\n".join((page.extract_text() or "").strip() for page in reader.pages).strip()
    return data.decode("utf-8-sig", errors="replace")
