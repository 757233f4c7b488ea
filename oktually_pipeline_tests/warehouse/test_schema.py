import pytest
import sqlalchemy as sa

from oktually_pipeline.tenants import TenantConfigError
from oktually_pipeline.warehouse.schema import (
    BULK_CHANGE_ROWS,
    ensure_tenant_schema,
    refresh_statistics,
    tenant_schema,
)


def test_schema_per_tenant_holds_the_ddl(engine: sa.Engine) -> None:
    ensure_tenant_schema(engine, "acme")
    ensure_tenant_schema(engine, "acme")  # idempotent
    with engine.connect() as conn:
        tables = set(
            conn.execute(
                sa.text("SELECT table_name FROM information_schema.tables WHERE table_schema = 'okta_acme'")
            ).scalars()
        )
    assert {"log_events", "ingest_marks"} <= tables


@pytest.mark.parametrize("bad", ["Acme", "1acme", "acme;drop", 'a"b', "", "a" * 41, "acme-corp"])
def test_hostile_ids_never_become_schema_names(bad: str) -> None:
    with pytest.raises(TenantConfigError, match="not a valid tenant id"):
        tenant_schema(bad)


def _estimated_rows(engine: sa.Engine, table: str) -> float:
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT reltuples FROM pg_class WHERE oid = to_regclass(:t)"),
                            {"t": table}).scalar_one()


def test_a_bulk_load_refreshes_the_planner_statistics_and_a_small_one_does_not(engine: sa.Engine) -> None:
    ensure_tenant_schema(engine, "acme")
    rows = BULK_CHANGE_ROWS + 500
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO okta_acme.group_members (group_id, user_id) "
                             "SELECT 'g' || (n % 50), 'u' || n FROM generate_series(1, :n) AS n"), {"n": rows})
    assert _estimated_rows(engine, "okta_acme.group_members") < 0  # never analysed

    assert refresh_statistics(engine, "acme", "group_members", changed_rows=10) is False
    assert _estimated_rows(engine, "okta_acme.group_members") < 0
    assert refresh_statistics(engine, "acme", "group_members", changed_rows=rows) is True
    assert _estimated_rows(engine, "okta_acme.group_members") == rows
