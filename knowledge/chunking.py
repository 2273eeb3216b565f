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
        sentences = answer_sentences(source.answer)
        # A one-sentence answer is already the entry chunk; a long one is also met by the
        # sentence a question hits ("e a taxa de matrícula?" in the middle of the price entry).
        if len(sentences) > 1:
            out.extend(ChunkText(Chunk.Role.SENTENCE, s) for s in sentences)
        return out
    return [ChunkText(Chunk.Role.PASSAGE, p) for p in split_document(source.answer, title=source.title)]


_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+(?=[A-ZÀ-Ý0-9\"(])|\n+")
MIN_SENTENCE_CHARS = 25  # "Sim!" or "Pode." alone says nothing a search can use
MAX_SENTENCES = 12


def answer_sentences(answer: str) -> list[str]:
    """The sentences of an answer, short ones glued to the next (at most MAX_SENTENCES)."""
    out: list[str] = []
    pending = ""
    for piece in _SENTENCE_END.split(answer.strip()):
        piece = piece.strip()
        if not piece:
            continue
        pending = f"{pending} {piece}".strip()
        if len(pending) >= MIN_SENTENCE_CHARS:
            out.append(pending)
            pending = ""
    if pending:
        if out:
            out[-1] = f"{out[-1]} {pending}"
        else:
            out.append(pending)
    return out[:MAX_SENTENCES]


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


class ExtractionError(Exception):
    """The document cannot be read (not a PDF, damaged, too big once decompressed): permanent."""


MAX_PDF_PAGES = 300
MAX_EXTRACTED_CHARS = 1_000_000


def extract_text(*, filename: str, data: bytes) -> str:
    """Plain text of an uploaded document: .pdf through pypdf, anything else as UTF-8 text.

    Runs in the worker (knowledge.index_source), never in a web request: a crafted PDF can take
    seconds to parse. Raises ExtractionError with a reason staff can read."""
    if filename.lower().endswith(".pdf"):
        from pypdf import PdfReader  # noqa: PLC0415 -- slow import, only for PDFs
        from pypdf.errors import PyPdfError  # noqa: PLC0415 -- pypdf loads only for a PDF

        try:
            reader = PdfReader(io.BytesIO(data))
            if len(reader.pages) > MAX_PDF_PAGES:
                raise ExtractionError(f"the PDF has {len(reader.pages)} pages (at most {MAX_PDF_PAGES})")
            parts: list[str] = []
            size = 0
            for page in reader.pages:
                text = (page.extract_text() or "").strip()
                size += len(text)
                if size > MAX_EXTRACTED_CHARS:
                    raise ExtractionError(
                        f"the PDF holds more than {MAX_EXTRACTED_CHARS:,} characters of text"
                    )
                parts.append(text)
        except ExtractionError:
            raise
        except (
            PyPdfError,
            ValueError,
            KeyError,
            TypeError,
            AttributeError,
            IndexError,
            RecursionError,
        ) as exc:
            raise ExtractionError(
                f"the file is not a readable PDF ({type(exc).__name__}: {exc})"[:300]
            ) from exc
        return "\n\n".join(parts).strip()
    text = data.decode("utf-8-sig", errors="replace")
    if len(text) > MAX_EXTRACTED_CHARS:
        raise ExtractionError(f"the document holds more than {MAX_EXTRACTED_CHARS:,} characters")
    return text
