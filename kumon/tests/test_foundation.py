"""The foundation: migrations, constraints, the queue after commit, readiness, demo seed."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import time

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from kumon.tasks import heartbeat
from kumon.testing import BASE_DIR, child_env, database_url_for_tests, wait_for
from scheduling.models import Appointment
from scheduling.tests.factories import AppointmentFactory


@pytest.mark.django_db
def test_migrations_fully_applied_and_models_match() -> None:
    executor = MigrationExecutor(connection)
    assert executor.migration_plan(executor.loader.graph.leaf_nodes()) == []
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)  # SystemExit(1) on drift


@pytest.mark.django_db(transaction=True)
def test_migrations_apply_on_an_empty_database() -> None:
    name = "kumon_fresh_migrate"
    with connection.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {name}")
        cursor.execute(f"CREATE DATABASE {name}")
    try:
        url = database_url_for_tests().replace(f"/{connection.settings_dict['NAME']}", f"/{name}", 1)
        result = subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
            cwd=BASE_DIR,
            env=child_env(DATABASE_URL=url),
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert result.returncode == 0, result.stderr[-2000:]
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.mark.django_db
def test_exclusion_constraint_rejects_overlapping_live_appointments() -> None:
    first = AppointmentFactory()
    overlapping = dict(
        unit=first.unit,
        start=first.start + dt.timedelta(minutes=30),
        end=first.end + dt.timedelta(minutes=30),
        seat=1,
    )
    with pytest.raises(IntegrityError) as excinfo, transaction.atomic():
        Appointment.objects.create(**overlapping)
    assert "appointment_no_overlap_per_seat" in str(excinfo.value)
    # Another place of the unit's capacity, a cancelled booking, or another unit: all allowed.
    assert Appointment.objects.create(**{**overlapping, "seat": 2}).seat == 2
    AppointmentFactory(start=first.start, end=first.end)
    first.status = Appointment.Status.CANCELLED
    first.save()
    assert Appointment.objects.create(**overlapping).status == Appointment.Status.BOOKED
    assert Appointment.objects.filter(unit=first.unit, status__in=Appointment.LIVE).count() == 2


@pytest.mark.django_db(transaction=True)
def test_task_enqueued_in_transaction_runs_after_commit_only(celery_worker) -> None:
    cache.delete("kumon:heartbeat")
    with transaction.atomic():
        heartbeat.delay_on_commit()
        time.sleep(1.0)
        assert cache.get("kumon:heartbeat") is None  # not before commit
    assert wait_for(lambda: cache.get("kumon:heartbeat"), timeout=15)

    cache.delete("kumon:heartbeat")
    with pytest.raises(RuntimeError), transaction.atomic():
        heartbeat.delay_on_commit()
        raise RuntimeError("roll back")
    time.sleep(2.0)
    assert cache.get("kumon:heartbeat") is None


@pytest.mark.django_db
def test_readyz_ok_when_database_redis_and_migrations_are(client) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "migrations": "ok", "redis": "ok"},
    }


@pytest.mark.django_db
def test_readyz_503_names_redis_when_unreachable(client, settings) -> None:
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["redis"]
    assert body["checks"]["redis"].startswith("unreachable")
    assert body["checks"]["database"] == "ok"


def test_healthz_answers_without_database(client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_seed_demo_twice_leaves_the_same_rows() -> None:
    from django.apps import apps

    def snapshot() -> dict[str, list]:
        models = [
            m
            for m in apps.get_models()
            if m._meta.app_label in {"kumon", "conversations", "knowledge", "scheduling", "auth"}
        ]
        return {
            m._meta.label: sorted(
                tuple(
                    sorted(
                        (k, str(v))
                        for k, v in row.items()
                        if k not in {"password", "updated_at", "last_login"}
                    )
                )
                for row in m.objects.values()
            )
            for m in models
        }

    call_command("seed_demo", stdout=open("/dev/null", "w"))
    first = snapshot()
    call_command("seed_demo", stdout=open("/dev/null", "w"))
    assert snapshot() == first
    assert len(first["knowledge.Source"]) >= 25
    assert len(first["kumon.Unit"]) == 1
    from kumon.models import Unit

    demo = Unit.objects.get(slug="demo")
    assert (demo.name, demo.timezone, demo.evolution_instance, demo.webhook_secret) == (
        "Kumon Demo",
        "America/Sao_Paulo",
        "kumon-demo",
        "demo-secret",
    )
    assert sorted(demo.memberships.values_list("user__username", "role")) == [
        ("demo-owner", "owner"),
        ("demo-staff", "staff"),
    ]


def test_check_deploy_is_clean_with_production_environment() -> None:
    env = child_env(
        DJANGO_SETTINGS_MODULE="kumon.settings",
        DEBUG="0",
        HTTPS_ONLY="",
        SECRET_KEY="x" * 20 + "production-like-secret-key-with-enough-entropy-9f8e7d6c5b4a",
        ALLOWED_HOSTS="kumon.example.com.br",
    )
    env.pop("HTTPS_ONLY")
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
