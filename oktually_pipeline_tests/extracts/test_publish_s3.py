"""Publishing to S3 (moto's standalone server): read-back, changed days, SSE, interruptions, secrets."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
from dagster_aws.s3 import S3Resource

from oktually_pipeline.extracts import S3Store, publish_tenant, store_from_url
from oktually_pipeline.extracts.manifest import read_manifest
from oktually_pipeline.extracts.reader import open_table
from oktually_pipeline_tests.extracts.conftest import DAY0, REGION, S3Env, add_events
from oktually_pipeline_tests.extracts.helpers import (
    assert_matches_postgres,
    read_from_store,
)


def all_keys(s3: S3Env) -> list[str]:
    pages = s3.client.get_paginator("list_objects_v2").paginate(Bucket=s3.bucket)
    return sorted(o["Key"] for page in pages for o in page.get("Contents", ()))


def s3_store(s3: S3Env, **kwargs) -> S3Store:
    # The client the asset uses: dagster-aws's resource, which honours AWS_ENDPOINT_URL via boto3.
    client_factory = S3Resource(region_name=REGION).get_client
    store = store_from_url(f"s3://{s3.bucket}/okta/extracts", client_factory, **kwargs)
    assert isinstance(store, S3Store)
    return store


def test_publish_to_s3_and_read_back(seeded: sa.Engine, s3: S3Env) -> None:
    store = s3_store(s3)
    result = publish_tenant(seeded, "acme", store)
    assert result.location == f"s3://{s3.bucket}/okta/extracts/tenant=acme/_manifest.json"

    keys = all_keys(s3)
    assert "okta/extracts/tenant=acme/_manifest.json" in keys
    assert {k.split("/")[4] for k in keys if "/log_events/" in k} == {
        "date=2026-03-01", "date=2026-03-02", "date=2026-03-03"}
    for table in ("users", "group_members", "log_events"):
        assert_matches_postgres(seeded, read_from_store(store, "acme", table), table)

    # A reader with pyarrow's own S3 filesystem follows the same manifest.
    host = s3.endpoint.removeprefix("http://")
    fs = pafs.S3FileSystem(access_key="testing", secret_key="testing", region=REGION,
                           endpoint_override=host, scheme="http")
    events = open_table(f"{s3.bucket}/okta/extracts", "acme", "log_events", filesystem=fs).to_table()
    assert_matches_postgres(seeded, events, "log_events")
    assert events.schema.field("date").type == pa.date32()


def test_second_run_writes_only_changed_days(seeded: sa.Engine, s3: S3Env) -> None:
    store = s3_store(s3)
    publish_tenant(seeded, "acme", store)
    before = set(all_keys(s3))

    add_events(seeded, DAY0 + timedelta(days=2), 2, tag="late", start_minute=600)
    result = publish_tenant(seeded, "acme", store, tables=["log_events", "users"])

    written = [k for k in result.files_written]
    assert [k.split("/")[1:3] for k in written if "/log_events/" in k] == [["log_events", "date=2026-03-03"]]
    assert [k.split("/")[1] for k in written if "/log_events/" not in k] == ["users"]
    after = set(all_keys(s3))
    kept = {k for k in before if "date=2026-03-01" in k or "date=2026-03-02" in k}
    assert kept <= after  # unchanged days untouched
    assert {f"okta/extracts/{k}" for k in written} <= after
    # Everything else of the first extract (other tables, the replaced day) is gone.
    assert after == kept | {f"okta/extracts/{k}" for k in written} | {"okta/extracts/tenant=acme/_manifest.json"}
    assert_matches_postgres(seeded, read_from_store(store, "acme", "log_events"), "log_events")


def test_every_object_requests_server_side_encryption(seeded: sa.Engine, s3: S3Env) -> None:
    publish_tenant(seeded, "acme", s3_store(s3))
    keys = all_keys(s3)
    assert len(keys) > 10
    for key in keys:
        assert s3.client.head_object(Bucket=s3.bucket, Key=key)["ServerSideEncryption"] == "AES256", key


def test_kms_encryption_when_configured(seeded: sa.Engine, s3: S3Env) -> None:
    key_id = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    publish_tenant(seeded, "acme", s3_store(s3, sse="aws:kms", kms_key_id=key_id), tables=["users", "log_events"])
    for key in all_keys(s3):
        head = s3.client.head_object(Bucket=s3.bucket, Key=key)
        assert head["ServerSideEncryption"] == "aws:kms", key
        assert head["SSEKMSKeyId"] == key_id, key


def test_interrupted_s3_publish_keeps_the_previous_extract(seeded: sa.Engine, s3: S3Env) -> None:
    store = s3_store(s3)
    publish_tenant(seeded, "acme", store)
    manifest = read_manifest(store, "acme")
    add_events(seeded, DAY0 + timedelta(days=5), 3, tag="new")

    class Interrupted(S3Store):
        calls = 0

        def put_file(self, key: str, path: Path) -> None:
            self.calls += 1
            if self.calls > 3:
                raise ConnectionError("network down (simulated)")
            super().put_file(key, path)

    broken = Interrupted(store.client, s3.bucket, "okta/extracts")
    with pytest.raises(ConnectionError):
        publish_tenant(seeded, "acme", broken)
    assert read_manifest(store, "acme") == manifest
    assert set(all_keys(s3)) == {f"okta/extracts/{k}" for k in manifest.file_keys()} | {
        "okta/extracts/tenant=acme/_manifest.json"}  # the failed publish removed its own files
    assert read_from_store(store, "acme", "log_events").num_rows == 93


def test_no_credential_is_ever_written(seeded: sa.Engine, s3: S3Env, tmp_path: Path, monkeypatch) -> None:
    secrets = {
        "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "AWS_SESSION_TOKEN": "FwoGZXIvYXdzEXAMPLESESSIONTOKEN0123456789",
        "OKTA_API_TOKEN_ACME": "00aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789abcd",
        "OKTUALLY_DATABASE_URL": "postgresql://pipeline:Sup3rS3cretPassw0rd@db.internal/okta",
    }
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    # moto accepts any credentials; these are what boto3 signs with.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
    secrets["AWS_ACCESS_KEY_ID"] = "AKIAIOSFODNN7EXAMPLE"
    store = s3_store(s3)
    publish_tenant(seeded, "acme", store)
    local = store_from_url(str(tmp_path))
    publish_tenant(seeded, "acme", local)

    blobs = [s3.client.get_object(Bucket=s3.bucket, Key=k)["Body"].read() for k in all_keys(s3)]
    blobs += [p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()]
    # Parquet pages are compressed: also look at the decoded values and the schema metadata.
    decoded = [repr(pq.read_table(io.BytesIO(b)).to_pylist()).encode() + repr(pq.read_schema(io.BytesIO(b))).encode()
               for b in blobs if b.startswith(b"PAR1")]
    assert len(decoded) > 10
    for name, value in secrets.items():
        for part in {value, value.split(":")[-1].split("@")[0]}:
            assert not any(part.encode() in blob for blob in blobs + decoded), name
