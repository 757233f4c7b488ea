"""Benchmark 5: many tenants' hourly System Log runs through Dagster's run queue, and Dagster's cost per run.

As production runs them: a Postgres-backed Dagster instance (a fresh database; another for the
warehouse) with the repository's dagster.yaml (TenantQueuedRunCoordinator, max_concurrent_runs,
one run per `oktually/tenant` at a time), `dagster-webserver` and `dagster-daemon run` as
processes in their own process groups, and runs launched by the daemon's DefaultRunLauncher: a
run worker process per run, each step of it (the asset, then its two checks) in a subprocess
(the multiprocess executor). N tenants (t00..), each its own warehouse schema and Dagster
partition, all read one sandbox org in its own process, with one token from an environment variable.

The tenant partitions are added before anything starts (the tenant sensor has nobody to onboard),
and the hourly schedules, the System Log sensor and the derived automation are switched off through
GraphQL before the daemon starts, so the only runs are ours. Each tenant is first synced once,
untimed, with `execute_in_process` while the webserver and the daemon start. Then new events
arrive and the timed wave is submitted: for every tenant the run the hourly schedule requests
(`okta_log_events_job`, its partition key, run config and tags, from the schedule's own function),
through the webserver's GraphQL `launchRun`, so it enters the queue and the daemon dequeues it
under the limits. Each run's timeline comes from its run record and event log; CPU from the
daemon's process group. Everything is stopped by process group and the databases dropped.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
import yaml

from bench.common import PY, ROOT, Figure, SandboxProcess, Section, bench_db, median
from oktually_pipeline.processes import Processes, free_port, wait_until

BIN = Path(PY).parent
TOKEN_ENV = "BENCH_OKTA_TOKEN"
BENCH_TAG = "oktually/bench"  # on every run we launch, to tell ours from any other
JOB = "okta_log_events_job"
ASSET_STEP = "okta_log_events"
SELECTOR = {"repositoryLocationName": "oktually_pipeline", "repositoryName": "__repository__", "jobName": JOB}
# The sandbox org's day of events; the timed wave finds an hour's worth of new ones at that rate.
EVENTS_PER_DAY = 12_000
NEW_EVENTS = 500
# Automation that would add runs of its own, switched off as an operator can in the UI: the log
# sensor asks for a run for every tenant that is behind (after the new events, all of them), and
# the derived automation follows each new System Log materialization with a model run for that
# tenant, which would take the tenant's slot and a queue slot in the middle of the wave. The e2e
# tests switch off the first three; the fourth only matters for a wave longer than its 60 s tick.
AUTOMATION = {"schedules": ["okta_log_events_hourly", "tenant_refresh_hourly"],
              "sensors": ["okta_log_events_sensor", "derived_automation_sensor"]}


def tenant_ids(n: int) -> list[str]:
    return [f"t{i:02d}" for i in range(n)]


# -- the instance and its environment --------------------------------------------------------


def environment(tmp: Path, url: str, token: str, dagster_db: str, warehouse_db: str, tenants: list[str]) -> dict[str, str]:
    """What the webserver, the daemon and every run see: one tenant file, one token variable."""
    from oktually_pipeline.deployment import deployment_environment

    tenants_file = tmp / "tenants.yaml"
    tenants_file.write_text(yaml.safe_dump({"tenants": [
        {"id": t, "okta_url": url, "token_env": TOKEN_ENV} for t in tenants]}))
    env = deployment_environment(os.environ, tmp, dagster_db=dagster_db, warehouse_db=warehouse_db,
                                 tenants_file=tenants_file)
    env[TOKEN_ENV] = token
    return env


def open_instance(env: dict[str, str], tenants: list[str]):
    """The deployment's instance, opened here, with the tenant partitions added up front so that
    the tenant sensor has nobody to onboard."""
    from oktually_pipeline.deployment import open_deployment_instance

    instance = open_deployment_instance(env)
    instance.add_dynamic_partitions("tenant", tenants)
    return instance


def max_concurrent_runs() -> int:
    return yaml.safe_load((ROOT / "dagster.yaml").read_text())["concurrency"]["runs"]["max_concurrent_runs"]


# -- processes ---------------------------------------------------------------------------------




def group_cpu(pgid: int) -> float:
    """CPU seconds of a process group's live processes, with those of the children they reaped.

    Run workers are children of the daemon's code server and steps children of their run worker,
    all in the daemon's group: a process that exits is counted in its parent once reaped.
    """
    import psutil

    total = 0.0
    for proc in psutil.process_iter():
        try:
            if os.getpgid(proc.pid) != pgid:
                continue
            t = proc.cpu_times()
        except (psutil.Error, ProcessLookupError):
            continue
        total += t.user + t.system + t.children_user + t.children_system
    return total


# -- GraphQL -------------------------------------------------------------------------------------


def graphql(url: str, query: str, variables: dict | None = None) -> dict:
    response = httpx.post(f"{url}/graphql", json={"query": query, "variables": variables or {}}, timeout=60)
    response.raise_for_status()
    body = response.json()
    if body.get("errors"):
        raise RuntimeError(f"GraphQL errors: {body['errors']}")
    return body["data"]


REPOSITORY = """
{ repositoriesOrError { ... on RepositoryConnection { nodes {
    schedules { name scheduleState { id status } }
    sensors { name sensorState { id status } }
} } } }
"""

LAUNCH_RUN = """
mutation Launch($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId status } }
    ... on PythonError { message }
    ... on RunConfigValidationInvalid { errors { message } }
  }
}
"""


def stop_automation(url: str) -> list[str]:
    """Switch off the hourly schedules, the System Log sensor and the derived automation."""
    repo = graphql(url, REPOSITORY)["repositoriesOrError"]["nodes"][0]
    for schedule in repo["schedules"]:
        if schedule["name"] in AUTOMATION["schedules"]:
            graphql(url, "mutation($id: String) { stopRunningSchedule(id: $id) { __typename } }",
                    {"id": schedule["scheduleState"]["id"]})
    for sensor in repo["sensors"]:
        if sensor["name"] in AUTOMATION["sensors"]:
            graphql(url, "mutation($id: String) { stopSensor(id: $id) { __typename } }",
                    {"id": sensor["sensorState"]["id"]})
    # Read back: a renamed schedule or a failed mutation must not go unnoticed.
    repo = graphql(url, REPOSITORY)["repositoriesOrError"]["nodes"][0]
    states = {**{s["name"]: s["scheduleState"]["status"] for s in repo["schedules"]},
              **{s["name"]: s["sensorState"]["status"] for s in repo["sensors"]}}
    wanted = AUTOMATION["schedules"] + AUTOMATION["sensors"]
    if any(states.get(name) != "STOPPED" for name in wanted):
        raise RuntimeError(f"automation still on: {states}")
    return wanted


def hourly_requests(instance, env: dict[str, str]) -> list[dict]:
    """What the hourly schedule would request now, one per tenant, as `launchRun` parameters.

    The schedule's own function gives partition key, run config and tags; the partition's own
    tags are added as the schedule daemon adds them when it creates the run.
    """
    import dagster as dg

    from oktually_pipeline.deployment import instance_environment
    from oktually_pipeline.partitions import tenant_day_partitions
    from oktually_pipeline.schedules import okta_log_events_hourly

    # The context reopens the instance from its ref, which reads the storage URL again.
    with instance_environment(env):
        context = dg.build_schedule_context(instance=instance, scheduled_execution_time=datetime.now(timezone.utc))
        requests = okta_log_events_hourly(context)
    params = []
    for request in requests:
        tags = {**request.tags, **tenant_day_partitions.get_tags_for_partition_key(request.partition_key),
                BENCH_TAG: "timed"}
        params.append({"selector": SELECTOR, "runConfigData": request.run_config,
                       "executionMetadata": {"tags": [{"key": k, "value": v} for k, v in tags.items()]}})
    return params


def launch(url: str, params: dict) -> str:
    got = graphql(url, LAUNCH_RUN, {"params": params})["launchRun"]
    if got["__typename"] != "LaunchRunSuccess":
        raise RuntimeError(f"launchRun: {got}")
    return got["run"]["runId"]


# -- the stack ---------------------------------------------------------------------------------


def start_webserver(procs: Processes, env: dict[str, str]) -> str:
    port = free_port()
    procs.start("webserver", [str(BIN / "dagster-webserver"), "-w", str(ROOT / "workspace.yaml"),
                              "-h", "127.0.0.1", "-p", str(port)], env)
    url = f"http://127.0.0.1:{port}"

    def loaded() -> bool:
        procs.check_alive(may_exit=["first_sync"])
        # Up once the code location answers, not just the HTTP server.
        return bool(graphql(url, REPOSITORY)["repositoriesOrError"].get("nodes"))

    wait_until(loaded, timeout=120, what="the Dagster webserver and its code location", interval=0.5)
    return url


def start_daemon(procs: Processes, env: dict[str, str], instance) -> None:
    """Start `dagster-daemon run`; return once its run queue loop has reported in."""
    t0 = time.time()
    procs.start("daemon", [str(BIN / "dagster-daemon"), "run", "-w", str(ROOT / "workspace.yaml")], env)

    def queue_daemon_up() -> bool:
        procs.check_alive(may_exit=["first_sync"])
        beat = instance.get_daemon_heartbeats().get("QUEUED_RUN_COORDINATOR")
        return beat is not None and beat.timestamp >= t0

    wait_until(queue_daemon_up, timeout=120, what="the daemon's run queue", interval=0.5)


def first_sync(procs: Processes, env: dict[str, str], tenants: list[str]) -> subprocess.Popen:
    """Each tenant's first sync, untimed, in a child while the webserver and the daemon start."""
    return procs.start("first_sync", [PY, "-m", "bench.many_tenants", "first_sync", ",".join(tenants)], env)


