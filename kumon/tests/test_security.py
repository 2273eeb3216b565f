"""Issue #11 M5: brute-force protection of the admin login (django-axes), the API's rate limits
(DRF throttles), and the webhooks' per-unit limit."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token

from conversations.models import Message
from kumon.tests.factories import MembershipFactory, UnitFactory, UserFactory
from whatsapp.tests.conftest import payload, record_pending_events

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/?next=/admin/"
ATTACKER, COLLEAGUE = "203.0.113.9", "198.51.100.20"


def login(client: Client, password: str, *, ip: str = ATTACKER, **headers: str) -> Any:
    return client.post(LOGIN, {"username": "ana", "password": password}, REMOTE_ADDR=ip, **headers)


@pytest.fixture
def ana() -> Any:
    return UserFactory(username="ana", password="a-good-password-7")


def test_five_wrong_passwords_lock_that_user_from_that_address_for_fifteen_minutes(ana: Any) -> None:
    client = Client()
    # The form again four times; the fifth failure locks.
    assert [login(client, f"wrong-{i}").status_code for i in range(5)] == [200, 200, 200, 200, 429]
    locked = login(client, "a-good-password-7", HTTP_ACCEPT_LANGUAGE="en")  # even the right one
    assert (locked.status_code, locked["Retry-After"]) == (429, "900")
    assert (
        "Access blocked after too many wrong passwords. Try again in 15 minutes." in locked.content.decode()
    )
    assert "_auth_user_id" not in client.session

    # The same user from another address is not locked out: one attacker cannot lock a user out.
    colleague = Client()
    assert login(colleague, "a-good-password-7", ip=COLLEAGUE).status_code == 302
    assert colleague.session["_auth_user_id"] == str(ana.pk)

    # After the cool-off the right password works again from the first address.
    AccessAttempt.objects.update(attempt_time=timezone.now() - dt.timedelta(minutes=16))
    assert login(client, "a-good-password-7").status_code == 302


def test_x_forwarded_for_is_ignored_unless_proxies_are_configured(ana: Any, settings: Any) -> None:
    for i in range(5):  # an attacker varying the header from one address
        login(Client(), f"wrong-{i}", HTTP_X_FORWARDED_FOR=f"192.0.2.{i}")
    assert login(Client(), "a-good-password-7", HTTP_X_FORWARDED_FOR="192.0.2.99").status_code == 429

    settings.TRUSTED_PROXY_COUNT = 1  # behind one load balancer that appends the client address
    AccessAttempt.objects.all().delete()
    for i in range(5):
        login(Client(), f"wrong-{i}", ip="10.0.0.2", HTTP_X_FORWARDED_FOR=f"spoofed, {ATTACKER}")
    assert login(Client(), "x", ip="10.0.0.2", HTTP_X_FORWARDED_FOR=ATTACKER).status_code == 429
    other = login(
        Client(), "a-good-password-7", ip="10.0.0.2", HTTP_X_FORWARDED_FOR=f"{ATTACKER}, {COLLEAGUE}"
    )
    assert other.status_code == 302  # the balancer saw COLLEAGUE: another client


def test_the_api_is_rate_limited_per_address_and_per_user(settings: Any) -> None:
    # Anonymous requests reach only the public schema (every other route refuses them before
    # any throttle: DRF checks permissions first).
    settings.API_THROTTLE_ANON, settings.API_THROTTLE_USER = "3/minute", "4/minute"
    anonymous = Client()
    statuses = [anonymous.get("/openapi.json", REMOTE_ADDR=ATTACKER).status_code for _ in range(3)]
    refused = anonymous.get("/openapi.json", REMOTE_ADDR=ATTACKER)
    assert (statuses, refused.status_code, 0 < int(refused["Retry-After"]) <= 60) == (
        [200, 200, 200],
        429,
        True,
    )
    assert anonymous.get("/openapi.json", REMOTE_ADDR=COLLEAGUE).status_code == 200  # another address

    token = Token.objects.create(user=MembershipFactory().user).key
    user = Client(HTTP_AUTHORIZATION=f"Token {token}")
    assert [user.get("/api/v1/units/", REMOTE_ADDR=f"192.0.2.{i}").status_code for i in range(5)] == [
        200,
        200,
        200,
        200,
        429,
    ]  # per user, whatever the address


def test_the_api_throttle_fails_open_when_redis_is_down(settings: Any) -> None:
    settings.API_THROTTLE_ANON = "1/minute"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 0.2},
        }
    }
    assert [Client().get("/openapi.json").status_code for _ in range(3)] == [200, 200, 200]


# --- webhooks ---------------------------------------------------------------------------------

SECRET = "s3cret-of-vila-mariana"


def evolution(client: Client, i: int, instance: str = "kumon-vila-mariana", secret: str = SECRET) -> Any:
    body = payload("evolution_messages_upsert_text.json")
    body["instance"] = instance
    body["data"]["key"]["id"] = f"THROTTLE{instance}{i:04d}"
    response = client.post(
        "/api/v1/evolution/webhook",
        data=json.dumps(body),
        content_type="application/json",
        HTTP_X_WEBHOOK_SECRET=secret,
    )
    record_pending_events()  # the inbound worker's part: events → messages
    return response


def test_webhooks_over_the_units_rate_get_429_with_retry_after_and_store_nothing(settings: Any) -> None:
    settings.WEBHOOK_RATE_PER_MINUTE = 3
    UnitFactory(evolution_instance="kumon-vila-mariana", webhook_secret=SECRET)
    UnitFactory(evolution_instance="kumon-moema", webhook_secret="s3cret-moema")
    client = Client()
    answers = [evolution(client, i) for i in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert (answers[3].json(), 0 < int(answers[3]["Retry-After"]) <= 60) == (
        {"error": "too many requests"},
        True,
    )
    assert Message.objects.filter(direction="in").count() == 3
    # Per unit: another unit's provider is not slowed down; a bad secret is not counted.
    assert evolution(client, 0, "kumon-moema", "s3cret-moema").status_code == 200
    assert evolution(client, 1, "kumon-moema", "wrong").status_code == 401


def test_meta_webhooks_over_the_numbers_rate_get_429(settings: Any) -> None:
    import hashlib
    import hmac

    settings.WEBHOOK_RATE_PER_MINUTE, settings.META_APP_SECRET = 1, "meta-app-secret"
    UnitFactory(meta_phone_number_id="106540352242922")
    client = Client()

    def post(i: int) -> Any:
        body = payload("meta_incoming_text.json")
        body["entry"][0]["changes"][0]["value"]["messages"][0]["id"] = f"wamid.THROTTLE{i}"
        raw = json.dumps(body).encode()
        signature = "sha256=" + hmac.new(b"meta-app-secret", raw, hashlib.sha256).hexdigest()
        response = client.post(
            "/api/v1/meta/webhook",
            data=raw,
            content_type="application/json",
            HTTP_X_HUB_SIGNATURE_256=signature,
        )
        record_pending_events()  # the inbound worker's part: events → messages
        return response

    assert [post(0).status_code, post(1).status_code] == [200, 429]
    assert Message.objects.filter(direction="in").count() == 1


def test_the_webhook_limit_fails_open_when_redis_is_down(settings: Any) -> None:
    settings.WEBHOOK_RATE_PER_MINUTE, settings.REDIS_URL = 1, "redis://127.0.0.1:1/0"
    UnitFactory(evolution_instance="kumon-vila-mariana", webhook_secret=SECRET)
    assert [evolution(Client(), i).status_code for i in range(3)] == [200, 200, 200]


def test_the_webhook_limit_fails_open_when_redis_answers_what_the_client_cannot_read(settings: Any) -> None:
    """redis-py raises ValueError, not a RedisError, for some broken replies and connections (a
    500 in CI: "I/O operation on closed file" when the server dropped a connection mid-handshake).
    A local server that answers every command with an unreadable integer reaches the same path."""
    import socket
    import threading

    server = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                if conn.recv(65536):
                    conn.sendall(b":not-a-number\r\n")

    threading.Thread(target=serve, daemon=True).start()
    try:
        settings.WEBHOOK_RATE_PER_MINUTE = 1
        settings.REDIS_URL = f"redis://127.0.0.1:{server.getsockname()[1]}/0"
        UnitFactory(evolution_instance="kumon-vila-mariana", webhook_secret=SECRET)
        assert [evolution(Client(), i).status_code for i in range(2)] == [200, 200]
        assert Message.objects.filter(direction="in").count() == 2
    finally:
        server.close()


def pt_br_table() -> Any:
    import importlib.util

    from kumon.testing import BASE_DIR

    spec = importlib.util.spec_from_file_location(
        "translate_pt_br", BASE_DIR / "locale" / "translate_pt_br.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_lockout_page_has_its_portuguese_translations() -> None:
    table = pt_br_table()
    assert [
        table.T.get("Too many failed logins"),
        len(
            table.PLURALS.get(
                "Access blocked after too many wrong passwords. Try again in %(minutes)s minute.", ()
            )
        ),
    ] == ["Muitas tentativas de acesso sem sucesso", 2]


# --- passwords (M6) ---------------------------------------------------------------------------


@pytest.mark.parametrize("password", ["12345678", "password", "98127364509", "ana.souza", "abc12"])
def test_weak_passwords_are_refused_by_the_admin(client: Client, password: str) -> None:
    root = UserFactory(username="root-admin", is_superuser=True)
    client.force_login(root)
    response = client.post(
        "/admin/auth/user/add/",
        {"username": "ana.souza", "password1": password, "password2": password, "usable_password": "true"},
    )
    assert (response.status_code, get_user_model().objects.filter(username="ana.souza").exists()) == (
        200,
        False,
    )
    assert response.context["adminform"].form.errors["password2"]


def test_a_strong_password_is_accepted_by_the_admin(client: Client) -> None:
    client.force_login(UserFactory(username="root-admin", is_superuser=True))
    response = client.post(
        "/admin/auth/user/add/",
        {
            "username": "ana.souza",
            "password1": "Matemática-2026-Moema",
            "password2": "Matemática-2026-Moema",
            "usable_password": "true",
        },
    )
    assert (response.status_code, get_user_model().objects.filter(username="ana.souza").exists()) == (
        302,
        True,
    )


# --- login redirects --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("next_url", "lands"),
    [
        ("https://evil.example/phish", "/admin/"),
        ("//evil.example/", "/admin/"),
        ("", "/admin/"),
        ("/simulator/", "/simulator/"),
    ],
)
def test_a_login_lands_on_next_only_when_it_is_ours_and_on_the_admin_otherwise(
    ana: Any, next_url: str, lands: str
) -> None:
    response = Client().post(
        "/admin/login/", {"username": "ana", "password": "a-good-password-7", "next": next_url}
    )
    assert (response.status_code, response["Location"]) == (302, lands)
