"""Publishing to a local folder: read-back, changed days only, interrupted publishes, snapshots."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.dataset as ds
import pytest
import sqlalchemy as sa

from oktually_pipeline import settings
from oktually_pipeline.extracts import LocalStore, publish_tenant, store_from_url
from oktually_pipeline.extracts import snapshot as snap
from oktually_pipeline.extracts.manifest import read_manifest
from oktually_pipeline.extracts.reader import open_table
from oktually_pipeline_tests.extracts.conftest import DAY0, add_events
from oktually_pipeline_tests.extracts.helpers import assert_matches_postgres, pg_rows

EXPECTED_TABLES = {"log_events", "users", "groups", "group_members", "apps", "app_users", "app_groups",
                   "idps", "policies", "policy_rules", "group_roles", "group_role_targets", "group_role_app_targets",
                   "role_assigned_users", "user_roles", "user_role_targets", "user_role_app_targets",
                   "client_roles", "client_role_targets", "client_role_app_targets",
                   "resource_sets", "resource_set_resources", "custom_roles", "custom_role_permissions"}


def test_publish_and_read_back_row_for_row(seeded: sa.Engine, tmp_path: Path) -> None:
    result = publish_tenant(seeded, "acme", LocalStore(tmp_path))

    manifest = read_manifest(LocalStore(tmp_path), "acme")
    assert set(manifest.tables) == EXPECTED_TABLES  # bookkeeping tables stay out
    assert manifest.snapshot_time.endswith("+00:00")
    assert manifest.log_events_mark == "2026-03-03T03:37:00.123456+00:00"  # last of 32 events on day 3
    assert manifest.tables["log_events"].rows == 30 + 31 + 32
    assert sorted(manifest.tables["log_events"].days) == ["2026-03-01", "2026-03-02", "2026-03-03"]
    assert result.rows_written == sum(t.rows for t in manifest.tables.values())
    assert result.bytes_written == sum(f.bytes for t in manifest.tables.values() for f in t.files)
    assert len(result.files_written) == 3 + len(EXPECTED_TABLES) - 1  # empty tables get one file

    # Plain pyarrow with hive partitioning, as the issue promises, and through the manifest.
    events = ds.dataset(tmp_path / "tenant=acme" / "log_events", partitioning="hive").to_table()
    assert "date" in events.column_names
    assert_matches_postgres(seeded, events, "log_events")
    for table in ("users", "groups", "group_members", "policies", "log_events"):
        assert_matches_postgres(seeded, open_table(str(tmp_path), "acme", table).to_table(), table)

    dated = open_table(str(tmp_path), "acme", "log_events").to_table().to_pylist()
    assert all(r["date"] == r["published"].date() for r in dated)


def test_schema_is_explicit_and_stable_even_for_empty_tables(seeded: sa.Engine, tmp_path: Path) -> None:
    publish_tenant(seeded, "acme", LocalStore(tmp_path))
    users = open_table(str(tmp_path), "acme", "users").schema
    assert users.field("id").type == pa.string()
    assert users.field("created").type == pa.timestamp("us", tz="UTC")
    assert users.field("raw").type == pa.string()
    assert users.field("raw").metadata[b"pg_type"] == b"jsonb"
    apps = open_table(str(tmp_path), "acme", "apps")
    assert apps.count_rows() == 0
    assert apps.schema.names[:3] == ["id", "name", "label"]  # table order, from an empty table

    with seeded.begin() as conn:
        conn.exec_driver_sql("INSERT INTO okta_acme.apps (id, name, raw) VALUES ('0oa1', 'x', '[1, 2]')")
    publish_tenant(seeded, "acme", LocalStore(tmp_path))
    assert open_table(str(tmp_path), "acme", "apps").schema == apps.schema


def test_second_run_rewrites_only_changed_days(seeded: sa.Engine, tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    first = publish_tenant(seeded, "acme", store)
    before = read_manifest(store, "acme").tables["log_events"]

    add_events(seeded, DAY0 + timedelta(days=3), 4, tag="new")  # a new day
    add_events(seeded, DAY0 + timedelta(days=1), 1, tag="late", start_minute=1)  # a late event, older day
    second = publish_tenant(seeded, "acme", store)

    events = second.tables["log_events"]
    assert events.days_written == ["2026-03-02", "2026-03-04"]
    assert events.days_kept == ["2026-03-01", "2026-03-03"]
    written_event_keys = sorted(k for k in second.files_written if "/log_events/" in k)
    assert [k.split("/")[2] for k in written_event_keys] == ["date=2026-03-02", "date=2026-03-04"]
    assert events.rows_written == 31 + 1 + 4

    after = read_manifest(store, "acme").tables["log_events"]
    kept = {f.key for f in before.files if f.date in ("2026-03-01", "2026-03-03")}
    assert kept <= {f.key for f in after.files}  # carried over, same files
    replaced = {f"tenant=acme/{f.key}" for f in before.files if f.date == "2026-03-02"}
    assert replaced <= set(second.files_deleted)
    assert set(first.files_written) - {f"tenant=acme/{f.key}" for f in before.files if f.key in kept} \
        == set(second.files_deleted)
    assert_matches_postgres(seeded, open_table(str(tmp_path), "acme", "log_events").to_table(), "log_events")
    # Nothing but the manifest's files is left behind.
    on_disk = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.parquet")}
    assert on_disk == read_manifest(store, "acme").file_keys()

    third = publish_tenant(seeded, "acme", store, tables=["log_events"])
    assert third.tables["log_events"].days_written == [] and third.rows_written == 0
    assert set(read_manifest(store, "acme").tables) == {"log_events"}


class FailingStore(LocalStore):
    """Raises after `allowed` files, as a writer dying mid-publish would (before the manifest)."""

    def __init__(self, root: Path, allowed: int, deletes: bool = True) -> None:
        super().__init__(root)
        self.allowed, self.deletes = allowed, deletes

    def put_file(self, key: str, path: Path) -> None:
        if self.allowed == 0:
            raise OSError("disk full (simulated)")
        self.allowed -= 1
        super().put_file(key, path)

    def delete(self, keys) -> None:
        if not self.deletes:
            raise OSError("gone away (simulated crash)")
        super().delete(keys)


@pytest.mark.parametrize("cleans_up", [True, False], ids=["failed", "crashed"])
def test_interrupted_publish_leaves_the_previous_extract_readable(
    seeded: sa.Engine, tmp_path: Path, cleans_up: bool
) -> None:
    publish_tenant(seeded, "acme", LocalStore(tmp_path))
    live = (tmp_path / "tenant=acme" / "_manifest.json").read_bytes()
    add_events(seeded, DAY0 + timedelta(days=3), 5, tag="new")

    with pytest.raises(OSError, match="simulated"):
        publish_tenant(seeded, "acme", FailingStore(tmp_path, allowed=4, deletes=cleans_up))

    assert (tmp_path / "tenant=acme" / "_manifest.json").read_bytes() == live
    old = sorted(r["uuid"] for r in pg_rows(seeded, "log_events") if not r["uuid"].startswith("new-"))
    reread = open_table(str(tmp_path), "acme", "log_events").to_table()
    assert len(old) == 93 and sorted(reread.column("uuid").to_pylist()) == old
    leftovers = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.parquet")} \
        - read_manifest(LocalStore(tmp_path), "acme").file_keys()
    assert len(leftovers) == (0 if cleans_up else 4)

    # The next publish succeeds and removes whatever the crashed one left.
    publish_tenant(seeded, "acme", LocalStore(tmp_path))
    on_disk = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.parquet")}
    assert on_disk == read_manifest(LocalStore(tmp_path), "acme").file_keys()
    assert open_table(str(tmp_path), "acme", "log_events").count_rows() == 98


def test_local_folder_is_the_default(seeded: sa.Engine, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(settings.HOME_ENV, str(tmp_path / "home"))
    monkeypatch.delenv(settings.EXTRACTS_URL_ENV, raising=False)
    store = store_from_url(settings.extracts_url())
    assert isinstance(store, LocalStore) and store.root == tmp_path / "home" / "extracts"
    publish_tenant(seeded, "acme", store)
    root = tmp_path / "home" / "extracts"
    assert (root / "tenant=acme" / "_manifest.json").is_file()
    assert_matches_postgres(seeded, open_table(str(root), "acme", "users").to_table(), "users")


def test_all_tables_come_from_one_snapshot(seeded: sa.Engine, tmp_path: Path) -> None:
    """Rows committed while a publish runs are not in it, in any table; the next publish has them."""

    class ConcurrentWriter(LocalStore):
        done = False

        def put_file(self, key: str, path: Path) -> None:
            super().put_file(key, path)
            if not self.done:
                self.done = True
                add_events(seeded, DAY0 + timedelta(days=2), 3, tag="during", start_minute=300)
                with seeded.begin() as conn:
                    conn.exec_driver_sql("INSERT INTO okta_acme.users (id, raw) VALUES ('00unew', '{}')")

    publish_tenant(seeded, "acme", ConcurrentWriter(tmp_path))
    manifest = read_manifest(LocalStore(tmp_path), "acme")
    assert manifest.tables["log_events"].rows == 93
    assert manifest.tables["users"].rows == 40
    assert manifest.log_events_mark == "2026-03-03T03:37:00.123456+00:00"  # the mark moved, not here

    again = publish_tenant(seeded, "acme", LocalStore(tmp_path))
    assert again.tables["log_events"].days_written == ["2026-03-03"]
    assert read_manifest(LocalStore(tmp_path), "acme").tables["users"].rows == 41


def test_snapshot_is_repeatable_read_and_read_only(seeded: sa.Engine) -> None:
    with snap.snapshot(seeded) as conn:
        assert conn.exec_driver_sql("SHOW transaction_isolation").scalar_one() == "repeatable read"
        assert conn.exec_driver_sql("SHOW transaction_read_only").scalar_one() == "on"
        assert conn.exec_driver_sql("SHOW TimeZone").scalar_one() == "UTC"


def test_one_publisher_per_tenant(seeded: sa.Engine) -> None:
    with snap.tenant_publish_lock(seeded, "acme"):
        with pytest.raises(snap.PublishInProgressError, match="acme"):
            with snap.tenant_publish_lock(seeded, "acme", wait_seconds=0):
                pass
        with snap.tenant_publish_lock(seeded, "globex", wait_seconds=0):
            pass  # other tenants are not blocked
    with snap.tenant_publish_lock(seeded, "acme", wait_seconds=0):
        pass  # released


def test_unknown_tenant_or_table_is_refused(seeded: sa.Engine, tmp_path: Path) -> None:
    with pytest.raises(LookupError, match="no warehouse schema"):
        publish_tenant(seeded, "globex", LocalStore(tmp_path))
    with pytest.raises(LookupError, match="nope"):
        publish_tenant(seeded, "acme", LocalStore(tmp_path), tables=["users", "nope"])
    assert not any(tmp_path.rglob("*.parquet"))


def test_manifest_json_is_plain_and_complete(seeded: sa.Engine, tmp_path: Path) -> None:
    publish_tenant(seeded, "acme", LocalStore(tmp_path))
    raw = orjson.loads((tmp_path / "tenant=acme" / "_manifest.json").read_bytes())
    assert raw["format_version"] == 1 and raw["tenant"] == "acme"
    users = raw["tables"]["users"]
    assert users["rows"] == 40 and users["files"][0]["rows"] == 40
    assert {"name": "created", "type": "timestamp[us, tz=UTC]", "nullable": True,
            "pg_type": "timestamp with time zone"} in users["schema"]
    day = raw["tables"]["log_events"]["files"][0]
    assert day["key"].startswith("log_events/date=2026-03-01/part-") and day["date"] == "2026-03-01"
