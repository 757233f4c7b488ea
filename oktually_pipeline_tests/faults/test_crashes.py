"""The run process dies (SIGKILL) at chosen and at random points; nothing is lost or doubled.

Each pull runs in a child process (crash_child.py) against the sandbox in this process and a
fresh database. The child is killed right after a page arrived but before its rows committed, in
the middle of a COPY, in the middle of a group's membership pull, right after a commit, and after
seeded random delays; the org and the System Log change between rounds. After every kill the
invariants hold (no phantom rows, marks never ahead of data); after the last, clean run, every
table equals the sandbox's truth.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from oktually_pipeline.sandbox import Faults, Sandbox, SandboxConfig
from oktually_pipeline_tests.databases import new_database
from oktually_pipeline_tests.faults.helpers import (
    assert_log_complete,
    assert_log_consistent,
    assert_state_complete,
    assert_state_consistent,
    load_all_state,
    log_start,
    mutate_org,
    pull_log,
    warehouse,
)

pytestmark = pytest.mark.faults

REPO = Path(__file__).resolve().parents[2]
KILLED = -signal.SIGKILL


@pytest.fixture
def sandbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    with Sandbox(SandboxConfig(seed=31, tenants=3, users=60, events=1200, days=2,
                               tokens=("00crash-suite-token-0123456789",))) as sb:
        yield sb


def run_child(spec: dict, kill_after: float | None = None) -> int:
    """Run crash_child with `spec`; SIGKILL it `kill_after` seconds after it is ready."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "oktually_pipeline_tests.faults.crash_child", json.dumps(spec)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        ready = proc.stdout.readline() if proc.stdout else ""
        if ready.strip() == "ready" and kill_after is not None:
            try:
                proc.wait(timeout=kill_after)
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGKILL)
        _, err = proc.communicate(timeout=180)
    except BaseException:
        proc.kill()
        proc.communicate()
        raise
    assert proc.returncode in (0, KILLED), f"child failed ({proc.returncode}):\n{err[-3000:]}"
    return proc.returncode


def test_system_log_survives_kills_anywhere(sandbox: Sandbox, pg_admin_url: str) -> None:
    rng = random.Random(8)
    tenant = "crashlog"
    with new_database(pg_admin_url) as url, warehouse(url, tenant) as engine:
        spec = {"what": "log", "url": sandbox.url, "token": sandbox.token, "database_url": url,
                "tenant": tenant, "start": log_start(sandbox).isoformat()}
        planned = [
            {"point": "fetch", "at": 3},                      # page 3 arrived, not committed
            {"point": "copy", "at": rng.randint(20, 90)},     # inside the COPY of the next page
            {"point": "commit", "at": 2},                     # right after a commit
            None, None,                                       # random moments
        ]
        outcomes = []
        for kill in planned:
            sandbox.events.append(rng.randint(150, 300))
            sandbox.events.append_late(rng.randint(3, 12), timedelta(minutes=rng.randint(1, 40)))
            if kill is None:
                sandbox.faults = Faults(seed=rng.randrange(1000), slow_rate=0.5, slow_seconds=0.08)
                rc = run_child(spec, kill_after=rng.uniform(0.2, 1.2))
            else:
                sandbox.faults = Faults()
                rc = run_child({**spec, "kill": kill})
                assert rc == KILLED, f"the planned kill {kill} did not happen"
            outcomes.append(rc)
            assert_log_consistent(sandbox, engine, tenant)
        sandbox.faults = Faults()
        pull_log(sandbox, engine, tenant)
        assert_log_complete(sandbox, engine, tenant)
    assert outcomes.count(KILLED) >= 3


def test_state_survives_kills_mid_list_mid_copy_and_mid_membership_pull(sandbox: Sandbox, pg_admin_url: str) -> None:
    rng = random.Random(21)
    tenant = "crashstate"
    with new_database(pg_admin_url) as url, warehouse(url, tenant) as engine:
        spec = {"what": "state", "url": sandbox.url, "token": sandbox.token, "database_url": url,
                "tenant": tenant}
        planned = [
            {"point": "fetch", "at": 2, "stream": "users"},           # mid-list, page 2 not committed
            {"point": "copy", "at": 3, "stream": "group_members"},    # inside a group's membership pull
            {"point": "commit", "at": 4, "stream": "group_members"},  # between two groups
            {"point": "copy", "at": rng.randint(2, 8), "stream": "app_users"},
            None,                                                     # a random moment
        ]
        killed = 0
        for kill in planned:
            mutate_org(sandbox, rng)
            if kill is None:
                sandbox.faults = Faults(seed=rng.randrange(1000), slow_rate=0.4, slow_seconds=0.05)
                rc = run_child(spec, kill_after=rng.uniform(0.3, 2.0))
            else:
                sandbox.faults = Faults()
                rc = run_child({**spec, "kill": kill})
                assert rc == KILLED, f"the planned kill {kill} did not happen"
            killed += rc == KILLED
            assert_state_consistent(engine, tenant)
        sandbox.faults = Faults()
        pull_log(sandbox, engine, tenant)
        load_all_state(sandbox, engine, tenant)
        assert_state_complete(sandbox, engine, tenant)
    assert killed >= 4
