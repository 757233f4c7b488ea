"""Process groups: stopping one that resists, named children that report their exit, waiting on them."""

from __future__ import annotations

import subprocess
import sys
import time

import httpx
import pytest

from oktually_pipeline.processes import (
    Processes,
    ProcessExited,
    free_port,
    group_alive,
    stop_process_group,
    wait_until,
)

# A parent and a child, both deaf to SIGINT and SIGTERM, like a wedged `dagster dev`.
DEAF = ("import signal, subprocess, sys, time; "
        "[signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM)]; "
        "len(sys.argv) > 1 and subprocess.Popen([sys.executable, '-c', sys.argv[1]]); time.sleep(300)")
DEAF_CHILD = DEAF.replace("len(sys.argv) > 1", "False")


def test_a_group_that_ignores_sigint_and_sigterm_is_killed():
    proc = subprocess.Popen([sys.executable, "-c", DEAF, DEAF_CHILD], start_new_session=True)
    time.sleep(1.0)
    started = time.monotonic()
    stop_process_group(proc, grace=1.0, term_grace=1.0)
    assert not group_alive(proc.pid)
    assert proc.returncode is not None
    assert time.monotonic() - started < 30


def test_stop_all_kills_every_group_with_what_they_started(tmp_path):
    procs = Processes(tmp_path, cwd=tmp_path)
    deaf = procs.start("deaf", [sys.executable, "-c", DEAF, DEAF_CHILD], {})
    polite = procs.start("polite", [sys.executable, "-c", "import time; time.sleep(300)"], {})
    time.sleep(1.0)
    started = time.monotonic()
    procs.stop_all()
    assert not group_alive(deaf.pid) and not group_alive(polite.pid)
    assert deaf.returncode is not None and polite.returncode is not None
    # Both groups share one grace period instead of waiting out one each.
    assert time.monotonic() - started < 15


def test_a_child_that_exits_is_reported_with_its_output(tmp_path):
    procs = Processes(tmp_path, cwd=tmp_path)
    done = procs.start("done", [sys.executable, "-c", "print('finished its job')"], {})
    crashed = procs.start("crashed", [sys.executable, "-c", "import sys; print('boom'); sys.exit(3)"], {})
    done.wait(timeout=30)
    crashed.wait(timeout=30)
    with pytest.raises(ProcessExited, match=r"(?s)crashed exited with 3:.*boom"):
        procs.check_alive(may_exit=["done"])
    procs.check_alive(may_exit=["done", "crashed"])
    assert procs.log("done").strip() == "finished its job"


def test_wait_until_returns_the_first_truthy_answer_and_counts_refused_connections_as_not_yet():
    port = free_port()
    answers = iter([None, 0, "ready"])

    def check():
        value = next(answers)
        if value is None:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=1)  # nothing listens: ConnectError
        return value

    assert wait_until(check, timeout=10, what="a server", interval=0.01) == "ready"


def test_wait_until_names_what_it_waited_for_when_time_runs_out():
    with pytest.raises(TimeoutError, match=r"waiting for the daemon's queue \(last: 0\)"):
        wait_until(lambda: 0, timeout=0.2, what="the daemon's queue", interval=0.05)
