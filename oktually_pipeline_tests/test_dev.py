"""`oktually dev` and the test and bench deployments: the environments they give Dagster."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from oktually_pipeline.dev import (
    dagster_pg_url,
    deployment_environment,
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


def test_a_deployment_keeps_all_its_state_under_its_folder(tmp_path):
    env = deployment_environment({"PATH": "/bin", "OKTUALLY_HOME": "/elsewhere"}, tmp_path,
                                 dagster_db="postgresql://h/dagster", warehouse_db="postgresql://h/wh",
                                 tenants_file=tmp_path / "tenants.yaml")
    assert env["DAGSTER_PG_URL"] == "postgresql+psycopg2://h/dagster"
    assert env["OKTUALLY_DATABASE_URL"] == "postgresql://h/wh"
    assert env["OKTUALLY_TENANTS"] == str(tmp_path / "tenants.yaml")
    for name in ("DAGSTER_HOME", "OKTUALLY_HOME", "OKTUALLY_EXTRACTS_URL"):
        assert Path(env[name]).parent == tmp_path, name
    # `dagster api` and friends are found in this venv first.
    assert env["PATH"].split(os.pathsep)[0] == str(Path(sys.executable).parent)
