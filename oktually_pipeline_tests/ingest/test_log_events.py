"""System Log ingestion against the sandbox over HTTP and a real Postgres: exactly once, always."""

import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import orjson
import pytest
import sqlalchemy as sa

from oktually_pipeline.ingest.log_events import (
    PLANNED_COLUMNS,
    PullResult,
    event_row,
    pull_bounded,
    pull_polling,
)
from oktually_pipeline.okta.auth import Secret, SswsAuth
from oktually_pipeline.okta.client import OktaClient
from oktually_pipeline.okta.errors import OktaAuthError, OktaMalformedPageError
from oktually_pipeline.sandbox import Faults, Sandbox, SandboxConfig
from oktually_pipeline.warehouse import schema
from oktually_pipeline.warehouse.schema import ensure_tenant_schema

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)
START = NOW - timedelta(days=3)
TOKEN = "00sandbox-ingest-token-abcdefghijklmnop"


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(SandboxConfig(seed=11, tenants=4, users=80, events=3500, days=2, now=NOW,
                               tokens=(TOKEN,), window_seconds=1)) as sb:
        yield sb


@pytest.fixture
def warehouse(engine: sa.Engine) -> sa.Engine:
    ensure_tenant_schema(engine, "acme")
    return engine


def client_for(sb: Sandbox, tenant: str = "acme", token: str = TOKEN) -> OktaClient:
    return OktaClient(sb.url, SswsAuth(Secret(token)), tenant_id=tenant, max_backoff=0.05)


def stored(engine: sa.Engine, tenant: str = "acme") -> dict[str, datetime]:
    with engine.connect() as conn:
        return dict(conn.execute(sa.text(f"SELECT uuid, published FROM okta_{tenant}.log_events")).all())


def mark_of(engine: sa.Engine, tenant: str = "acme") -> tuple[datetime | None, str | None]:
    with engine.connect() as conn:
        row = conn.execute(sa.text(f"SELECT mark, cursor FROM okta_{tenant}.ingest_marks WHERE stream = 'log_events'")).first()
    return (row.mark, row.cursor) if row else (None, None)


def truth(sb: Sandbox) -> set[str]:
    return set(sb.events.truth())


def pull(sb: Sandbox, engine: sa.Engine, **kw) -> PullResult:
    with client_for(sb) as client:
        return pull_polling(client, engine, "acme", start=START, **kw)


def assert_consistent(engine: sa.Engine) -> None:
    """The mark is never behind the newest stored event (and never ahead of what is stored)."""
    rows = stored(engine)
    mark, _ = mark_of(engine)
    if rows:
        assert mark == max(rows.values())


def test_full_pull_lands_every_event_exactly_once(sandbox: Sandbox, warehouse: sa.Engine) -> None:
    result = pull(sandbox, warehouse)
    rows = stored(warehouse)
    assert set(rows) == truth(sandbox)
    assert result.fetched == result.inserted == len(rows) == sandbox.events.count()
    assert result.pages >= 4
    assert result.extra["pages_merged"] == 0  # new events only: every page COPYed straight in
    mark, cursor = mark_of(warehouse)
    assert mark == max(rows.values())
    assert cursor and cursor.startswith("/api/v1/logs?") and "SSWS" not in cursor
    assert_consistent(warehouse)