def child_first_sync(tenants_csv: str) -> dict:
    from oktually_pipeline import runs
    from oktually_pipeline.automation import tenant_run_tags
    from oktually_pipeline.partitions import tenant_day_key, today_utc

    instance = runs.dagster_instance()
    ok = 0
    for t in tenants_csv.split(","):
        out = runs._execute(instance, JOB, partition_key=str(tenant_day_key(t, today_utc())),
                            tags={**tenant_run_tags(t, "bench"), BENCH_TAG: "first-sync"},
                            run_config=runs.log_events_run_config("incremental"))
        ok += out.success
    return {"synced": ok}


# -- reading what happened ---------------------------------------------------------------------


def wait_finished(instance, run_ids: list[str], procs: Processes, timeout: float) -> list:
    import dagster as dg

    def done():
        procs.check_alive(may_exit=["first_sync"])
        records = instance.get_run_records(filters=dg.RunsFilter(run_ids=run_ids))
        finished = [r for r in records if r.dagster_run.is_finished]
        return records if len(finished) == len(run_ids) else None

    return wait_until(done, timeout=timeout, what=f"{len(run_ids)} runs to finish", interval=0.25)


def timeline(instance, record) -> dict[str, Any]:
    """One run's moments (epoch seconds) from its record and event log, and each step's."""
    import dagster as dg

    E = dg.DagsterEventType
    run_events = {E.RUN_DEQUEUED: "dequeued", E.RUN_STARTING: "launched"}
    step_events = {E.STEP_WORKER_STARTING: "worker", E.STEP_START: "start", E.STEP_SUCCESS: "end"}
    run = record.dagster_run
    t: dict[str, Any] = {"tenant": run.tags.get("oktually/tenant"), "status": run.status.value,
                         "created": record.create_timestamp.timestamp(), "start": record.start_time,
                         "end": record.end_time, "steps": {}}
    for entry in instance.all_logs(run.run_id):
        event = entry.dagster_event
        if event is None:
            if entry.user_message.startswith(f"{t['tenant']}: {{"):
                t["asset_done"] = entry.timestamp  # the asset's last log line, just before it returns
        elif event.event_type == E.ENGINE_EVENT and (event.message or "").startswith("Started process for run"):
            # The code server's StartRun (so the daemon's launch) returns once the spawned run
            # worker has loaded the run: this is that moment.
            t.setdefault("worker_up", entry.timestamp)
        elif event.event_type in run_events:
            t.setdefault(run_events[event.event_type], entry.timestamp)
        elif event.event_type in step_events and event.step_key:
            t["steps"].setdefault(event.step_key, {}).setdefault(step_events[event.event_type], entry.timestamp)
    return t


