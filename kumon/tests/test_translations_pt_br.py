"""The pt_BR catalogue: every msgid translated, the compiled .mo equal to the .po, and no string of
the code or templates missing from it (issue #14: staff read every label in Portuguese)."""

from __future__ import annotations

import gettext
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

LOCALE = Path(settings.BASE_DIR) / "locale"
PO = LOCALE / "pt_BR" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")


@dataclass
class Entry:
    msgid: str = ""
    context: str | None = None
    plural: str | None = None
    strings: list[str] = field(default_factory=list)
    fuzzy: bool = False

    @property
    def name(self) -> str:
        return f"{self.context}|{self.msgid}" if self.context else self.msgid


def _unquote(text: str) -> str:
    return re.sub(r'\\(["\\n\\t])', lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), text)


def parse_po(text: str) -> list[Entry]:
    """The active entries of a .po (obsolete `#~` ones left out), header excluded."""
    entries: list[Entry] = []
    for block in text.split("\n\n"):
        lines = [line for line in block.strip().splitlines() if not line.startswith("#~")]
        if not any(line.startswith("msgid ") for line in lines):
            continue
        entry, current = Entry(), None
        for line in lines:
            if line.startswith("#,"):
                entry.fuzzy = "fuzzy" in line
                continue
            if line.startswith("#"):
                continue
            keyword, _, rest = line.partition(" ")
            if line.startswith('"'):
                keyword, rest = current, line
            value = _unquote(rest.strip()[1:-1])
            if keyword == "msgctxt":
                entry.context = (entry.context or "") + value
            elif keyword == "msgid":
                entry.msgid += value
            elif keyword == "msgid_plural":
                entry.plural = (entry.plural or "") + value
            elif keyword == "msgstr" or (keyword or "").startswith("msgstr["):
                if keyword != current:
                    entry.strings.append("")
                entry.strings[-1] += value
            current = keyword
        if entry.msgid:
            entries.append(entry)
    return entries


def untranslated(entries: list[Entry]) -> list[str]:
    return [e.name for e in entries if e.fuzzy or not e.strings or any(not s for s in e.strings)]


def test_every_msgid_of_the_catalogue_has_a_portuguese_text() -> None:
    entries = parse_po(PO.read_text())

    assert len(entries) > 300
    assert untranslated(entries) == []


def test_compiled_catalogue_is_the_po_file() -> None:
    catalogue = gettext.GNUTranslations(MO.open("rb"))
    differ = []
    for entry in parse_po(PO.read_text()):
        if entry.plural is not None:
            got = [
                catalogue.npgettext(entry.context, entry.msgid, entry.plural, n)
                if entry.context
                else catalogue.ngettext(entry.msgid, entry.plural, n)
                for n in (1, 2)
            ]
        else:
            got = [
                catalogue.pgettext(entry.context, entry.msgid)
                if entry.context
                else catalogue.gettext(entry.msgid)
            ]
        if got != entry.strings:
            differ.append(entry.name)
    assert differ == []  # run compilemessages (see the README) after editing the .po


@pytest.mark.skipif(
    shutil.which("xgettext") is None or shutil.which("msgmerge") is None, reason="gettext is not installed"
)
def test_no_string_of_the_code_is_missing_from_the_catalogue(tmp_path: Path, monkeypatch, settings) -> None:
    # makemessages over a copy of the sources, merged into a copy of the catalogue: every msgid
    # the code and templates mark must already be translated there. (Run in the project itself,
    # makemessages writes into every `locale/` folder it finds, the real catalogue included.)
    source = tmp_path / "src"
    shutil.copytree(
        settings.BASE_DIR,
        source,
        ignore=shutil.ignore_patterns(
            ".*",
            "locale",
            "bench",
            "static",
            "node_modules",
            "__pycache__",
            "*.pyc",
            "*.json",
            "*.jsonl",
            "*.txt",
            "*.mo",
            "*.po",
        ),
    )
    shutil.copytree(LOCALE / "pt_BR", tmp_path / "catalogue" / "pt_BR")
    settings.LOCALE_PATHS = [tmp_path / "catalogue"]
    monkeypatch.chdir(source)

    call_command("makemessages", locale=["pt_BR"], verbosity=0)

    missing = untranslated(
        parse_po((tmp_path / "catalogue" / "pt_BR" / "LC_MESSAGES" / "django.po").read_text())
    )
    assert missing == []  # add them to locale/translate_pt_br.py and regenerate (README)


def test_admin_sentences_around_a_model_name_are_gender_neutral() -> None:
    from django.utils import translation
    from django.utils.translation import gettext, ngettext

    with translation.override("pt-br"):
        changed = gettext("The {name} “{obj}” was changed successfully.").format(
            name="fonte de conhecimento", obj="Tem estacionamento?"
        )
        deleted = gettext("The %(name)s “%(obj)s” was deleted successfully.") % {
            "name": "reserva de horário",
            "obj": "x",
        }
        many = ngettext(
            "%(count)s %(name)s was changed successfully.", "%(count)s %(name)s were changed successfully.", 3
        ) % {"count": 3, "name": "agendamentos"}
    assert (changed, deleted, many) == (
        "Alteração salva: fonte de conhecimento “Tem estacionamento?”.",
        "Exclusão feita: reserva de horário “x”.",
        "Alterações salvas: 3 agendamentos.",
    )


@pytest.mark.django_db
def test_unit_form_calls_the_state_estado_not_situacao(client) -> None:
    from kumon.models import Membership
    from kumon.tests.factories import MembershipFactory

    membership = MembershipFactory(role=Membership.Role.OWNER)
    membership.user.save()
    client.force_login(membership.user)

    html = client.get(f"/admin/kumon/unit/{membership.unit_id}/change/").content.decode()

    assert re.search(r'<label[^>]*for="id_state"[^>]*>([^<]+)</label>', html).group(1) == "Estado (UF):"
