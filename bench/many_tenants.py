"""Benchmark 5: many tenants' hourly System Log runs through Dagster, and Dagster's cost per run.

20 tenants (each its own warehouse schema and Dagster partition) read one sandbox org in its own
process. Each tenant is first synced once (not timed); then new events arrive and every tenant's
hourly run (`okta_log_events_job`, mode incremental, today's partition) is launched with
`execute_in_process` on a SQLite-backed instance, one after another, as `oktually sync` does.
Overhead per run = run wall time minus the time inside the asset's own work (`_pull_tenant`).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from datetime import datetime, timezone

from bench.common import Figure, SandboxProcess, Section, bench_db, median


def child(url: str, token: str, db_url: str, n: str, home: str) -> dict:
    n_tenants = int(n)
    tenants = [f"t{i:02d}" for i in range(n_tenants)]
    os.environ["DAGSTER_HOME"] = home
    os.environ["OKTUALLY_DATABASE_URL"] = db_url
    os.environ["OKTUALLY_HOME"] = home
    os.environ["BENCH_OKTA_TOKEN"] = token
    tfile = os.path.join(home, "tenants.yaml")
    with open(tfile, "w") as fh:
        fh.write("tenants:\n" + "".join(f"  - id: {t}\n    okta_url: {url}\n    token_env: BENCH_OKTA_TOKEN\n"
                                         for t in tenants))
    os.environ["OKTUALLY_TENANTS"] = tfile

    from oktually_pipeline import runs
    from oktually_pipeline.assets import events as events_asset
    from oktually_pipeline.partitions import tenant_day_key, today_utc

    inside: list[float] = []
    real = events_asset._pull_tenant

    def timed(*a, **k):
        t0 = time.perf_counter()
        try:
            return real(*a, **k)
        finally:
            inside.append(time.perf_counter() - t0)

    events_asset._pull_tenant = timed
    instance = runs.dagster_instance()
    for t in tenants:
        runs._ensure_tenant_partition(instance, t)
    today = today_utc()

    def hourly(t: str) -> tuple[float, bool]:
        t0 = time.perf_counter()
        out = runs._execute(instance, "okta_log_events_job", partition_key=str(tenant_day_key(t, today)),
                            tags={runs.TENANT_TAG: t, "oktually/trigger": "bench"},
                            run_config=runs.log_events_run_config("incremental"))
        return time.perf_counter() - t0, out.success

    for t in tenants:  # first sync, not timed
        hourly(t)
    inside.clear()
    print(json.dumps({"ready": True}), flush=True)
    sys.stdin.readline()  # the parent appends an hour of events, then says go
    walls, ok = [], 0
    t0 = time.perf_counter()
    for t in tenants:
        w, success = hourly(t)
        walls.append(w)
        ok += success
    total = time.perf_counter() - t0
    overheads = [w - i for w, i in zip(walls, inside)]
    return {"tenants": n_tenants, "total": total, "walls": walls, "inside": inside, "overheads": overheads,
            "succeeded": ok}


def measure(n: int, new_events: int) -> dict:
    import subprocess

    from bench.common import PY, ROOT

    now = datetime.now(timezone.utc)
    with SandboxProcess(seed=5, tenants=4, users=300, events=20_000, days=1) as sb, bench_db("tenants") as db, \
            tempfile.TemporaryDirectory(prefix="bench-dagster-") as home:
        proc = subprocess.Popen([PY, "-m", "bench.many_tenants", "child", sb.url, sb.token, db, str(n), home],
                                cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = proc.stdout.readline()
        while line and "ready" not in line:
            line = proc.stdout.readline()
        if not line:
            raise RuntimeError("many_tenants child died: " + (proc.communicate()[0] or "")[-2000:])
        sb.cmd(f"append {new_events}")
        proc.stdin.write("go\n")
        proc.stdin.flush()
        out, _ = proc.communicate(timeout=1800)
        del now
        return json.loads(out.strip().splitlines()[-1])


def run(quick: bool) -> Section:
    n = 5 if quick else 20
    m = measure(n, 500)
    sec = Section(f"5. Many tenants ({n} tenants' hourly System Log runs through Dagster)")
    sec.raw = m
    sec.text = ("`execute_in_process` of `okta_log_events_job` per tenant (as `oktually sync` launches runs), "
                "SQLite run/event storage in a temp DAGSTER_HOME, one after another; all tenants read the same "
                "sandbox org (own process), 500 new events since the previous run. The QueuedRunCoordinator "
                "path (daemon + run workers) was not measured: it adds a process start per run on top.")
    sec.figures = [
        Figure(f"{n} hourly runs: wall time", f"{m['total']:.1f} s ({m['succeeded']}/{n} succeeded)"),
        Figure("per run: wall (median)", f"{median(m['walls']):.2f} s"),
        Figure("per run: inside the asset's work (median)", f"{median(m['inside']):.2f} s"),
        Figure("per run: Dagster overhead (median)", f"{median(m['overheads']):.2f} s"),
    ]
    return sec


if __name__ == "__main__":
    mode, *args = sys.argv[1:]
    print(json.dumps(child(*args)))
