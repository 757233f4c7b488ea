"""SQLAlchemy 2 engines on psycopg 3 for the warehouse."""

from __future__ import annotations

import sqlalchemy as sa

from oktually_pipeline import settings


def sqlalchemy_url(url: str) -> str:
    """Accept a plain libpq-style Postgres URL and select the psycopg 3 driver."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    raise ValueError(
        f"{settings.DATABASE_URL_ENV} must be a postgresql:// URL (got a URL with scheme "
        f"{url.split(':', 1)[0]!r})"
    )


def resolve_database_url(url: str | None = None) -> str:
    """The given URL, else $OKTUALLY_DATABASE_URL, else the embedded Postgres."""
    url = url or settings.database_url()
    if url:
        return url
    from oktually_pipeline.warehouse.embedded import embedded_database_url

    return embedded_database_url()


def create_engine(url: str | None = None, **kwargs) -> sa.Engine:
    kwargs.setdefault("pool_pre_ping", True)
    # Secrets in the URL stay out of reprs and logs: SQLAlchemy masks the password itself.
    return sa.create_engine(sqlalchemy_url(resolve_database_url(url)), **kwargs)
