"""Content-Security-Policy (kumon/csp.py, issue #11): every HTML page gets one; every inline
script of our pages carries the request's nonce, so the admin, the simulator and the reports'
charts keep working (test_csp_browser.py runs them in Chromium); JSON gets no header."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from conversations.tests.workplace import make_world, waiting_conversation
from kumon.csp import HEADER

pytestmark = pytest.mark.django_db

_SCRIPT = re.compile(r"<script\b([^>]*)>", re.I)


def nonce_of(response: Any) -> str:
    match = re.search(r"'nonce-([\w-]+)'", response[HEADER])
    assert match, response[HEADER]
    return match.group(1)


_HANDLER = re.compile(r"<[a-z][^>]*\s(on[a-z]+)\s*=", re.I)


def inline_scripts_without_the_nonce(response: Any) -> list[str]:
    """Tags of inline (no src), executable (not JSON data) scripts lacking the header's nonce,
    and inline event handlers (onchange=…), which no nonce allows."""
    nonce = nonce_of(response)
    bad = _HANDLER.findall(response.content.decode())
    for attributes in _SCRIPT.findall(response.content.decode()):
        if "src=" in attributes or "application/json" in attributes:
            continue
        if f'nonce="{nonce}"' not in attributes:
            bad.append(attributes)
    return bad


def pages(client: Client, w: Any) -> dict[str, Any]:
    conversation = waiting_conversation(w.unit_a, name="Renata")
    client.force_login(w.owner)
    return {
        url: client.get(url)
        for url in [
            "/admin/",
            "/admin/conversations/conversation/reports/",
            "/admin/conversations/conversation/gaps/",
            f"/admin/conversations/conversation/{conversation.pk}/change/",
            f"/admin/kumon/unit/{w.unit_a.pk}/change/",
            "/simulator/",
        ]
    }


def test_every_admin_and_simulator_page_has_a_policy_and_only_nonced_inline_scripts(client: Client) -> None:
    w = make_world()
    answers = pages(client, w)
    assert {url: r.status_code for url, r in answers.items()} == dict.fromkeys(answers, 200)
    assert {url: inline_scripts_without_the_nonce(r) for url, r in answers.items()} == dict.fromkeys(
        answers, []
    )
    reports = answers["/admin/conversations/conversation/reports/"].content.decode()
    assert 'src="/static/vendor/chart.umd.js"' in reports  # Chart.js from our static files: 'self'


def test_the_policy_runs_scripts_from_us_or_with_the_nonce_and_lets_nothing_frame_us(client: Client) -> None:
    login = client.get("/admin/login/")
    nonce = nonce_of(login)
    assert login[HEADER] == (
        f"default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; font-src 'self'; connect-src 'self'; worker-src 'self'; object-src 'none'; "
        "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    )
    assert nonce_of(client.get("/admin/login/")) != nonce  # one per response


def test_the_api_docs_load_only_our_own_files_and_have_no_inline_script(client: Client) -> None:
    docs = client.get("/docs")
    redoc = client.get("/redoc")
    script = client.get("/docs", {"script": ""})
    assert (docs.status_code, inline_scripts_without_the_nonce(docs)) == (200, [])
    assert (redoc.status_code, inline_scripts_without_the_nonce(redoc)) == (200, [])
    assert (script.status_code, script["Content-Type"].split(";")[0]) == (200, "application/javascript")
    for page in (docs, redoc):
        assert "https://" not in page[HEADER]  # Swagger UI and Redoc come from our static files
    assert "worker-src 'self' blob:" in redoc[HEADER]


def test_json_answers_carry_no_policy(client: Client) -> None:
    w = make_world()
    client.force_login(w.staff_a)
    api = client.get("/api/v1/units/")
    webhook = client.post("/api/v1/evolution/webhook", data="{}", content_type="application/json")
    assert (api.status_code, HEADER in api, webhook.status_code, HEADER in webhook) == (
        200,
        False,
        400,
        False,
    )
