"""`oktually backfill` end to end: a sandbox org, Postgres, a Dagster instance, a few large runs."""

from __future__ import annotations

from datetime import timedelta

import dagster as dg
import sqlalchemy as sa

from oktually_pipeline.cli import main
from oktually_pipeline.partitions import today_utc
from oktually_pipeline.runs import TENANT_TAG
from oktually_pipeline_tests.dagster_helpers import write_tenants


def test_cli_backfill_reads_a_range_in_runs_of_a_few_days(
    sandbox_org, database_url, engine, tmp_path, monkeypatch, capsys
):
    write_tenants(tmp_path / "tenants.yaml", {"acme": sandbox_org}, monkeypatch)
    monkeypatch.setenv("OKTUALLY_DATABASE_URL", database_url)
    monkeypatch.setenv("OKTUALLY_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    monkeypatch.delenv("DAGSTER_PG_URL", raising=False)
    today = today_utc()
    start, end = today - timedelta(days=2), today - timedelta(days=1)

    assert main(["backfill", "--tenant", "acme", "--start", str(start), "--end", str(end),
                 "--days-per-run", "1"]) == 0
    out = capsys.readouterr().out
    assert out.count(": ok") == 2, out

    with engine.connect() as conn:
        days = set(conn.execute(sa.text(
            "SELECT DISTINCT published::date FROM okta_acme.log_events")).scalars())
    assert {start, end} <= days
    with dg.DagsterInstance.from_config(str(tmp_path / "dagster_home")) as instance:
        runs = instance.get_runs(filters=dg.RunsFilter(tags={"oktually/trigger": "cli-backfill"}))
        assert len(runs) == 2 and all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)
        assert {r.tags[TENANT_TAG] for r in runs} == {"acme"}
        materialized = set(instance.get_materialized_partitions(dg.AssetKey("okta_log_events")))
    assert {f"{start}|acme", f"{end}|acme"} <= materialized
