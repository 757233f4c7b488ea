"""Postgres drops the loader's connections mid-run (`pg_terminate_backend`), between transactions
and inside one (mid-COPY); the run either carries on with fresh connections or fails, and the
next run leaves every table equal to the truth.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa

from oktually_pipeline.ingest.state import LoadOptions
from oktually_pipeline.sandbox import Sandbox, SandboxConfig
from oktually_pipeline_tests.databases import new_database
from oktually_pipeline_tests.faults.helpers import (
    assert_log_complete,
    assert_log_consistent,
    assert_state_complete,
    assert_state_consistent,
    load_all_state,
    mutate_org,
    pull_log,
    small_batches,
    stored_events,
    warehouse,
)

pytestmark = pytest.mark.faults


@pytest.fixture
def sandbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    with Sandbox(SandboxConfig(seed=23, tenants=3, users=60, events=1200, days=2,
                               tokens=("00db-drop-token-abcdefghijklmnopq",))) as sb:
        yield sb


def terminate(url: str, pids: list[int] | None = None) -> int:
    """Terminate the given backends, or every other backend of the database; wait until gone."""
    with psycopg.connect(url, autocommit=True) as admin:
        if pids is None:
            pids = [r[0] for r in admin.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")]
        for pid in pids:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        deadline = time.monotonic() + 10
        while pids and time.monotonic() < deadline:
            alive = admin.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)", (pids,)).fetchone()[0]
            if not alive:
                break
            time.sleep(0.05)
    return len(pids)


def test_system_log_with_connections_dropped_between_and_inside_transactions(
        sandbox: Sandbox, pg_admin_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    tenant = "droplog"
    with new_database(pg_admin_url) as url, warehouse(url, tenant) as engine:
        # Between transactions: every pooled connection dies after page 2; pre-ping replaces them.
        dropped: list[int] = []

        def drop_after_two(result: Any) -> None:
            if result.pages == 2:
                dropped.append(terminate(url))

        pull_log(sandbox, engine, tenant, on_page=drop_after_two)
        assert dropped and dropped[0] >= 1
        assert_log_complete(sandbox, engine, tenant)

        # Inside a transaction: the loader's own backend dies in the middle of a page's COPY.
        sandbox.events.append(700)
        real_write_row = psycopg.Copy.write_row
        rows_written = {"n": 0}

        def write_row(self: psycopg.Copy, row: Any) -> None:
            rows_written["n"] += 1
            if rows_written["n"] == 250:
                terminate(url, [self.connection.info.backend_pid])
            real_write_row(self, row)

        monkeypatch.setattr(psycopg.Copy, "write_row", write_row)
        with pytest.raises(sa.exc.OperationalError):
            pull_log(sandbox, engine, tenant)
        monkeypatch.setattr(psycopg.Copy, "write_row", real_write_row)
        assert_log_consistent(sandbox, engine, tenant)
        assert len(stored_events(engine, tenant)) < len(sandbox.events.truth())  # the run did stop

        pull_log(sandbox, engine, tenant)
        assert_log_complete(sandbox, engine, tenant)


def test_state_with_connections_dropped_mid_membership_pull(sandbox: Sandbox, pg_admin_url: str) -> None:
    tenant = "dropstate"
    rng = random.Random(2)
    with new_database(pg_admin_url) as url, warehouse(url, tenant) as engine:
        pull_log(sandbox, engine, tenant)
        load_all_state(sandbox, engine, tenant)
        mutate_org(sandbox, rng)
        for g in sorted(sandbox.org.snapshot()["groups"])[:8]:  # many groups' memberships move
            sandbox.org.add_member(g, sandbox.org.create_user()["id"])

        def drop_all(stream: str, n: int) -> None:
            if stream == "group_members" and n == 1:
                terminate(url)

        options = LoadOptions(events_settle=timedelta(0), workers=2,
                              on_commit=drop_all, **small_batches(LoadOptions))
        try:
            load_all_state(sandbox, engine, tenant, options)
        except sa.exc.OperationalError:
            pass  # a worker's transaction died with its connection: allowed
        assert_state_consistent(engine, tenant)
        load_all_state(sandbox, engine, tenant)
        assert_state_complete(sandbox, engine, tenant)
