"""`oktually demo`: two sandbox Okta orgs, the embedded Postgres, every asset through Dagster."""

from __future__ import annotations

import os
from pathlib import Path

import sqlalchemy as sa
import yaml

from oktually_pipeline import settings
from oktually_pipeline.runs import RunOutcome, prepare_dagster_home, sync_tenant
from oktually_pipeline.sandbox import Sandbox, SandboxConfig
from oktually_pipeline.warehouse.engine import create_engine
from oktually_pipeline.warehouse.schema import tenant_schema

# Two customers of Oktually, each with its own (sandbox) Okta org modelled the okta-dac way.
DEMO_ORGS = {"acme": (42, 1.0), "globex": (43, 0.6)}  # seed, size relative to the acme org
DEMO_DAYS = 7


def write_demo_tenants(path: Path, urls: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tenants = [
        {"id": tid, "okta_url": url, "token_env": f"OKTUALLY_DEMO_TOKEN_{tid.upper()}"}
        for tid, url in urls.items()
    ]
    path.write_text(
        "# Written by `oktually demo`: the demo's sandbox orgs (ports change from run to run).\n"
        + yaml.safe_dump({"tenants": tenants}, sort_keys=False)
    )


def row_counts(engine: sa.Engine, tenant_id: str) -> list[tuple[str, int]]:
    schema = tenant_schema(tenant_id)
    with engine.connect() as conn:
        tables = conn.execute(
            sa.text("SELECT table_name FROM information_schema.tables "
                    "WHERE table_schema = :s AND table_type = 'BASE TABLE' ORDER BY table_name"),
            {"s": schema},
        ).scalars().all()
        return [(t, conn.execute(sa.text(f'SELECT count(*) FROM "{schema}"."{t}"')).scalar_one()) for t in tables]


def print_summary(engine: sa.Engine, tenant_ids: list[str]) -> None:
    for tenant_id in tenant_ids:
        print(f"\n  schema {tenant_schema(tenant_id)}")
        for table, count in row_counts(engine, tenant_id):
            print(f"    {table:<28} {count:>9,}")
    print(f"\n  Parquet extracts: {settings.extracts_url()}")


def run_demo(*, events: int = 20_000, users: int = 400) -> int:
    home = settings.oktually_home()
    prepare_dagster_home()
    tenants_file = home / "demo" / "tenants.yaml"
    outcomes: list[RunOutcome] = []
    sandboxes = {
        tid: Sandbox(SandboxConfig(seed=seed, tenants=6, users=int(users * scale), events=int(events * scale),
                                   days=DEMO_DAYS, tokens=(f"demo-sandbox-token-{tid}",)))
        for tid, (seed, scale) in DEMO_ORGS.items()
    }
    try:
        for sb in sandboxes.values():
            sb.start()
        write_demo_tenants(tenants_file, {tid: sb.url for tid, sb in sandboxes.items()})
        os.environ[settings.TENANTS_ENV] = str(tenants_file)
        for tid, sb in sandboxes.items():
            os.environ[f"OKTUALLY_DEMO_TOKEN_{tid.upper()}"] = sb.token
        print(f"Sandbox orgs: {', '.join(f'{t} at {sb.url}' for t, sb in sandboxes.items())}")
        print(f"Warehouse: {settings.database_url() or 'embedded Postgres under ' + str(home / 'pgdata')}")
        print(f"Dagster instance: {os.environ['DAGSTER_HOME']}")
        for tid in sandboxes:
            print(f"\nSyncing {tid} ({DEMO_DAYS} days of System Log, all state, models, extract) ...")
            result = sync_tenant(tid, days=DEMO_DAYS)
            outcomes += result
            for o in result:
                print(f"  {o.job} [{o.partition}]: {'ok' if o.success else 'FAILED: ' + (o.error or '')}")
    finally:
        for sb in sandboxes.values():
            sb.stop()
    engine = create_engine()
    try:
        print("\nRow counts")
        print_summary(engine, list(sandboxes))
    finally:
        engine.dispose()
    failed = [o for o in outcomes if not o.success]
    print("\nDemo finished" + (f" with {len(failed)} failed run(s)." if failed else ": every run succeeded."))
    print("Browse the runs with `make dev` (the Dagster UI at http://127.0.0.1:3000).")
    return 1 if failed else 0
