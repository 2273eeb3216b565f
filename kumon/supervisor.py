"""`make run`'s process manager: start every process of a Procfile, restart one that dies.

    python -m kumon.supervisor Procfile.dev

honcho (what `make run` used before) stops every process when one exits, so a worker killed by
a Redis outage took web and beat down with it (issue #11 H1). Here a process that exits is
started again — at once the first time, then after 1, 2, 4 … 30 s while it keeps dying within
30 s of its start — and the log says so; the others keep running. Ctrl-C (SIGINT) or SIGTERM
stops them all: SIGTERM to each process group, SIGKILL to what is left after STOP_SECONDS.

Each line of a child's output is printed as `HH:MM:SS name | line`, like honcho. Commands run
through /bin/sh with the supervisor's environment (`${PORT:-8000}` works as in the Procfile).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

STOP_SECONDS = 15.0  # a Celery warm shutdown finishes its running tasks
BACKOFF_MAX_SECONDS = 30.0
STABLE_SECONDS = 30.0  # a process that ran this long restarts at once again


def read_procfile(path: Path) -> list[tuple[str, str]]:
    """(name, command) for each `name: command` line; blank lines and # comments skipped."""
    entries: list[tuple[str, str]] = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, command = line.partition(":")
        if not sep or not name.strip() or not command.strip():
            raise ValueError(f"{path}:{number}: expected `name: command`, got {line!r}")
        entries.append((name.strip(), command.strip()))
    if not entries:
        raise ValueError(f"{path}: no processes")
    return entries


@dataclass
class Child:
    name: str
    command: str
    proc: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    restarts: int = 0
    failures_in_a_row: int = 0
    restart_at: float | None = None  # when a dead process is due to start again
    reader: threading.Thread | None = field(default=None, repr=False)


class Supervisor:
    def __init__(
        self, entries: list[tuple[str, str]], *, out: IO[str] | None = None, env: dict[str, str] | None = None
    ) -> None:
        self.children = [Child(name, command) for name, command in entries]
        self.out = out or sys.stdout
        self.env = env
        self.width = max(len(c.name) for c in self.children + [Child("supervisor", "")])
        self._lock = threading.Lock()
        self._stopping = threading.Event()

    # --- output -------------------------------------------------------------------------------

    def say(self, name: str, text: str) -> None:
        with self._lock:
            self.out.write(f"{time.strftime('%H:%M:%S')} {name.ljust(self.width)} | {text}\n")
            self.out.flush()

    def _pipe(self, child: Child, stream: IO[bytes]) -> None:
        for raw in iter(stream.readline, b""):
            self.say(child.name, raw.decode(errors="replace").rstrip("\n"))
        stream.close()

    # --- processes ----------------------------------------------------------------------------

    def _start(self, child: Child) -> None:
        child.proc = subprocess.Popen(
            ["/bin/sh", "-c", child.command],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=self.env,
            # Its own process group: Ctrl-C in the terminal reaches the supervisor only, which
            # stops the children in order, and a kill reaches the shell and what it started.
            start_new_session=True,
        )
        child.started_at = time.monotonic()
        child.restart_at = None
        assert child.proc.stdout is not None
        child.reader = threading.Thread(target=self._pipe, args=(child, child.proc.stdout), daemon=True)
        child.reader.start()
        self.say("supervisor", f"{child.name} started (pid {child.proc.pid})")

    def _on_exit(self, child: Child, code: int) -> None:
        ran = time.monotonic() - child.started_at
        child.failures_in_a_row = 0 if ran >= STABLE_SECONDS else child.failures_in_a_row + 1
        delay = (
            0.0
            if child.failures_in_a_row <= 1
            else min(BACKOFF_MAX_SECONDS, 2.0 ** (child.failures_in_a_row - 2))
        )
        if code < 0:
            how = f"killed by signal {-code}"
        elif 128 < code <= 128 + 64:  # the shell reports its command killed by signal N as 128 + N
            how = f"killed by signal {code - 128}"
        else:
            how = f"exited with code {code}"
        child.restarts += 1
        child.restart_at = time.monotonic() + delay
        self.say(
            "supervisor",
            f"{child.name} {how} after {ran:.0f} s; restarting it "
            f"{'now' if not delay else f'in {delay:.0f} s'} (restart {child.restarts})",
        )

    def poll(self) -> None:
        """One round: notice exits, start what is due."""
        for child in self.children:
            if child.proc is not None and child.restart_at is None:
                code = child.proc.poll()
                if code is not None:
                    # What it started may outlive it (a gunicorn or Celery pool child holding the
                    # port or the queue): the group goes with it before the new one starts.
                    _signal_group(child.proc, signal.SIGKILL)
                    if child.reader:
                        child.reader.join(timeout=1)  # its last lines before the notice
                    self._on_exit(child, code)
            if (
                child.restart_at is not None
                and time.monotonic() >= child.restart_at
                and not self._stopping.is_set()
            ):
                self._start(child)

    def stop(self) -> None:
        self._stopping.set()
        running = [c for c in self.children if c.proc is not None and c.proc.poll() is None]
        self.say("supervisor", "stopping " + ", ".join(c.name for c in running) if running else "stopping")
        for child in running:
            assert child.proc is not None
            _signal_group(child.proc, signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        for child in running:
            assert child.proc is not None
            try:
                child.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.say("supervisor", f"{child.name} did not stop in {STOP_SECONDS:.0f} s: killing it")
                _signal_group(child.proc, signal.SIGKILL)
                child.proc.wait(timeout=5)
        for child in self.children:
            if child.reader:
                child.reader.join(timeout=1)
        self.say("supervisor", "stopped")

    def run(self) -> int:
        """Start everything and supervise until SIGINT/SIGTERM; then stop everything."""

        def request_stop(signum: int, frame: object) -> None:
            self._stopping.set()

        signal.signal(signal.SIGINT, request_stop)
        signal.signal(signal.SIGTERM, request_stop)
        for child in self.children:
            self._start(child)
        while not self._stopping.is_set():
            self.poll()
            self._stopping.wait(0.2)
        self.stop()
        return 0


def _signal_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m kumon.supervisor PROCFILE", file=sys.stderr)
        return 2
    return Supervisor(read_procfile(Path(args[0]))).run()


if __name__ == "__main__":
    sys.exit(main())
