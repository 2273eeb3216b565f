"""What a newcomer opens first works on a machine without internet: /docs and /redoc from our own
static files, `/` leading to the admin, the README's webhook example on a file of the repository.
(That /docs really renders its operations offline is checked in a browser with the network cut:
conversations/tests/test_workplace_browser.py.)"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.test import Client

from conversations.models import Message
from kumon.tests.factories import UnitFactory
from whatsapp.tests.conftest import record_pending_events

README = Path(settings.BASE_DIR) / "README.md"


def _external_urls(html: str) -> list[str]:
    return re.findall(r"""(?:src|href)=["'](https?://[^"']+)""", html) + re.findall(
        r"@import\s+url\(['\"]?https?://", html
    )


@pytest.mark.parametrize(
    ("path", "assets"),
    [
        (
            "/docs",
            [
                "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js",
                "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-standalone-preset.js",
                "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui.css",
            ],
        ),
        ("/redoc", ["drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js"]),
    ],
)
def test_api_docs_load_only_our_own_static_files(path: str, assets: list[str]) -> None:
    html = Client().get(path).content.decode()

    referenced = sorted(re.findall(r"""(?:src|href)=["']/static/([^"']+)""", html))
    assert _external_urls(html) == []
    assert [a for a in assets if a not in referenced] == []
    # collectstatic (make run / make test) copies them; whitenoise serves them from there.
    assert [a for a in referenced if finders.find(a) is None] == []


def test_the_root_leads_to_the_admin() -> None:
    response = Client().get("/")

    assert (response.status_code, response["Location"]) == (302, "/admin/")


@pytest.mark.django_db
def test_readme_evolution_example_posts_a_file_of_the_repository() -> None:
    example = README.read_text().split("**A real Evolution webhook**", 1)[1].split("```", 2)[1]
    payload_path = re.search(r"(\S+\.json)", example).group(1)
    path = Path(settings.BASE_DIR) / payload_path
    unit = UnitFactory(evolution_instance="kumon-demo", webhook_secret="demo-secret")
    body = json.loads(path.read_text())
    body["instance"] = "kumon-demo"  # what the example's jq does
    body["data"]["key"]["id"] = "3A1700000000000000000"

    response = Client().post(
        "/api/v1/evolution/webhook",
        data=json.dumps(body),
        content_type="application/json",
        HTTP_X_WEBHOOK_SECRET="demo-secret",
    )

    assert not payload_path.startswith("..")  # inside the repository a newcomer cloned
    assert (response.status_code, response.json()["stored"]) == (200, 1)
    record_pending_events()  # the inbound worker's part: the event → the message
    assert list(Message.objects.filter(unit=unit).values_list("provider_id", flat=True)) == [
        "3A1700000000000000000"
    ]
