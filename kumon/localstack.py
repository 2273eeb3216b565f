"""Bring up the local services the embedded defaults need: Redis and the embedded PostgreSQL.

`python -m kumon.localstack` is what `make run` and `make test` call before Django starts.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import redis

HELP_NO_REDIS = """\
Redis is not reachable at {url} and no `redis-server` binary was found to start one.
Get one of:
  - Debian/Ubuntu:  sudo apt-get install redis-server
  - macOS:          brew install redis
  - or point REDIS_URL at a running Redis (e.g. REDIS_URL=redis://host:6379/0).
"""


def _ping(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5).ping())
    except redis.RedisError:
        return False


def ensure_redis(url: str) -> None:
    if _ping(url):
        return
    parsed = urlparse(url)
    binary = shutil.which("redis-server")
    if parsed.hostname not in {"127.0.0.1", "localhost", "::1"} or binary is None:
        sys.exit(HELP_NO_REDIS.format(url=url))
    port = str(parsed.port or 6379)
    print(f"starting redis-server on 127.0.0.1:{port}", flush=True)
    subprocess.run(
        [
            binary,
            "--daemonize",
            "yes",
            "--bind",
            "127.0.0.1",
            "--port",
            port,
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        check=True,
    )
    deadline = time.monotonic() + 10
    while not _ping(url):
        if time.monotonic() > deadline:
            sys.exit(f"redis-server was started but {url} does not answer")
        time.sleep(0.1)


def main() -> None:

    import environ  # noqa: PLC0415 -- the environment is read after .env is written

    environ.Env.read_env(Path(__file__).resolve().parent.parent / ".env")  # env vars still win
    ensure_redis(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    if not os.environ.get("DATABASE_URL"):
        from kumon.embedded_db import database_url  # noqa: PLC0415 -- imported after the environment is set

        print("embedded PostgreSQL ready:", database_url().split("?")[0], flush=True)


if __name__ == "__main__":
    main()
