"""Benchmark 2: the System Log pull under an Okta-like budget on /api/v1/logs.

Okta's Workforce default for `/api/v1/logs` is 120 requests a minute. To keep the run short the
sandbox's window is shortened and the budget scaled with it (same requests per second), e.g.
40 per 20-second window. The pull starts on a window boundary and is stopped after K whole
windows; the figure is events fetched in those windows over what the budget allows
(budget x 1000 events a page x K), and the share of requests answered 429.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime, timedelta, timezone

from bench.common import Figure, SandboxProcess, Section, bench_db, median, run_child

TENANT = "bench"


class _Enough(Exception):
    pass


def child(url: str, token: str, start_iso: str, db_url: str, window: str, windows: str) -> dict:
    from oktually_pipeline.ingest.log_events import pull_polling
    from oktually_pipeline.okta.auth import Secret, SswsAuth
    from oktually_pipeline.okta.client import OktaClient
    from oktually_pipeline.warehouse.engine import create_engine
    from oktually_pipeline.warehouse.schema import ensure_tenant_schema

    window_s, k = int(window), int(windows)
    engine = create_engine(db_url)
    ensure_tenant_schema(engine, TENANT)
    # Start on a window boundary, so K windows hold exactly K budgets.
    now = time.time()
    t0 = (int(now // window_s) + 1) * window_s
    time.sleep(t0 - now)
    end = t0 + k * window_s
    marks: list[tuple[float, int]] = []

    def on_page(r) -> None:
        marks.append((time.time(), r.fetched))
        if time.time() >= end:
            raise _Enough

    with OktaClient(url, SswsAuth(Secret(token)), tenant_id=TENANT) as client:
        try:
            pull_polling(client, engine, TENANT, start=datetime.fromisoformat(start_iso), on_page=on_page)
        except _Enough:
            pass
        sent, retries, slept = client.requests_sent, client.retries, client.pacer.slept_seconds
    engine.dispose()
    in_windows = max((n for t, n in marks if t < end), default=0)
    return {"t0": t0, "end": end, "events_in_windows": in_windows, "requests": sent, "retries": retries,
            "slept": slept, "pages": len(marks)}


def measure(window: int, budget: int, windows: int, repeats: int) -> dict:
    now = datetime.now(timezone.utc).replace(microsecond=0)
    start = (now - timedelta(days=8)).isoformat()
    # More events than K windows can fetch.
    events = (windows + 2) * budget * 1000
    runs = []
    with SandboxProcess(seed=9, tenants=4, users=200, events=events, days=7, now=now,
                        rate_limits={"/api/v1/logs": budget}, window_seconds=window) as sb:
        for _ in range(repeats):
            sb.cmd("reset")
            with bench_db("rl") as db:
                r = run_child("bench.rate_limited", "child", sb.url, sb.token, start, db, str(window), str(windows))
            stats = sb.cmd("stats")
            r["server_requests"] = stats["total"]
            r["server_429"] = stats["429"]
            r["allowed"] = windows * budget * 1000
            r["share"] = r["events_in_windows"] / r["allowed"]
            r["rate_429"] = r["server_429"] / max(1, r["server_requests"])
            runs.append(r)
    return {"window": window, "budget": budget, "windows": windows, "runs": runs,
            "share": median([r["share"] for r in runs]), "rate_429": median([r["rate_429"] for r in runs]),
            "max_429": max(r["server_429"] for r in runs)}


def run(quick: bool) -> Section:
    window, budget, windows, repeats = (30, 30, 2, 1) if quick else (30, 30, 3, 2)
    m = measure(window, budget, windows, repeats)
    per_min = budget * 60 // window
    sec = Section("2. Rate-limited pull (/api/v1/logs at one token's share of a Workforce org's budget)")
    sec.text = (f"Sandbox window shortened to {window} s with the budget scaled to {budget} requests a window "
                f"(= {per_min}/min: a Workforce org's `/api/v1/logs` allows 120/min, of which one API token may use "
                f"50% by default, API-NOTES §2); 1000 events a page; measured over "
                f"{windows} whole windows, {repeats} run(s), median. The pacer keeps a reserve of "
                f"max(1, ceil(2% of the limit)) requests a window for the org's other integrations: "
                f"{max(1, -(-budget * 2 // 100))} of {budget} here, 3 of 120 at real scale.")
    sec.raw = m
    sec.figures = [
        Figure("events fetched / events the budget allows", f"{m['share'] * 100:.1f}%", "≥ 95%", m["share"] >= 0.95,
               "runs: " + ", ".join(f"{r['share'] * 100:.1f}%" for r in m["runs"])),
        Figure("requests answered 429", f"{m['rate_429'] * 100:.2f}% (max {m['max_429']} in a run)", "< 1%",
               m["rate_429"] < 0.01),
    ]
    return sec


if __name__ == "__main__":
    mode, *args = sys.argv[1:]
    print(json.dumps(child(*args)))