def covered(intervals: list[tuple[float, float]]) -> float:
    """Seconds covered by the union of `intervals` (the check steps run side by side)."""
    total, reach = 0.0, float("-inf")
    for a, b in sorted(intervals):
        if b > reach:
            total += b - max(a, reach)
            reach = b
    return total


def spans(t: dict[str, Any]) -> dict[str, float]:
    """The parts of one run, in seconds."""
    launched = t.get("launched", t.get("dequeued"))
    asset = t["steps"][ASSET_STEP]
    steps = [(s["start"], s["end"]) for s in t["steps"].values() if "end" in s]
    work = covered(steps)
    return {
        "queued": launched - t["created"],             # waiting in the queue for the daemon
        "worker_start": t["start"] - launched,         # DefaultRunLauncher: run worker process up
        "launch": t.get("worker_up", t["start"]) - launched,  # how long the launch held the daemon
        "queue_wait": t["start"] - t["created"],       # both: create_timestamp -> start_time
        "run_wall": t["end"] - t["start"],             # start_time -> end_time
        "asset_step": asset["end"] - asset["start"],   # the okta_log_events step itself
        "asset_body": t.get("asset_done", asset["end"]) - asset["start"],
        "checks": covered([(s["start"], s["end"]) for k, s in t["steps"].items() if k != ASSET_STEP and "end" in s]),
        "work": work,                                  # all steps' own time (asset, then its checks)
        # The multiprocess executor starts every step in a process of its own.
        "step_process_start": median([s["start"] - s["worker"] for s in t["steps"].values() if "worker" in s]),
        "overhead": (t["end"] - t["start"]) - work,
        "overhead_asset_only": (t["end"] - t["start"]) - (asset["end"] - asset["start"]),
        "launched_to_end_overhead": (t["end"] - launched) - work,
        "latency": t["end"] - t["created"],
    }