def test_a_bulk_pull_gives_the_planner_the_statistics_of_the_columns_queries_use(
        sandbox: Sandbox, warehouse: sa.Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(schema, "BULK_CHANGE_ROWS", 1_000)  # a bulk load, at this sandbox's size
    pull(sandbox, warehouse)
    with warehouse.connect() as conn:
        analysed = conn.execute(sa.text("SELECT attname FROM pg_stats "
                                        "WHERE schemaname = 'okta_acme' AND tablename = 'log_events'")).scalars().all()
        estimated = conn.execute(sa.text("SELECT reltuples FROM pg_class "
                                         "WHERE oid = 'okta_acme.log_events'::regclass")).scalar_one()
    assert set(analysed) == set(PLANNED_COLUMNS)
    assert estimated == sandbox.events.count()


def test_rerun_with_nothing_new_costs_one_page_and_adds_nothing(sandbox: Sandbox, warehouse: sa.Engine) -> None:
    pull(sandbox, warehouse)
    again = pull(sandbox, warehouse)
    assert again.started_from == "cursor"
    assert (again.pages, again.inserted) == (1, 0)


def test_new_and_late_events_after_the_link_are_caught(sandbox: Sandbox, warehouse: sa.Engine) -> None:
    pull(sandbox, warehouse)
    new = sandbox.events.append(700)
    late = sandbox.events.append_late(25, lag=timedelta(hours=2))  # far older than any overlap
    result = pull(sandbox, warehouse)
    rows = stored(warehouse)
    assert set(new) | set(late) <= set(rows)
    assert set(rows) == truth(sandbox)
    assert result.inserted == 725
    assert_consistent(warehouse)


def test_late_events_caught_by_the_overlap_without_a_link(sandbox: Sandbox, warehouse: sa.Engine) -> None:
    pull(sandbox, warehouse)
    late = sandbox.events.append_late(10, lag=timedelta(minutes=3))
    result = pull(sandbox, warehouse, resume_from_cursor=False, overlap=timedelta(minutes=5))
    assert result.started_from.startswith("since ")
    assert set(late) <= set(stored(warehouse))
    assert result.inserted == 10  # the overlap re-read the last minutes; uuid dropped the repeats
    assert set(stored(warehouse)) == truth(sandbox)


def test_crash_between_pages_then_rerun_has_no_gap_and_no_duplicate(sandbox: Sandbox, warehouse: sa.Engine) -> None:
    class Crash(RuntimeError):
        pass

    def crash_after_two(result: PullResult) -> None:
        if result.pages == 2:
            raise Crash()

    with pytest.raises(Crash):
        pull(sandbox, warehouse, on_page=crash_after_two)
    assert len(stored(warehouse)) == 2000
    assert_consistent(warehouse)
    result = pull(sandbox, warehouse)
    assert result.started_from == "cursor"
    assert result.inserted == sandbox.events.count() - 2000
    assert set(stored(warehouse)) == truth(sandbox)


def test_a_repeated_page_is_merged_and_the_pages_after_it_copied_again(sandbox: Sandbox, warehouse: sa.Engine) -> None:
    links: list[str] = []

    def stop_after_three(result: PullResult) -> None:
        links.append(result.cursor)
        if result.pages == 3:
            raise RuntimeError("stop")

    with pytest.raises(RuntimeError):
        pull(sandbox, warehouse, on_page=stop_after_three)
    # As if the link had been saved without the pages after it: it goes back to page 2.
    with warehouse.begin() as conn:
        conn.execute(sa.text("UPDATE okta_acme.ingest_marks SET cursor = :c WHERE stream = 'log_events'"), {"c": links[0]})
    sandbox.events.append(2500)  # pages after the repeats
    result = pull(sandbox, warehouse)
    assert result.inserted == sandbox.events.count() - 3000
    assert set(stored(warehouse)) == truth(sandbox)
    # Pages 2 and 3 (stored) are merged, and page 4, all new, which switches back to COPYing the rest.
    assert result.extra["pages_merged"] == 3 and result.pages == 6
    assert_consistent(warehouse)


def test_429s_and_5xx_bursts_lose_nothing(sandbox: Sandbox, warehouse: sa.Engine) -> None:
    sandbox.faults = Faults(seed=5, storm_429=4, error_rate=0.25)
    sandbox.rate_limits.set("/api/v1/logs", 3)
    result = pull(sandbox, warehouse, limit=500)
    assert set(stored(warehouse)) == truth(sandbox)
    assert result.inserted == sandbox.events.count()
    assert sandbox.stats.requests_429 >= 4


def test_bad_token_fails_clearly_and_writes_nothing(sandbox: Sandbox, warehouse: sa.Engine) -> None:
    with client_for(sandbox, token="00wrong-token-xxxxxxxxxxxxxxxxxxxx") as client, pytest.raises(OktaAuthError) as err:
        pull_polling(client, warehouse, "acme", start=START)
    assert "tenant 'acme'" in str(err.value) and "E0000011" in str(err.value)
    assert stored(warehouse) == {}
    assert mark_of(warehouse) == (None, None)


def test_page_that_never_parses_advances_nothing(sandbox: Sandbox, warehouse: sa.Engine) -> None:
    pull(sandbox, warehouse)
    before_rows, before_mark = stored(warehouse), mark_of(warehouse)
    sandbox.events.append(50)
    sandbox.faults = Faults(always_broken=frozenset({"/api/v1/logs"}))
    with client_for(sandbox) as client:
        client.max_attempts = 2
        with pytest.raises(OktaMalformedPageError) as err:
            pull_polling(client, warehouse, "acme", start=START)
    message = str(err.value)
    assert "tenant 'acme'" in message and "/api/v1/logs" in message and "cursor" in message
    assert stored(warehouse) == before_rows
    assert mark_of(warehouse) == before_mark


def test_bounded_backfill_fills_a_gap_and_leaves_the_link(sandbox: Sandbox, warehouse: sa.Engine) -> None:
    pull(sandbox, warehouse)
    mark, cursor = mark_of(warehouse)
    with warehouse.begin() as conn:
        removed = conn.execute(sa.text(
            "DELETE FROM okta_acme.log_events WHERE published >= :a AND published < :b"),
            {"a": NOW - timedelta(hours=30), "b": NOW - timedelta(hours=20)}).rowcount
    assert removed > 0
    with client_for(sandbox) as client:
        result = pull_bounded(client, warehouse, "acme", since=NOW - timedelta(days=2), until=NOW)
    assert result.inserted == removed
    assert set(stored(warehouse)) == truth(sandbox)
    assert mark_of(warehouse) == (mark, cursor)


def test_two_tenants_keep_their_rows_apart(engine: sa.Engine) -> None:
    with Sandbox(SandboxConfig(seed=21, tenants=4, users=40, events=600, days=1, now=NOW, tokens=(TOKEN,))) as a, \
         Sandbox(SandboxConfig(seed=22, tenants=4, users=40, events=900, days=1, now=NOW, tokens=(TOKEN,))) as b:
        for tenant, sb in (("acme", a), ("globex", b)):
            ensure_tenant_schema(engine, tenant)
            with client_for(sb, tenant) as client:
                pull_polling(client, engine, tenant, start=START)
        assert set(stored(engine, "acme")) == truth(a)
        assert set(stored(engine, "globex")) == truth(b)
        assert not set(stored(engine, "acme")) & set(stored(engine, "globex"))


def test_event_row_reads_real_samples() -> None:
    import json
    from pathlib import Path

    samples = Path(__file__).resolve().parents[3] / "shared" / "okta" / "system-log-samples.jsonl"
    if not samples.exists():
        pytest.skip("shared Okta samples not beside the repository")
    for line in samples.read_text().splitlines():
        event = json.loads(line)
        row, published = event_row(line.encode())
        actor, client, outcome = event["actor"] or {}, event["client"] or {}, event["outcome"] or {}
        assert row[:3] == (event["uuid"], published, event["eventType"])
        assert row[3:11] == (event["severity"], event["displayMessage"], actor.get("id"), actor.get("alternateId"),
                             client.get("ipAddress"), outcome.get("result"), outcome.get("reason"),
                             (event.get("transaction") or {}).get("id"))
        assert published.tzinfo is not None and json.loads(row[11]) == event


def test_an_unusable_event_is_named_with_what_is_wrong() -> None:
    from oktually_pipeline.ingest.log_events import MalformedEvent

    good = {"uuid": "u1", "published": "2026-11-20T11:00:00.000Z", "eventType": "user.session.start"}
    for event, says in (
        ({**good, "actor": "someone"}, "$.actor"),
        ({**good, "uuid": None}, "without a uuid"),
        ({**good, "published": "yesterday"}, "unreadable published time"),
        ({**good, "published": "2026-11-20T11:00:00"}, "without a zone"),
        ([good], "Expected `object`"),
    ):
        with pytest.raises(MalformedEvent, match=re.escape(says)):
            event_row(orjson.dumps(event))
    # Where a column is read, msgspec finds it; elsewhere, making `raw` text does.
    with pytest.raises(MalformedEvent, match="Invalid UTF-8"):
        event_row(orjson.dumps(good).replace(b"u1", b"u\xff"))
    with pytest.raises(MalformedEvent, match="not valid UTF-8"):
        event_row(orjson.dumps({**good, "debugContext": "x"}).replace(b'"x"', b'"\xff"'))


def test_nul_characters_are_dropped_and_the_event_still_lands(warehouse: sa.Engine) -> None:
    """Postgres text and json cannot hold NUL: it is dropped from the columns and from `raw`,
    wherever it is; other escapes (a quote, a backslash, the text `\\u0000`) are kept as they
    were, in an event that also holds a NUL."""
    import json

    from oktually_pipeline.ingest.log_events import COLUMN_TYPES, COLUMNS
    from oktually_pipeline.warehouse.copy import copy_rows
    from oktually_pipeline.warehouse.schema import use_tenant_schema

    with_nul = {"uuid": "u-nul", "published": "2026-11-20T11:00:00.000Z", "eventType": "user.session.start",
                "displayMessage": "sign\x00 in", "actor": {"id": "00u1", "alternateId": "a\x00@b.c"},
                "debugContext": {"debugData": {"note": "x\x00y", "userAgent": "a\\u0000b \\\\u0000"}}}
    escaped = {"uuid": "u-esc", "published": "2026-11-20T11:00:01.000Z", "eventType": "user.session.start",
               "displayMessage": 'say "hi" \\ \u00e9 \\u0000'}
    rows = [event_row(orjson.dumps(with_nul))[0], event_row(orjson.dumps(escaped))[0]]
    assert rows[0][4] == "sign in" and rows[0][6] == "a@b.c"
    with warehouse.begin() as conn:
        use_tenant_schema(conn, "acme")
        copy_rows(conn, "log_events", COLUMNS, rows, types=COLUMN_TYPES)
    with warehouse.connect() as conn:
        raw = dict(conn.execute(sa.text("SELECT uuid, raw::text FROM okta_acme.log_events")).all())
        # What the models do with raw: Postgres unescapes it (a \u0000 there would fail).
        note = conn.execute(sa.text("SELECT raw->'debugContext'->'debugData'->>'note' FROM okta_acme.log_events "
                                    "WHERE uuid = 'u-nul'")).scalar()
    assert note == "xy"
    assert json.loads(raw["u-nul"])["debugContext"]["debugData"] == {"note": "xy", "userAgent": "a\\u0000b \\\\u0000"}
    assert json.loads(raw["u-nul"])["displayMessage"] == "sign in"
    assert json.loads(raw["u-esc"]) == escaped
