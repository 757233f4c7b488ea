import pytest
import sqlalchemy as sa

from oktually_pipeline.tenants import TenantConfigError
from oktually_pipeline.warehouse.schema import (
    BULK_CHANGE_ROWS,
    ensure_tenant_schema,
    refresh_statistics,
    tenant_schema,
)
from oktually_pipeline.warehouse.sqlfiles import load_sql


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


def test_an_older_schema_gets_log_events_raw_as_json_with_its_rows(engine: sa.Engine) -> None:
    # As 010_log_events.sql created it before raw became json.
    old_ddl = load_sql("schema/010_log_events.sql").replace("raw                 json NOT NULL", "raw jsonb NOT NULL")
    assert "raw jsonb" in old_ddl
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE SCHEMA okta_old")
        conn.exec_driver_sql("SET LOCAL search_path TO okta_old")
        conn.exec_driver_sql(old_ddl)
        conn.exec_driver_sql("""INSERT INTO log_events (uuid, published, event_type, raw)
                                VALUES ('e1', now(), 't', '{"uuid": "e1", "n": [1]}')""")
    ensure_tenant_schema(engine, "old")
    ensure_tenant_schema(engine, "old")
    with engine.connect() as conn:
        kind = conn.execute(sa.text("SELECT data_type FROM information_schema.columns WHERE table_schema = 'okta_old' "
                                    "AND table_name = 'log_events' AND column_name = 'raw'")).scalar_one()
        raw = conn.execute(sa.text("SELECT raw FROM okta_old.log_events")).scalar_one()
    assert (kind, raw) == ("json", {"uuid": "e1", "n": [1]})


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


def test_statistics_can_be_refreshed_for_some_columns_only(engine: sa.Engine) -> None:
    ensure_tenant_schema(engine, "acme")
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO okta_acme.group_members (group_id, user_id) "
                             "SELECT 'g' || (n % 50), 'u' || n FROM generate_series(1, :n) AS n"),
                     {"n": BULK_CHANGE_ROWS})

    assert refresh_statistics(engine, "acme", "group_members", BULK_CHANGE_ROWS, columns=("group_id",)) is True
    with engine.connect() as conn:
        analysed = conn.execute(sa.text("SELECT attname, n_distinct FROM pg_stats "
                                        "WHERE schemaname = 'okta_acme' AND tablename = 'group_members'")).all()
    assert analysed == [("group_id", 50)]
    assert _estimated_rows(engine, "okta_acme.group_members") == BULK_CHANGE_ROWS
