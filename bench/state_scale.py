"""Benchmarks 3 and 4: state at scale (full load, then an hourly no-change run) and the derived
models over the same org.

The org: N users, G groups and M memberships (the sandbox's `extra_groups`/`extra_memberships`
knobs), in a sandbox process of its own. The child process loads every state endpoint with the
real `load_state` in the order the assets run, runs it again with nothing changed (the hourly
run), pulls the System Log (for the activity models), then materialises every model with the
real `materialize_model`, and reports times, API calls and the indexes in play.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime, timedelta, timezone

from bench.common import (
    Figure,
    SandboxProcess,
    Section,
    bench_db,
    cpu_now,
    peak_rss_mb,
    run_child,
)

TENANT = "bench"


def _load_all(client, engine, opts) -> dict:
    from oktually_pipeline.ingest.state import load_state
    from oktually_pipeline.okta.endpoints import ENDPOINTS

    out = {}
    for ep in ENDPOINTS:
        t0 = time.perf_counter()
        r = load_state(client, engine, TENANT, ep, opts)
        out[ep.stream] = {"seconds": time.perf_counter() - t0, "api_calls": r.api_calls, "mode": r.mode}
    return out


def child(url: str, token: str, db_url: str, start_iso: str) -> dict:
    from oktually_pipeline.ingest.log_events import pull_polling
    from oktually_pipeline.ingest.state import LoadOptions
    from oktually_pipeline.models.materialize import materialize_model
    from oktually_pipeline.models.specs import MODELS, in_build_order
    from oktually_pipeline.okta.auth import Secret, SswsAuth
    from oktually_pipeline.okta.client import OktaClient
    from oktually_pipeline.warehouse.engine import create_engine
    from oktually_pipeline.warehouse.schema import ensure_tenant_schema

    engine = create_engine(db_url)
    ensure_tenant_schema(engine, TENANT)
    res: dict = {}
    with OktaClient(url, SswsAuth(Secret(token)), tenant_id=TENANT) as client:
        t0, c0 = time.perf_counter(), cpu_now()
        res["full"] = _load_all(client, engine, LoadOptions())
        res["full_seconds"], res["full_cpu"] = time.perf_counter() - t0, cpu_now() - c0
        res["full_rss_mb"] = peak_rss_mb()
        t0 = time.perf_counter()
        res["hourly"] = _load_all(client, engine, LoadOptions())
        res["hourly_seconds"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        pr = pull_polling(client, engine, TENANT, start=datetime.fromisoformat(start_iso))
        res["log_events"] = {"events": pr.fetched, "seconds": time.perf_counter() - t0}
    with engine.connect() as conn:
        res["rows"] = {t: conn.exec_driver_sql(f"SELECT count(*) FROM okta_{TENANT}.{t}").scalar()
                       for t in ("users", "groups", "group_members", "apps", "app_users", "app_groups",
                                 "log_events")}
        res["raw_indexes"] = [f"{r[0]}: {r[1]}" for r in conn.exec_driver_sql(
            "SELECT tablename, indexdef FROM pg_indexes WHERE schemaname = %s ORDER BY 1, 2",
            (f"okta_{TENANT}",)).all()]
    models = {}
    for model in in_build_order(MODELS):
        t0 = time.perf_counter()
        rows = materialize_model(engine, TENANT, model)
        models[model.name] = {"seconds": time.perf_counter() - t0, "rows": rows,
                              "indexes": [list(model.key), *[list(c) for c in model.indexes]]}
    res["models"] = models
    engine.dispose()
    return res


def measure(users: int, groups: int, memberships: int, events: int) -> dict:
    now = datetime.now(timezone.utc).replace(microsecond=0)
    cfg = dict(seed=3, tenants=8, users=users, events=events, days=7, now=now,
               extra_groups=groups, extra_memberships=memberships)
    t0 = time.perf_counter()
    with SandboxProcess(**cfg) as sb:
        gen = time.perf_counter() - t0
        with bench_db("state") as db:
            r = run_child("bench.state_scale", "child", sb.url, sb.token, db, (now - timedelta(days=8)).isoformat(),
                          timeout=3600)
    r["sandbox_generation_seconds"] = gen
    r["config"] = {k: v for k, v in cfg.items() if k != "now"}
    return r


def run(quick: bool) -> tuple[Section, Section]:
    # Extra groups/memberships are on top of the okta-dac groups (Everyone, tenants' USERS_...).
    users, groups, memberships, events = ((10_000, 480, 175_000, 20_000) if quick
                                          else (100_000, 4_950, 1_750_000, 200_000))
    m = measure(users, groups, memberships, events)
    rows = m["rows"]
    full_calls = sum(v["api_calls"] for v in m["full"].values())
    hourly_calls = sum(v["api_calls"] for v in m["hourly"].values())
    s3 = Section(f"3. State at scale ({rows['users']:,} users, {rows['groups']:,} groups, "
                 f"{rows['group_members']:,} memberships)")
    s3.raw = m
    s3.text = ("Real `load_state` for every endpoint in asset order, default LoadOptions (4 workers), sandbox "
               f"unlimited. Sandbox generation took {m['sandbox_generation_seconds']:.0f} s (not counted).\n\n"
               "| endpoint | full: s | full: calls | hourly: s | hourly: calls | hourly mode |\n|---|---|---|---|---|---|\n"
               + "\n".join(f"| {k} | {v['seconds']:.1f} | {v['api_calls']} | {m['hourly'][k]['seconds']:.2f} | "
                           f"{m['hourly'][k]['api_calls']} | {m['hourly'][k]['mode']} |" for k, v in m["full"].items()))
    s3.figures = [
        Figure("full load: wall time", f"{m['full_seconds']:.0f} s (CPU {m['full_cpu']:.0f} s, peak RSS {m['full_rss_mb']:.0f} MB)"),
        Figure("full load: API calls", f"{full_calls:,}"),
        Figure("hourly no-change run: API calls", f"{hourly_calls}", "a small constant (independent of org size)",
               None, "see the per-endpoint table; compare with the quick run's org"),
        Figure("hourly no-change run: wall time", f"{m['hourly_seconds']:.1f} s"),
    ]
    s4 = Section("4. Derived models over that org")
    s4.raw = {"models": m["models"], "raw_indexes": m["raw_indexes"], "log_events": m["log_events"]}
    total = sum(v["seconds"] for v in m["models"].values())
    s4.text = (f"Real `materialize_model` for each model of `models/specs.py`, in build order, over the org above "
               f"plus {rows['log_events']:,} System Log events.\n\n"
               "| model | s | rows | indexes built on it |\n|---|---|---|---|\n"
               + "\n".join(f"| {k} | {v['seconds']:.2f} | {v['rows']:,} | {', '.join('(' + ', '.join(i) + ')' for i in v['indexes'])} |"
                           for k, v in m["models"].items())
               + "\n\nIndexes on the raw tables the models read:\n\n"
               + "\n".join(f"- `{i}`" for i in m["raw_indexes"]))
    s4.figures = [Figure("all models: total time", f"{total:.1f} s"),
                  Figure("slowest model", max(((v['seconds'], k) for k, v in m['models'].items()))[1]
                         + f" ({max(v['seconds'] for v in m['models'].values()):.1f} s)")]
    return s3, s4


if __name__ == "__main__":
    mode, *args = sys.argv[1:]
    print(json.dumps(child(*args)))
