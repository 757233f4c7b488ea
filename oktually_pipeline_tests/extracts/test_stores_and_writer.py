"""Stores (keys, atomic local writes, URLs) and the batched Parquet writer."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from oktually_pipeline.extracts import LocalStore, S3Store, store_from_url
from oktually_pipeline.extracts.manifest import ManifestError, read_manifest
from oktually_pipeline.extracts.stores import UnsafeKeyError, check_key
from oktually_pipeline.extracts.writer import WrittenFile, write_query
from oktually_pipeline.tenants import TenantConfigError


@pytest.mark.parametrize("key", ["../x", "/abs", "a//b", "a/./b", "a\\b", ".hidden/x", "a/b/", ""])
def test_unsafe_keys_are_refused(key: str, tmp_path: Path) -> None:
    with pytest.raises(UnsafeKeyError):
        check_key(key)
    with pytest.raises(UnsafeKeyError):
        LocalStore(tmp_path).put_bytes(key, b"x")


def test_local_store_round_trip(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "root")
    store.put_bytes("tenant=acme/_manifest.json", b"{}")
    src = tmp_path / "f.parquet"
    src.write_bytes(b"PAR1")
    store.put_file("tenant=acme/users/part-1.parquet", src)
    (tmp_path / "root" / "tenant=acme" / "users" / ".part-2.parquet.abc.tmp").write_bytes(b"partial")
    assert store.list("tenant=acme") == ["tenant=acme/_manifest.json", "tenant=acme/users/part-1.parquet"]
    assert store.get_bytes("tenant=acme/users/part-1.parquet") == b"PAR1"
    assert store.get_bytes("tenant=acme/none") is None
    store.delete(["tenant=acme/users/part-1.parquet", "tenant=acme/users/gone.parquet"])
    assert store.list("") == ["tenant=acme/_manifest.json"]
    assert store.list("tenant=globex") == []


def test_store_from_url() -> None:
    assert isinstance(store_from_url("/srv/extracts"), LocalStore)
    assert store_from_url("file:///srv/x").root == Path("/srv/x")
    made = []
    store = store_from_url("s3://my-bucket/a/b/", lambda: made.append(1) or object())
    assert isinstance(store, S3Store) and store.bucket == "my-bucket" and store.prefix == "a/b/"
    assert store.location("tenant=acme/_manifest.json") == "s3://my-bucket/a/b/tenant=acme/_manifest.json"
    assert made == [1]
    assert store_from_url("s3://my-bucket", lambda: object()).prefix == ""
    for bad in ("s3://AKIA:secret@bucket/x", "s3://bucket/x?region=eu", "gs://bucket/x", "s3://B_/x"):
        with pytest.raises(ValueError):
            store_from_url(bad, lambda: object())
    with pytest.raises(ValueError, match="client factory"):
        store_from_url("s3://bucket/x")
    with pytest.raises(ValueError, match="kms_key_id"):
        S3Store(object(), "bucket", kms_key_id="k")


def test_manifest_paths_validate_the_tenant(tmp_path: Path) -> None:
    with pytest.raises(TenantConfigError):
        read_manifest(LocalStore(tmp_path), "../etc")
    LocalStore(tmp_path).put_bytes("tenant=acme/_manifest.json", b'{"format_version": 99}')
    with pytest.raises(ManifestError, match="99"):
        read_manifest(LocalStore(tmp_path), "acme")


def test_writer_streams_batches_into_row_groups_and_files(engine: sa.Engine, tmp_path: Path) -> None:
    schema = pa.schema([("n", pa.int64()), ("s", pa.string())])
    seen: list[tuple[WrittenFile, list[str], pa.Table, int]] = []

    with engine.connect() as conn, conn.begin():
        def keep(f: WrittenFile) -> None:
            # While the files are written, the rows come from a server-side cursor.
            cursors = list(conn.exec_driver_sql("SELECT name FROM pg_cursors").scalars())
            meta = pq.ParquetFile(f.path).metadata
            seen.append((f, cursors, pq.read_table(f.path), meta.num_row_groups))

        files = write_query(conn, "SELECT g::bigint, 'r' || g FROM generate_series(1, %(n)s) g ORDER BY g",
                            {"n": 120}, schema, keep, batch_rows=7, row_group_rows=20, max_rows_per_file=50)
    assert [f.rows for f in files] == [50, 50, 20]
    assert all(not f.path.exists() for f in files)  # handed over, then removed
    # Files that fill up mid-query are handed over while the server-side cursor is still open.
    assert [c[0][:len("oktually_extract_")] for _, c, _, _ in seen[:2]] == ["oktually_extract_"] * 2
    # Row groups of 20 rows (the file limit cuts the third), not one per fetched batch of 7.
    assert [groups for *_, groups in seen] == [3, 3, 1]
    assert pa.concat_tables(t for _, _, t, _ in seen).column("n").to_pylist() == list(range(1, 121))
    assert seen[0][2].schema == schema


def test_writer_empty_result(engine: sa.Engine) -> None:
    schema = pa.schema([("n", pa.int64())])
    with engine.connect() as conn, conn.begin():
        got = []
        assert write_query(conn, "SELECT 1::bigint WHERE false", None, schema, got.append) == []
        files = write_query(conn, "SELECT 1::bigint WHERE false", None, schema,
                            lambda f: got.append(pq.read_table(f.path)), keep_empty=True)
    assert [f.rows for f in files] == [0] and got[0].schema == schema
