"""A deployment described by one environment: its state in one folder, its instance opened here
without leaving this process pointed at it."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from oktually_pipeline.deployment import deployment_environment, instance_environment


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


def test_the_instance_environment_is_undone_afterwards(tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", "/before")
    monkeypatch.delenv("DAGSTER_PG_URL", raising=False)
    env = {"DAGSTER_HOME": str(tmp_path / "home"), "DAGSTER_PG_URL": "postgresql+psycopg2://h/d"}
    with instance_environment(env):
        assert os.environ["DAGSTER_HOME"] == env["DAGSTER_HOME"]
        assert os.environ["DAGSTER_PG_URL"] == env["DAGSTER_PG_URL"]
    assert os.environ["DAGSTER_HOME"] == "/before"
    assert "DAGSTER_PG_URL" not in os.environ
