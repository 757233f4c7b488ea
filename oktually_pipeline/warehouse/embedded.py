"""An embedded Postgres (pgserver) for running without OKTUALLY_DATABASE_URL: same SQL, same code."""

from __future__ import annotations

from pathlib import Path

from oktually_pipeline import settings

EMBEDDED_DB = "oktually"


def embedded_database_url(data_dir: Path | None = None) -> str:
    """Start (or join) the embedded server under `data_dir` and return a URL to its database."""
    import pgserver  # imported here: only the embedded mode needs it

    data_dir = data_dir or settings.oktually_home() / "pgdata"
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(data_dir, cleanup_mode="stop")
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{EMBEDDED_DB}';")
    if "1 row" not in exists:
        server.psql(f"CREATE DATABASE {EMBEDDED_DB};")
    # pgserver listens on a unix socket in the data folder; libpq takes it as ?host=<dir>.
    return f"postgresql://postgres:@/{EMBEDDED_DB}?host={data_dir}"
