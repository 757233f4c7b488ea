"""The `oktually` command line: errors a user meets first, and a sync through Dagster."""

from pathlib import Path

import pytest

from oktually_pipeline.cli import main


def test_unknown_tenant_exits_2_with_a_clear_message(tmp_path: Path, monkeypatch, capsys) -> None:
    path = tmp_path / "tenants.yaml"
    path.write_text("tenants:\n  - id: acme\n    okta_url: https://acme.okta.com\n    token_env: T\n")
    monkeypatch.setenv("OKTUALLY_TENANTS", str(path))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dh"))
    assert main(["sync", "--tenant", "initech"]) == 2
    assert "unknown tenant 'initech' (the tenant file defines: acme)" in capsys.readouterr().err


def test_malformed_tenant_file_exits_2_naming_the_file(tmp_path: Path, monkeypatch, capsys) -> None:
    path = tmp_path / "tenants.yaml"
    path.write_text("tenants:\n  - id: 9lives\n")
    monkeypatch.setenv("OKTUALLY_TENANTS", str(path))
    assert main(["sync", "--tenant", "acme"]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and "tenants[0].id" in err


def test_backfill_rejects_an_inverted_range(tmp_path: Path, monkeypatch, capsys) -> None:
    path = tmp_path / "tenants.yaml"
    path.write_text("tenants:\n  - id: acme\n    okta_url: https://acme.okta.com\n    token_env: T\n")
    monkeypatch.setenv("OKTUALLY_TENANTS", str(path))
    assert main(["backfill", "--tenant", "acme", "--start", "2026-11-10", "--end", "2026-11-01"]) == 2
    assert "before its start" in capsys.readouterr().err


def test_bad_date_is_an_argument_error() -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["backfill", "--tenant", "acme", "--start", "yesterday", "--end", "2026-11-01"])
    assert exit_info.value.code == 2


def test_sync_runs_through_dagster_and_shows_in_the_instance(tmp_path: Path, monkeypatch, database_url, capsys) -> None:
    import dagster as dg
    import sqlalchemy as sa

    from oktually_pipeline.sandbox import Sandbox, SandboxConfig
    from oktually_pipeline.warehouse.engine import create_engine
    from oktually_pipeline_tests.dagster_helpers import write_tenants

    with Sandbox(SandboxConfig(seed=9, tenants=4, users=50, events=800, days=2)) as sb:
        write_tenants(tmp_path / "tenants.yaml", {"acme": sb}, monkeypatch)
        monkeypatch.setenv("OKTUALLY_DATABASE_URL", database_url)
        monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
        monkeypatch.delenv("DAGSTER_PG_URL", raising=False)  # the test's own SQLite instance
        assert main(["sync", "--tenant", "acme", "--days", "3"]) == 0
        expected_events = sb.events.count()
    out = capsys.readouterr().out
    assert "okta_log_events_job" in out and "FAILED" not in out
    instance = dg.DagsterInstance.get()
    runs = instance.get_runs()
    assert {r.job_name for r in runs} == {"okta_log_events_job", "tenant_refresh_job"}
    assert all(r.is_success for r in runs)
    assert all(r.tags.get("oktually/tenant") == "acme" for r in runs)
    engine = create_engine(database_url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM okta_acme.log_events")).scalar_one() == expected_events
    engine.dispose()


def test_sync_exits_1_and_names_the_failed_run_when_okta_refuses_the_token(tmp_path: Path, monkeypatch,
                                                                            database_url, capsys) -> None:
    from oktually_pipeline.sandbox import Sandbox, SandboxConfig
    from oktually_pipeline_tests.dagster_helpers import write_tenants

    with Sandbox(SandboxConfig(seed=9, tenants=2, users=20, events=100, days=1)) as sb:
        write_tenants(tmp_path / "tenants.yaml", {"acme": sb}, monkeypatch)
        # The file and the variable are well-formed; only Okta knows the token is wrong (401).
        monkeypatch.setenv("OKTUALLY_TEST_TOKEN_ACME", "00not-the-sandbox-token")
        monkeypatch.setenv("OKTUALLY_DATABASE_URL", database_url)
        monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
        monkeypatch.delenv("DAGSTER_PG_URL", raising=False)
        assert main(["sync", "--tenant", "acme"]) == 1
    out = capsys.readouterr().out
    assert "okta_log_events_job" in out and "FAILED" in out
    assert "00not-the-sandbox-token" not in out


def test_the_sandbox_command_serves_an_org_until_interrupted(tmp_path: Path) -> None:
    import os
    import re
    import signal
    import sys
    from datetime import datetime, timedelta, timezone

    import httpx

    from oktually_pipeline.processes import Processes, free_port, wait_until

    port = free_port()
    procs = Processes(tmp_path, cwd=tmp_path)
    proc = procs.start("sandbox", [sys.executable, "-m", "oktually_pipeline.cli", "sandbox", "--port", str(port),
                                   "--seed", "3", "--events", "300", "--users", "25", "--tenants", "2"],
                       os.environ)
    try:
        token = wait_until(lambda: re.search(r"SSWS token: (\S+)", procs.log("sandbox")), timeout=60,
                           what="the sandbox's banner", interval=0.2).group(1)
        headers = {"Authorization": f"SSWS {token}", "Accept": "application/json"}
        users = httpx.get(f"http://127.0.0.1:{port}/api/v1/users?limit=200", headers=headers, timeout=10)
        assert users.status_code == 200
        # --users counts every user of the org; the default list hides deprovisioned ones.
        assert 0 < len(users.json()) <= 25
        since = (datetime.now(timezone.utc) - timedelta(days=8)).strftime("%Y-%m-%dT%H:%M:%SZ")
        logs = httpx.get(f"http://127.0.0.1:{port}/api/v1/logs", params={"limit": 1000, "since": since},
                         headers=headers, timeout=10)
        assert logs.status_code == 200 and len(logs.json()) == 300
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0
    finally:
        procs.stop_all()
