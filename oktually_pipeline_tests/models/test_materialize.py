"""Materialising a model: build beside, swap in one transaction, keep the old table on failure."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from oktually_pipeline.models.materialize import materialize_model
from oktually_pipeline.models.specs import BY_NAME, MODELS, in_build_order
from oktually_pipeline.warehouse.roles import loader_role, reader_role
from oktually_pipeline.warehouse.sqlfiles import SQL_DIR, load_sql
from oktually_pipeline_tests.models.conftest import TENANT


def test_every_sql_file_is_a_model_and_a_single_select() -> None:
    files = {p.stem for p in (SQL_DIR / "models").glob("*.sql")}
    assert files == set(BY_NAME)
    for m in MODELS:
        body = re.sub(r"--[^\n]*", "", load_sql(m.sql_name))
        assert body.lstrip().upper().startswith(("WITH", "SELECT")), m.name
        assert ";" not in body, m.name
        assert m.summary(), m.name
        assert set(m.models) <= set(BY_NAME), m.name
        assert m.params <= {"as_of", "dormant_days", "admin_changes_days"}, m.name
    assert BY_NAME["dormant_users"].params == {"as_of", "dormant_days"}


def test_build_order_puts_readers_after_what_they_read() -> None:
    order = [m.name for m in in_build_order()]
    for m in MODELS:
        assert all(order.index(dep) < order.index(m.name) for dep in m.models)


def test_rebuild_swaps_whole_table_with_named_indexes(scratch_engine, tiny) -> None:
    assert len(tiny("SELECT * FROM tenants")) == 4
    tiny("UPDATE idps SET deleted_at = now() WHERE id = '0oaGibbon'")
    assert materialize_model(scratch_engine, TENANT, BY_NAME["tenants"]) == 3
    assert len(tiny("SELECT * FROM tenants")) == 3
    indexes = {r.indexname for r in tiny("SELECT indexname FROM pg_indexes WHERE tablename = 'tenants' "
                                          "AND schemaname = 'okta_tiny'")}
    assert indexes == {"tenants__key", "tenants__admins_group_id", "tenants__users_group_id"}
    leftovers = tiny("SELECT relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                      "WHERE n.nspname = 'okta_tiny' AND relname LIKE '%\\_\\_new%'")
    assert leftovers == []


def test_rebuilt_models_belong_to_the_loader_and_are_readable_by_the_reader(scratch_engine, tiny) -> None:
    materialize_model(scratch_engine, TENANT, BY_NAME["tenants"])
    with scratch_engine.connect() as conn:
        owner, readable = conn.execute(sa.text(
            "SELECT tableowner, has_table_privilege(:reader, 'okta_tiny.tenants', 'SELECT') FROM pg_tables "
            "WHERE schemaname = 'okta_tiny' AND tablename = 'tenants'"), {"reader": reader_role(TENANT)}).one()
    assert (owner, readable) == (loader_role(TENANT), True)


def test_failed_build_keeps_the_previous_table(scratch_engine, tiny) -> None:
    tiny("DROP TABLE idps")
    with pytest.raises(sa.exc.ProgrammingError):
        materialize_model(scratch_engine, TENANT, BY_NAME["tenants"])
    assert len(tiny("SELECT * FROM tenants")) == 4
    assert tiny("SELECT to_regclass('okta_tiny.tenants__new') AS rel")[0].rel is None


def test_models_build_on_an_empty_schema(scratch_engine) -> None:
    from oktually_pipeline.warehouse.schema import ensure_tenant_schema

    ensure_tenant_schema(scratch_engine, "empty")
    for m in in_build_order():
        assert materialize_model(scratch_engine, "empty", m) == 0