def peak_concurrency(intervals: list[tuple[float, float]]) -> int:
    # Ends sort before starts at the same instant: a run ending as another starts is not overlap.
    points = sorted([(a, 1) for a, _ in intervals] + [(b, -1) for _, b in intervals], key=lambda p: (p[0], p[1]))
    running = peak = 0
    for _, d in points:
        running += d
        peak = max(peak, running)
    return peak


# -- the measurement ---------------------------------------------------------------------------


def bring_up(procs: Processes, env: dict[str, str], instance, tenants: list[str]) -> tuple[str, dict]:
    """Webserver, automation off, daemon, and every tenant's first sync; untimed. Returns the URL."""
    t0 = time.time()
    took: dict[str, Any] = {}  # seconds from the start, per phase
    # The first sync shares the cores with the webserver's and the daemon's start: all untimed.
    sync = first_sync(procs, env, tenants)
    url = start_webserver(procs, env)
    took["webserver_s"] = time.time() - t0
    # Off before the daemon starts: its first sensor ticks would otherwise launch runs.
    took["stopped"] = stop_automation(url)
    start_daemon(procs, env, instance)
    took["daemon_s"] = time.time() - t0
    if sync.wait(timeout=600) != 0:
        raise RuntimeError("first sync failed:\n" + procs.log("first_sync"))
    took["synced_first"] = json.loads(procs.log("first_sync").strip().splitlines()[-1])["synced"]
    took["first_sync_s"] = time.time() - t0
    return url, took


