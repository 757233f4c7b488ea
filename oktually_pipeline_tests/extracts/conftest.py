"""Fixtures for extract tests: a seeded tenant schema, and S3 on moto's standalone server."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import boto3
import orjson
import pytest
import sqlalchemy as sa

from oktually_pipeline.warehouse.schema import ensure_tenant_schema

DAY0 = datetime(2026, 3, 1, tzinfo=timezone.utc)
REGION = "us-east-1"


def add_events(engine: sa.Engine, day: datetime, count: int, *, tag: str, tenant: str = "acme",
               start_minute: int = 0) -> list[str]:
    """Insert `count` System Log events on `day` (UTC), a few minutes apart; returns their uuids."""
    rows = []
    for i in range(count):
        published = day + timedelta(minutes=start_minute + 7 * i, microseconds=123456)
        event = {"uuid": f"{tag}-{i}", "eventType": "user.session.start", "published": published.isoformat(),
                 "actor": {"id": f"00u{i % 5}", "displayName": "Zoë ✓"}, "outcome": {"result": "SUCCESS"}}
        rows.append({"uuid": event["uuid"], "published": published, "ip": f"10.0.0.{i % 250}",
                     "raw": orjson.dumps(event).decode()})
    with engine.begin() as conn:
        conn.execute(sa.text(
            f"INSERT INTO okta_{tenant}.log_events (uuid, published, event_type, actor_id, client_ip, "
            "outcome_result, raw) VALUES (:uuid, :published, 'user.session.start', 'u', :ip, "
            "'SUCCESS', CAST(:raw AS jsonb))"), rows)
        conn.execute(sa.text(
            f"INSERT INTO okta_{tenant}.ingest_marks (stream, mark) VALUES ('log_events', :m) "
            "ON CONFLICT (stream) DO UPDATE SET mark = greatest(ingest_marks.mark, EXCLUDED.mark)"),
            {"m": max(r["published"] for r in rows)})
    return [r["uuid"] for r in rows]


def seed_tenant(engine: sa.Engine, tenant: str = "acme") -> None:
    """A tenant schema with users, groups, memberships, policies and three days of events."""
    ensure_tenant_schema(engine, tenant)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"""
            INSERT INTO okta_{tenant}.users (id, status, login, email, created, last_login, raw)
            SELECT '00u' || g, CASE WHEN mod(g, 3) = 0 THEN 'DEPROVISIONED' ELSE 'ACTIVE' END,
                   'user' || g || '@acme.example', NULL, timestamptz '2025-01-01 09:30:00.5+02' + g * interval '1 day',
                   CASE WHEN mod(g, 2) = 0 THEN now() END,
                   jsonb_build_object('id', '00u' || g, 'profile', jsonb_build_object('n', g, 'tags', jsonb_build_array('a', g)))
            FROM generate_series(1, 40) g;
            INSERT INTO okta_{tenant}.groups (id, type, name, raw)
            SELECT '00g' || g, 'OKTA_GROUP', 'Group ' || g, '{{}}'::jsonb FROM generate_series(1, 5) g;
            INSERT INTO okta_{tenant}.group_members (group_id, user_id, raw)
            SELECT '00g' || (mod(g, 5) + 1), '00u' || g, '{{}}'::jsonb FROM generate_series(1, 40) g;
            INSERT INTO okta_{tenant}.policies (id, type, name, priority, system, raw)
            VALUES ('00p1', 'OKTA_SIGN_ON', 'Default', 1, true, '{{"conditions": null}}');
        """)
    for d in range(3):
        add_events(engine, DAY0 + timedelta(days=d), 30 + d, tag=f"d{d}", tenant=tenant)


@pytest.fixture
def seeded(engine: sa.Engine) -> sa.Engine:
    seed_tenant(engine)
    return engine


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@dataclass
class S3Env:
    endpoint: str
    bucket: str
    client: Any


@pytest.fixture
def s3(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> S3Env:
    """Dummy credentials, AWS_ENDPOINT_URL pointed at moto, and a fresh bucket."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    client = boto3.client("s3", region_name=REGION)
    bucket = f"extracts-{uuid.uuid4().hex[:10]}"
    client.create_bucket(Bucket=bucket)
    return S3Env(moto_endpoint, bucket, client)
