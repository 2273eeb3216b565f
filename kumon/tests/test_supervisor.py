"""kumon/supervisor.py, `make run`'s process manager: a process that dies is started again and
the log says so, the others keep running; SIGINT stops them all (issue #11 H1)."""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kumon import supervisor
from kumon.supervisor import Supervisor, read_procfile
from kumon.testing import BASE_DIR, wait_for

SLEEPER = f"{sys.executable} -c \"import time; print('{{}} up', flush=True); time.sleep(600)\""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def started_pids(log: str, name: str) -> list[int]:
    return [int(pid) for pid in re.findall(rf"\| {name} started \(pid (\d+)\)", log)]


def test_supervisor_restarts_a_killed_process_logs_it_keeps_the_others_and_ctrl_c_stops_all(
    tmp_path: Path,
) -> None:
    procfile = tmp_path / "Procfile"
    procfile.write_text(f"web: {SLEEPER.format('web')}\nworker: {SLEEPER.format('worker')}\n")
    log_path = tmp_path / "out.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "kumon.supervisor", str(procfile)],
            cwd=BASE_DIR,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:

        def log() -> str:
            return log_path.read_text()

        wait_for(lambda: "web up" in log() and "worker up" in log(), timeout=20)
        [worker_pid], [web_pid] = started_pids(log(), "worker"), started_pids(log(), "web")
        os.killpg(worker_pid, signal.SIGKILL)  # the worker dies (e.g. an unrecoverable error)

        wait_for(
            lambda: len(started_pids(log(), "worker")) == 2 and log().count("worker up") == 2, timeout=20
        )
        assert re.search(
            r"\| worker killed by signal 9 after \d+ s; restarting it now \(restart 1\)\n", log()
        )
        new_worker_pid = started_pids(log(), "worker")[1]
        assert new_worker_pid != worker_pid and alive(new_worker_pid)
        assert started_pids(log(), "web") == [web_pid] and alive(web_pid)  # web served on, untouched

        proc.send_signal(signal.SIGINT)  # Ctrl-C
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert (alive(web_pid), alive(new_worker_pid)) == (False, False)
    assert re.search(r"\| stopping web, worker\n", log_path.read_text())


def test_a_process_that_keeps_dying_is_restarted_with_growing_delays(monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()
    sup = Supervisor([("beat", "exit 3")], out=out)
    monkeypatch.setattr(supervisor, "BACKOFF_MAX_SECONDS", 2.0)
    sup._start(sup.children[0])
    deadline = time.monotonic() + 20
    while sup.children[0].restarts < 4 and time.monotonic() < deadline:
        sup.poll()
        time.sleep(0.05)
    notices = re.findall(r"beat exited with code 3 after \d+ s; restarting it (.+)\n", out.getvalue())
    assert notices == ["now (restart 1)", "in 1 s (restart 2)", "in 2 s (restart 3)", "in 2 s (restart 4)"]
    sup.stop()


def test_read_procfile_reads_names_and_commands_and_names_a_bad_line(tmp_path: Path) -> None:
    good = tmp_path / "Procfile"
    good.write_text("# dev\nweb: gunicorn x --bind 127.0.0.1:${PORT:-8000}\n\nbeat: celery -A kumon beat\n")
    bad = tmp_path / "Bad"
    bad.write_text("web: ok\njust a command\n")
    assert read_procfile(good) == [
        ("web", "gunicorn x --bind 127.0.0.1:${PORT:-8000}"),
        ("beat", "celery -A kumon beat"),
    ]
    with pytest.raises(ValueError, match=r"Bad:2: expected `name: command`"):
        read_procfile(bad)


def test_make_run_uses_the_supervisor_on_procfile_dev() -> None:
    makefile = (BASE_DIR / "Makefile").read_text()
    assert "$(PY) -m kumon.supervisor Procfile.dev" in makefile
    assert [name for name, _ in read_procfile(BASE_DIR / "Procfile.dev")] == ["web", "worker", "beat"]


def test_a_command_killed_under_the_shell_is_reported_as_killed(tmp_path: Path) -> None:
    out = io.StringIO()
    sup = Supervisor(
        [("worker", f'{sys.executable} -c "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"')],
        out=out,
    )
    sup._start(sup.children[0])
    wait_for(lambda: sup.poll() or sup.children[0].restarts >= 1, timeout=20)
    sup.stop()
    assert re.search(
        r"\| worker killed by signal 9 after \d+ s; restarting it now \(restart 1\)\n", out.getvalue()
    )