def timed_wave(url: str, procs: Processes, instance, requests: list[dict]) -> dict:
    """Submit every request through GraphQL, wait for all the runs to end, read their timelines."""
    groups = {name: procs.procs[name].pid for name in ("daemon", "webserver")}
    cpu0 = {name: group_cpu(pgid) for name, pgid in groups.items()}
    submitted = time.time()
    run_ids = [launch(url, p) for p in requests]
    submit_s = time.time() - submitted
    records = wait_finished(instance, run_ids, procs, timeout=600)
    cpu = {name: group_cpu(pgid) - cpu0[name] for name, pgid in groups.items()}
    failed = {r.dagster_run.run_id: [e.user_message[:300] for e in instance.all_logs(r.dagster_run.run_id)
                                     if e.is_dagster_event and e.dagster_event.is_failure][-3:]
              for r in records if r.dagster_run.status.value != "SUCCESS"}
    others = [{"job": r.job_name, "trigger": r.tags.get("oktually/trigger"), "status": r.status.value}
              for r in instance.get_runs() if r.tags.get(BENCH_TAG) is None]
    return {"submitted": submitted, "submit_all": submit_s, "cpu_s": cpu, "failed": failed, "other_runs": others,
            "lines": [timeline(instance, r) for r in records]}


def summarize(wave: dict) -> dict:
    lines = wave.pop("lines")
    ok = [t for t in lines if t["status"] == "SUCCESS"]
    if not ok:
        raise RuntimeError(f"no run succeeded: {wave['failed']}")
    parts = [spans(t) for t in ok]
    launched = sorted(t.get("launched", t["start"]) for t in ok)
    total = max(t["end"] for t in lines if t["end"]) - wave["submitted"]
    return {
        **wave, "succeeded": len(ok), "total": total,
        "cpu_per_run": wave["cpu_s"]["daemon"] / len(lines),
        "cores_busy": wave["cpu_s"]["daemon"] / total,
        "max_concurrent_runs": max_concurrent_runs(),
        "peak_started": peak_concurrency([(t["start"], t["end"]) for t in ok]),
        "peak_launched": peak_concurrency([(t.get("launched", t["start"]), t["end"]) for t in ok]),
        # The daemon launches queued runs one at a time: the spacing of those launches.
        "launch_gap": median([b - a for a, b in itertools.pairwise(launched)]),
        "medians": {k: median([p[k] for p in parts]) for k in parts[0]},
        "maxima": {k: max(p[k] for p in parts) for k in parts[0]},
        "runs": [{**t, **(spans(t) if t["status"] == "SUCCESS" else {})} for t in lines],
    }


def measure(n: int, new_events: int) -> dict:
    tenants = tenant_ids(n)
    with SandboxProcess(seed=5, tenants=4, users=300, events=EVENTS_PER_DAY, days=1) as sb, \
            bench_db("dagster") as dagster_db, bench_db("tenants") as warehouse_db, \
            tempfile.TemporaryDirectory(prefix="bench-dagster-") as tmp_name:
        tmp = Path(tmp_name)
        env = environment(tmp, sb.url, sb.token, dagster_db, warehouse_db, tenants)
        procs = Processes(tmp, cwd=ROOT)
        instance = open_instance(env, tenants)
        try:
            url, setup = bring_up(procs, env, instance, tenants)
            sb.cmd(f"append {new_events}")
            wave = timed_wave(url, procs, instance, hourly_requests(instance, env))
            wave["sandbox_429"] = sb.cmd("stats").get("429")
        finally:
            t_stop = time.time()
            procs.stop_all()
            instance.dispose()
        setup["stop_s"] = time.time() - t_stop
    return {"tenants": n, "new_events": new_events, "setup": setup, **summarize(wave)}


