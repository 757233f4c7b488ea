"""Loads SQL from the top-level sql/ folder by relative name."""

from __future__ import annotations

from functools import cache
from pathlib import Path

SQL_DIR = Path(__file__).resolve().parents[2] / "sql"


@cache
def load_sql(name: str) -> str:
    path = (SQL_DIR / name).resolve()
    if SQL_DIR not in path.parents:
        raise ValueError(f"SQL file {name!r} is outside {SQL_DIR}")
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileNotFoundError(f"SQL file {name!r} not found under {SQL_DIR}") from None


def sql_files(folder: str) -> list[str]:
    """Relative names of the .sql files in `folder`, in name order."""
    return [f"{folder}/{p.name}" for p in sorted((SQL_DIR / folder).glob("*.sql"))]
