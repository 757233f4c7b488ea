"""`oktually dev`: its environment, and stopping a process group that resists."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from oktually_pipeline.dev import (
    _group_alive,
    dagster_pg_url,
    dev_environment,
    stop_process_group,
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


def test_a_group_that_ignores_sigint_and_sigterm_is_killed():
    # A parent and a child, both deaf to SIGINT and SIGTERM, like a wedged `dagster dev`.
    deaf = ("import signal, subprocess, sys, time; "
            "[signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM)]; "
            "len(sys.argv) > 1 and subprocess.Popen([sys.executable, '-c', sys.argv[1]]); time.sleep(300)")
    proc = subprocess.Popen([sys.executable, "-c", deaf, deaf.replace("len(sys.argv) > 1", "False")],
                            start_new_session=True)
    time.sleep(1.0)
    started = time.monotonic()
    stop_process_group(proc, grace=1.0, term_grace=1.0)
    assert not _group_alive(proc.pid)
    assert proc.returncode is not None
    assert time.monotonic() - started < 30