def run(quick: bool) -> Section:
    n = 5 if quick else 20
    m = measure(n, NEW_EVENTS)
    med, mx, limit = m["medians"], m["maxima"], m["max_concurrent_runs"]
    sec = Section(f"5. Many tenants ({n} tenants' hourly System Log runs through Dagster's run queue)")
    sec.raw = m
    if n <= limit:
        bound = f"{n} runs can never reach max_concurrent_runs {limit}"
    elif m["peak_launched"] < limit:
        bound = (f"max_concurrent_runs {limit} was never reached: the daemon launches queued runs one at a time, and "
                 "each launch waits until the code server's freshly spawned run worker process reports in, so "
                 f"launches came {m['launch_gap']:.1f} s apart (median) and early runs ended before the queue "
                 "could fill every slot")
    else:
        bound = f"the queue held the other runs back at max_concurrent_runs {limit}"
    sec.text = (
        "As in production: a Postgres-backed Dagster instance with the repository's dagster.yaml "
        f"(TenantQueuedRunCoordinator, max_concurrent_runs {limit}, one run per `oktually/tenant`), "
        "`dagster-webserver` and `dagster-daemon run` as processes of their own, runs launched by the daemon's "
        "DefaultRunLauncher (a run worker process per run, started by the code server) with the multiprocess "
        "executor (each step in a subprocess forked from a forkserver that imported the definitions once: "
        "the `okta_log_events` step, then its two asset checks). "
        f"{n} tenants (t00..) read the same sandbox org (own process, {EVENTS_PER_DAY:,} events a day). Tenant "
        "partitions were added before the daemon started; the hourly schedules, the System Log sensor and the "
        "derived automation were switched off through GraphQL, so these were the only runs. Each tenant was "
        f"synced once, untimed (`execute_in_process`); then {m['new_events']} new events arrived (an hour's worth) "
        f"and the {n} run requests of the hourly schedule (its own function: `okta_log_events_job`, today's "
        "`date|tenant` partition, mode incremental, its tags) were submitted one after another through GraphQL "
        "`launchRun`. They entered the queue and the daemon dequeued them. Wall time runs from the first "
        "submit to the last run's end. Per run, from its record and event log: queue wait = created -> RUN_START, "
        "which is the time in the queue (until RUN_STARTING: the daemon looks at the queue every 5 s and launches "
        "one run at a time) "
        "plus the run worker's start (RUN_STARTING -> RUN_START); run wall = RUN_START -> RUN_SUCCESS; the steps' "
        "own work = the union of the three steps' STEP_START -> STEP_SUCCESS; Dagster's overhead = run wall - "
        "that work (mostly starting three step subprocesses and their event traffic), and from launch to end "
        "it also counts the run worker's start. CPU per run = CPU seconds of the daemon's process group (daemon, "
        "its code server, run workers, steps) during the wave, divided by the runs. All of it shares the "
        f"machine's {os.cpu_count()} cores, so every figure above the step's own includes waiting for a core. "
        f"Peak concurrency: {m['peak_started']} runs executing at once, {m['peak_launched']} launched "
        f"(RUN_STARTING -> end); {bound}."
    )
    sec.figures = [
        Figure(f"{n} hourly runs through the queue: wall time",
               f"{m['total']:.1f} s ({m['succeeded']}/{n} succeeded; submitting all took {m['submit_all']:.1f} s)"),
        Figure("peak concurrent runs",
               f"{m['peak_started']} executing, {m['peak_launched']} launched (max_concurrent_runs {limit}; "
               f"the daemon launched one every {m['launch_gap']:.1f} s, each launch holding it "
               f"{med['launch']:.1f} s)"),
        Figure("per run: queue wait (median / max)",
               f"{med['queue_wait']:.1f} / {mx['queue_wait']:.1f} s (medians: {med['queued']:.1f} s in the queue, "
               f"{med['worker_start']:.1f} s run worker start)"),
        Figure("per run: run wall (median)", f"{med['run_wall']:.1f} s"),
        Figure("per run: the steps' own work (median)",
               f"{med['work']:.2f} s (`okta_log_events` step {med['asset_step']:.2f} s, its checks "
               f"{med['checks']:.2f} s)"),
        Figure("per run: Dagster overhead (median)",
               f"{med['overhead']:.1f} s of the run wall ({med['step_process_start']:.1f} s to start each step's "
               f"process); {med['launched_to_end_overhead']:.1f} s from launch to end"),
        Figure("per run: CPU (daemon, code server, run worker, steps)",
               f"{m['cpu_per_run']:.1f} s (the daemon's group kept {m['cores_busy']:.1f} of {os.cpu_count()} cores busy "
               "during the wave)"),
    ]
    return sec


if __name__ == "__main__":
    mode, *args = sys.argv[1:]
    if mode == "first_sync":
        print(json.dumps(child_first_sync(*args)))
    elif mode == "measure":  # `python -m bench.many_tenants measure 5`: one measurement, raw JSON
        print(json.dumps(measure(int(args[0]), NEW_EVENTS), indent=1, default=str))
