"""`oktually dev`: the environment it gives `dagster dev`."""

from __future__ import annotations

import pytest

from oktually_pipeline.dev import (
    dagster_pg_url,
    dev_environment,
)


@pytest.mark.parametrize(("url", "expected"), [
    ("postgresql://u:p@h:5432/d", "postgresql+psycopg2://u:p@h:5432/d"),
    ("postgres://u@h/d?sslmode=require", "postgresql+psycopg2://u@h/d?sslmode=require"),
    ("postgresql+psycopg://u@h/d", "postgresql+psycopg2://u@h/d"),
    ("postgresql+psycopg2://u@h/d", "postgresql+psycopg2://u@h/d"),
])
def test_dagster_pg_url_names_psycopg2(url, expected):
    assert dagster_pg_url(url) == expected


def test_dev_environment(tmp_path):
    env = dev_environment({"PATH": "/bin", "DAGSTER_PG_URL": "postgresql://h/d"}, tmp_path / "t.yaml",
                          {"acme": "tok-a"})
    assert env["OKTUALLY_TENANTS"] == str(tmp_path / "t.yaml")
    assert env["OKTUALLY_DEMO_TOKEN_ACME"] == "tok-a"
    assert env["DAGSTER_PG_URL"] == "postgresql+psycopg2://h/d"
    assert "DAGSTER_PG_URL" not in dev_environment({}, tmp_path / "t.yaml", {})
