"""Deployable as shipped: compose.yaml is valid Compose and runs the Procfile's commands; the
Dockerfile is multi-stage, non-root, CPU-only torch, and starts the Procfile's web command.
Docker cannot run here, so these read the files."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
QUEUES = "celery,inbound,outbound,embeddings"


def procfile(name: str = "Procfile") -> dict[str, str]:
    entries = {}
    for line in (ROOT / name).read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, command = line.partition(":")
            entries[key.strip()] = command.strip()
    return entries


def compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def compose_command(service: str) -> str:
    """The service's command as a shell line, with Compose's `$$` escapes undone."""
    command = compose()["services"][service]["command"]
    if isinstance(command, list):
        command = command[2] if command[:2] == ["sh", "-c"] else shlex.join(command)
    return command.replace("$$", "$")


def test_compose_validates_against_the_compose_specification() -> None:
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "check-jsonschema"),
            "--builtin-schema",
            "vendor.compose-spec",
            str(ROOT / "compose.yaml"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_procfile_has_release_web_worker_and_beat() -> None:
    entries = procfile()

    assert sorted(entries) == ["beat", "release", "web", "worker"]
    assert entries["release"] == "python manage.py migrate --noinput"


@pytest.mark.parametrize(
    ("service", "process"), [("web", "web"), ("worker", "worker"), ("beat", "beat"), ("migrate", "release")]
)
def test_compose_services_run_the_procfile_commands(service: str, process: str) -> None:
    assert compose_command(service) == procfile()[process]


def test_compose_has_database_with_pgvector_redis_and_health_checks() -> None:
    services = compose()["services"]

    assert services["db"]["image"].startswith("pgvector/pgvector:")
    assert services["redis"]["image"].startswith("redis:")
    assert sorted(name for name, spec in services.items() if "healthcheck" in spec) == [
        "db",
        "redis",
        "web",
        "worker",
    ]
    assert services["web"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert sorted(compose()["volumes"]) == ["pgdata", "redisdata"]


def test_every_worker_consumes_every_routed_queue() -> None:
    from django.conf import settings

    routed = {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()}

    assert settings.CELERY_TASK_ROUTES == {
        "conversations.*": {"queue": "inbound"},
        "whatsapp.*": {"queue": "outbound"},
        "knowledge.*": {"queue": "embeddings"},
    }
    assert routed | {"celery"} == set(QUEUES.split(","))
    for command in (procfile()["worker"], procfile("Procfile.dev")["worker"], compose_command("worker")):
        assert f"-Q {QUEUES} " in command


def test_compose_runs_exactly_one_beat() -> None:
    beat = compose()["services"]["beat"]

    assert "deploy" not in beat or beat["deploy"].get("replicas", 1) == 1
    assert "celery -A kumon beat" in compose_command("beat")


def test_dockerfile_is_multi_stage_non_root_with_cpu_only_torch() -> None:
    text = (ROOT / "Dockerfile").read_text()
    stages = re.findall(r"^FROM\s+\S+\s+AS\s+(\w+)", text, flags=re.M)
    users = re.findall(r"^USER\s+(\S+)", text, flags=re.M)

    assert len(stages) >= 2
    assert re.search(r"^COPY --from=build ", text, flags=re.M)
    assert users and users[-1] not in ("root", "0")
    assert re.search(r"--index-url https://download\.pytorch\.org/whl/cpu torch==[\d.]+", text)
    torch_pin = re.search(r"^torch==([\d.]+)$", (ROOT / "requirements" / "base.txt").read_text(), flags=re.M)
    assert torch_pin and f"torch=={torch_pin.group(1)}" in text


def test_dockerfile_starts_the_procfile_web_command() -> None:
    text = (ROOT / "Dockerfile").read_text()
    cmd = re.search(r'^CMD \["sh", "-c", "(.*)"\]$', text, flags=re.M)

    assert cmd is not None
    assert cmd.group(1) == procfile()["web"]
    # worker and beat use the same image with the compose command: the entry modules exist.
    assert (ROOT / "kumon" / "wsgi.py").exists() and (ROOT / "kumon" / "celery.py").exists()


# --- compose's defaults are production's (issue #11 M7) --------------------------------------

_VARIABLE = re.compile(r"\$\$|\$\{(\w+)(?:(:?)([-?])((?:[^}\"]|\"[^\"]*\")*))?\}")


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's variable interpolation: ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error},
    ${VAR?error}, $$. A missing required variable raises ValueError, as compose refuses to start."""

    def one(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, colon, kind, rest = match.groups()
        value = env.get(name)
        missing = value is None or (colon == ":" and value == "")
        if kind == "?" and missing:
            raise ValueError(f"required variable {name} is missing a value: {rest}")
        if kind == "-" and missing:
            return rest
        return value or ""

    return _VARIABLE.sub(one, value)


def compose_environment(service: str, env: dict[str, str]) -> dict[str, str]:
    return {k: interpolate(str(v), env) for k, v in compose()["services"][service]["environment"].items()}


def test_compose_refuses_to_start_without_a_secret_key() -> None:
    with pytest.raises(ValueError, match="required variable SECRET_KEY is missing a value"):
        compose_environment("web", {})
    with pytest.raises(ValueError, match="SECRET_KEY"):
        compose_environment("web", {"SECRET_KEY": ""})
    assert compose_environment("web", {"SECRET_KEY": "k" * 50})["SECRET_KEY"] == "k" * 50


def test_compose_defaults_pass_check_deploy_with_no_warning(tmp_path: Path) -> None:
    import os
    import secrets

    environment = compose_environment("web", {"SECRET_KEY": secrets.token_urlsafe(50)})
    assert (environment["DEBUG"], environment["HTTPS_ONLY"]) == ("0", "1")
    environment["PROMETHEUS_MULTIPROC_DIR"] = str(tmp_path)  # compose's tmpfs
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), **environment},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (result.returncode, result.stdout.strip().splitlines()[-1:]) == (
        0,
        ["System check identified no issues (0 silenced)."],
    ), result.stdout + result.stderr
