"""Normalisation, chunking and document extraction: pure functions, no database."""

from knowledge.chunking import extract_text, split_document
from knowledge.normalize import normalize, reading


def test_normalize_expands_whatsapp_abbreviations_and_drops_greetings() -> None:
    assert normalize("Oi boa tarde!! tudo bem? Qto custa pra 2 matérias, vcs tem desconto?") == (
        "quanto custa para 2 materias voces tem desconto"
    )


def test_normalize_strips_accents_repeats_and_fillers() -> None:
    assert normalize("Olá, muuuito obrigada! Vcs abrem no feriado hj?") == "voces abrem no feriado hoje"


def test_normalize_keeps_a_message_that_is_only_a_greeting() -> None:
    assert normalize("Oi, boa noite") == "oi"


def test_split_document_on_headings_with_heading_path() -> None:
    body = "# Regras\n\nPrimeiro parágrafo.\n\n## Faltas\n\nO aluno repõe a aula.\n"
    assert split_document(body, title="Manual") == [
        "Manual › Regras\nPrimeiro parágrafo.",
        "Manual › Regras › Faltas\nO aluno repõe a aula.",
    ]


def test_split_document_overlaps_long_sections() -> None:
    paragraphs = [f"Parágrafo {n} " + "palavra " * 25 for n in range(10)]
    passages = split_document("\n\n".join(paragraphs))
    assert len(passages) > 1
    # The last paragraph of a passage opens the next one.
    assert passages[1].startswith(passages[0].split("\n\n")[-1])


def test_extract_text_reads_pdf_pages() -> None:
    assert extract_text(filename="regras.pdf", data=_pdf("Reposicao de aulas")) == "Reposicao de aulas"


def test_extract_text_reads_markdown_as_utf8() -> None:
    assert extract_text(filename="x.md", data="## Férias\nTem aula.".encode()) == "## Férias\nTem aula."


def _pdf(text: str) -> bytes:
    """A one-page PDF with `text`, written by hand (pypdf reads, it does not lay out text)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return out


def test_reading_drops_what_comes_before_and_after_the_question() -> None:
    assert reading(normalize("Ah, e além disso, me tira uma dúvida: vcs abrem sábado? obrigada!")) == (
        "voces abrem sabado"
    )


def test_reading_keeps_a_message_with_nothing_else() -> None:
    assert reading(normalize("obrigada")) == "obrigada"


def test_normalize_reads_english_contractions() -> None:
    assert reading(normalize("Also, what's the monthly fee? I don't know it")) == (
        "what is the monthly fee i do not know it"
    )


def test_reading_drops_what_the_parent_takes_back_with_a_double_negative() -> None:
    assert reading(
        normalize("nao e cancelar nao, e so que ele vai faltar semana que vem, pode repor?")
    ).startswith("so que ele vai faltar")
    assert reading(normalize("nao quero matricular nao uai, so saber o preco")) == "so saber o preco"
    assert reading(normalize("nao sei nao")) == "nao sei nao"
