"""Environment variable names and their defaults, read when asked for, never at import."""

from __future__ import annotations

import os
from pathlib import Path

TENANTS_ENV = "OKTUALLY_TENANTS"
DATABASE_URL_ENV = "OKTUALLY_DATABASE_URL"
HOME_ENV = "OKTUALLY_HOME"
EXTRACTS_URL_ENV = "OKTUALLY_EXTRACTS_URL"

USER_AGENT = "oktually-pipeline/0.1 (+read-only Okta ingestion)"


def oktually_home() -> Path:
    """Local state folder: embedded Postgres, default extracts, demo files."""
    return Path(os.environ.get(HOME_ENV) or ".oktually").resolve()


def tenants_path() -> Path:
    return Path(os.environ.get(TENANTS_ENV) or "tenants.yaml")


def database_url() -> str | None:
    """The warehouse URL, or None for the embedded Postgres."""
    return os.environ.get(DATABASE_URL_ENV) or None


def extracts_url() -> str:
    return os.environ.get(EXTRACTS_URL_ENV) or str(oktually_home() / "extracts")
