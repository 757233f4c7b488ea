import pytest
import sqlalchemy as sa

from oktually_pipeline.tenants import TenantConfigError
from oktually_pipeline.warehouse.schema import ensure_tenant_schema, tenant_schema


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
