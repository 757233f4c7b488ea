"""Benchmark 5: many tenants' hourly System Log runs through Dagster's run queue, and Dagster's cost per run.

As production runs them: a Postgres-backed Dagster instance with the repository's dagster.yaml
(TenantQueuedRunCoordinator, max_concurrent_runs, one run per `oktually/tenant` at a time),
`dagster-webserver` and `dagster-daemon run` as real processes in their own process groups, and
runs launched by the daemon's DefaultRunLauncher (a run worker process per run, the step in a
subprocess of it: the multiprocess executor). N tenants (t00..), each its own warehouse schema
and Dagster partition, all read one sandbox org in its own process, with one token from an
environment variable.

The tenant partitions are added before the daemon starts (the tenant sensor has nobody to
onboard), and the hourly schedules and the System Log sensor are switched off through GraphQL
before it starts too, so the only runs are ours. Each tenant is first synced once, untimed, with
`execute_in_process` while the webserver starts. Then new events arrive and the timed wave is
launched: for every tenant the run the hourly schedule requests (`okta_log_events_job`, its
partition key, run config and tags, from the schedule's own function), through the webserver's
GraphQL `launchRun`, so it enters the queue and the daemon dequeues it under the limits. Each
run's timeline comes from its run record and event log.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
import yaml

from bench.common import PY, ROOT, Figure, SandboxProcess, Section, bench_db, median

BIN = Path(PY).parent
TOKEN_ENV = "BENCH_OKTA_TOKEN"
BENCH_TAG = "oktually/bench"  # on every run we launch, to tell ours from any other
JOB = "okta_log_events_job"
ASSET_STEP = "okta_log_events"
SELECTOR = {"repositoryLocationName": "oktually_pipeline", "repositoryName": "__repository__", "jobName": JOB}
# The sandbox org's day of events; the timed wave finds an hour's worth of new ones at that rate.
EVENTS_PER_DAY = 12_000
NEW_EVENTS = 500
# Timed work would add runs of its own (the log sensor asks for a run for every tenant that is
# behind, which after the new events is all of them): switched off, as the e2e tests do.
TIMED = {"schedules": ["okta_log_events_hourly", "tenant_refresh_hourly"], "sensors": ["okta_log_events_sensor"]}


def tenant_ids(n: int) -> list[str]:
    return [f"t{i:02d}" for i in range(n)]


# -- the instance and its environment --------------------------------------------------------


@contextlib.contextmanager
def _environ(values: dict[str, str]) -> Iterator[None]:
    """os.environ with `values` set, restored afterwards (the next sections must not see them)."""
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def environment(tmp: Path, url: str, token: str, dagster_db: str, warehouse_db: str, tenants: list[str]) -> dict[str, str]:
    """What the webserver, the daemon and every run see: one tenant file, one token variable."""
    from oktually_pipeline.dev import dagster_pg_url

    tenants_file = tmp / "tenants.yaml"
    tenants_file.write_text(yaml.safe_dump({"tenants": [
        {"id": t, "okta_url": url, "token_env": TOKEN_ENV} for t in tenants]}))
    return {
        **os.environ,
        # `dagster api ...` subprocesses are found on PATH: this venv's.
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "DAGSTER_HOME": str(tmp / "dagster_home"),
        "DAGSTER_PG_URL": dagster_pg_url(dagster_db),
        "OKTUALLY_DATABASE_URL": warehouse_db,
        "OKTUALLY_TENANTS": str(tenants_file),
        "OKTUALLY_HOME": str(tmp / "oktually_home"),
        "OKTUALLY_EXTRACTS_URL": str(tmp / "extracts"),
        TOKEN_ENV: token,
        "OKTUALLY_EXECUTOR": "multiprocess",
        "DAGSTER_DISABLE_TELEMETRY": "1",
    }


def instance_vars(env: dict[str, str]) -> dict[str, str]:
    """What opening the instance here needs: its dagster.yaml reads the storage URL from the environment."""
    return {"DAGSTER_HOME": env["DAGSTER_HOME"], "DAGSTER_PG_URL": env["DAGSTER_PG_URL"]}


def open_instance(env: dict[str, str], tenants: list[str]):
    """DAGSTER_HOME written from the repository's dagster.yaml, the instance opened here.

    Opening it creates Dagster's tables once, before the webserver and daemon would race to; the
    tenant partitions are added now so that the tenant sensor has nobody to onboard.
    """
    import dagster as dg

    from oktually_pipeline.runs import prepare_dagster_home

    with _environ(instance_vars(env)):
        prepare_dagster_home()
        instance = dg.DagsterInstance.from_config(env["DAGSTER_HOME"])
    instance.add_dynamic_partitions("tenant", tenants)
    return instance


def max_concurrent_runs() -> int:
    return yaml.safe_load((ROOT / "dagster.yaml").read_text())["concurrency"]["runs"]["max_concurrent_runs"]


# -- processes ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


@dataclass
class Processes:
    """Child processes, each the leader of its own process group (run workers join the daemon's)."""

    log_dir: Path
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)

    def start(self, name: str, cmd: list[str], env: dict[str, str]) -> subprocess.Popen:
        log = (self.log_dir / f"{name}.log").open("wb")
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        self.procs[name] = proc
        return proc

    def log(self, name: str, tail: int = 3000) -> str:
        path = self.log_dir / f"{name}.log"
        return path.read_text(errors="replace")[-tail:] if path.exists() else ""

    def check_alive(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None and name != "first_sync":
                raise RuntimeError(f"{name} exited with {proc.returncode}:\n{self.log(name)}")

    def stop_all(self) -> None:
        # dagster-webserver lets SIGTERM pass unanswered: a short grace, then SIGKILL, by group.
        for sig, grace in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
            alive = [p for p in self.procs.values() if _group_alive(p.pid)]
            for proc in alive:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, sig)
            deadline = time.monotonic() + grace
            while any(_group_alive(p.pid) for p in alive) and time.monotonic() < deadline:
                for proc in alive:
                    proc.poll()
                time.sleep(0.2)
        for proc in self.procs.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)


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


def wait_until(check: Callable[[], Any], *, timeout: float, what: str, interval: float = 0.5) -> Any:
    """Poll `check` until it returns something truthy; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except (httpx.HTTPError, OSError) as exc:  # a server still starting
            last = exc
        else:
            if last:
                return last
        time.sleep(interval)
    raise RuntimeError(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")


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


def stop_timed_automation(url: str) -> list[str]:
    """Switch off the hourly schedules and the System Log sensor, as an operator can in the UI."""
    repo = graphql(url, REPOSITORY)["repositoriesOrError"]["nodes"][0]
    stopped = []
    for schedule in repo["schedules"]:
        if schedule["name"] in TIMED["schedules"]:
            graphql(url, "mutation($id: String) { stopRunningSchedule(id: $id) { __typename } }",
                    {"id": schedule["scheduleState"]["id"]})
            stopped.append(schedule["name"])
    for sensor in repo["sensors"]:
        if sensor["name"] in TIMED["sensors"]:
            graphql(url, "mutation($id: String) { stopSensor(id: $id) { __typename } }",
                    {"id": sensor["sensorState"]["id"]})
            stopped.append(sensor["name"])
    return stopped


def hourly_requests(instance, env: dict[str, str]) -> list[dict]:
    """What the hourly schedule would request now, one per tenant, as `launchRun` parameters.

    The schedule's own function gives partition key, run config and tags; the partition's own
    tags are added as the schedule daemon adds them when it creates the run.
    """
    import dagster as dg

    from oktually_pipeline.partitions import tenant_day_partitions
    from oktually_pipeline.schedules import okta_log_events_hourly

    # The context reopens the instance from its ref, which reads the storage URL again.
    with _environ(instance_vars(env)):
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
        procs.check_alive()
        # Up once the code location answers, not just the HTTP server.
        return bool(graphql(url, REPOSITORY)["repositoriesOrError"].get("nodes"))

    wait_until(loaded, timeout=120, what="the Dagster webserver and its code location")
    return url


def start_daemon(procs: Processes, env: dict[str, str], instance) -> None:
    """Start `dagster-daemon run`; return once its run queue loop has reported in."""
    t0 = time.time()
    procs.start("daemon", [str(BIN / "dagster-daemon"), "run", "-w", str(ROOT / "workspace.yaml")], env)

    def queue_daemon_up() -> bool:
        procs.check_alive()
        beat = instance.get_daemon_heartbeats().get("QUEUED_RUN_COORDINATOR")
        return beat is not None and beat.timestamp >= t0

    wait_until(queue_daemon_up, timeout=120, what="the daemon's run queue")


def first_sync(procs: Processes, env: dict[str, str], tenants: list[str]) -> subprocess.Popen:
    """Each tenant's first sync, untimed, in a child while the webserver starts."""
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
        procs.check_alive()
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


def measure(n: int, new_events: int) -> dict:
    tenants = tenant_ids(n)
    t_setup = time.time()
    setup: dict[str, float] = {}  # seconds from the start of the measurement, untimed phases
    with SandboxProcess(seed=5, tenants=4, users=300, events=EVENTS_PER_DAY, days=1) as sb, \
            bench_db("dagster") as dagster_db, bench_db("tenants") as warehouse_db, \
            tempfile.TemporaryDirectory(prefix="bench-dagster-") as tmp_name:
        tmp = Path(tmp_name)
        env = environment(tmp, sb.url, sb.token, dagster_db, warehouse_db, tenants)
        procs = Processes(tmp)
        instance = open_instance(env, tenants)
        try:
            # The first sync shares the two cores with the webserver's and the daemon's start: all untimed.
            sync = first_sync(procs, env, tenants)
            url = start_webserver(procs, env)
            setup["webserver_s"] = time.time() - t_setup
            # Off before the daemon starts: its first sensor tick would otherwise launch runs.
            stopped = stop_timed_automation(url)
            start_daemon(procs, env, instance)
            setup["daemon_s"] = time.time() - t_setup
            if sync.wait(timeout=600) != 0:
                raise RuntimeError("first sync failed:\n" + procs.log("first_sync"))
            synced = json.loads(procs.log("first_sync").strip().splitlines()[-1])["synced"]
            setup["first_sync_s"] = time.time() - t_setup
            sb.cmd(f"append {new_events}")
            requests = hourly_requests(instance, env)

            groups = {name: procs.procs[name].pid for name in ("daemon", "webserver")}
            cpu0 = {name: group_cpu(pgid) for name, pgid in groups.items()}
            submitted = time.time()
            run_ids = [launch(url, p) for p in requests]
            submit_s = time.time() - submitted
            records = wait_finished(instance, run_ids, procs, timeout=600)
            cpu = {name: group_cpu(pgid) - cpu0[name] for name, pgid in groups.items()}
            lines = [timeline(instance, r) for r in records]
            others = [r.run_id for r in instance.get_runs() if r.tags.get(BENCH_TAG) is None]
            sandbox = sb.cmd("stats")
        finally:
            t_stop = time.time()
            procs.stop_all()
            instance.dispose()
            setup["stop_s"] = time.time() - t_stop
    ok = [t for t in lines if t["status"] == "SUCCESS"]
    parts = [spans(t) for t in ok]
    last_end = max(t["end"] for t in lines if t["end"])
    return {
        "tenants": n, "new_events": new_events, "synced_first": synced, "succeeded": len(ok),
        "total": last_end - submitted, "submit_all": submit_s, "cpu_s": cpu,
        "setup": setup, "stopped": stopped,
        "max_concurrent_runs": max_concurrent_runs(),
        "peak_started": peak_concurrency([(t["start"], t["end"]) for t in ok]),
        "peak_launched": peak_concurrency([(t.get("launched", t["start"]), t["end"]) for t in ok]),
        "other_runs": others, "sandbox_429": sandbox.get("429"),
        "medians": {k: median([p[k] for p in parts]) for k in (parts[0] if parts else {})},
        "maxima": {k: max(p[k] for p in parts) for k in (parts[0] if parts else {})},
        "runs": [{**t, **(spans(t) if t["status"] == "SUCCESS" else {})} for t in lines],
    }


def run(quick: bool) -> Section:
    n = 5 if quick else 20
    m = measure(n, NEW_EVENTS)
    med, mx = m["medians"], m["maxima"]
    sec = Section(f"5. Many tenants ({n} tenants' hourly System Log runs through Dagster's run queue)")
    sec.raw = m
    sec.text = (
        f"A Postgres-backed Dagster instance with the repository's dagster.yaml (TenantQueuedRunCoordinator, "
        f"max_concurrent_runs {m['max_concurrent_runs']}, one run per `oktually/tenant`), `dagster-webserver` and "
        "`dagster-daemon run` as real processes; runs launched by the DefaultRunLauncher (a run worker process per "
        "run, the step in a subprocess of it). Hourly schedules and the System Log sensor switched off, tenant "
        f"partitions added up front, so only these runs ran. {n} tenants read the same sandbox org (own process); "
        f"each was synced once untimed (`execute_in_process`), then {m['new_events']} new events arrived and the "
        f"hourly schedule's {n} requests (`okta_log_events_job`, today's `date|tenant` partition, mode "
        "incremental, its tags) were submitted one after another through GraphQL `launchRun` and left to the "
        "queue. Wall time runs from the first submit to the last run's end. Per run: queue wait = record "
        "created -> RUN_START (of which in the queue until the daemon launched it, then the run worker's "
        "process start), run wall = RUN_START -> RUN_SUCCESS, step = the `okta_log_events` step's "
        "STEP_START -> STEP_SUCCESS, Dagster overhead = run wall - step (excludes the run worker's start; "
        "\"launch to end\" includes it). Everything shares the machine's cores, so the step times include "
        "contention with the other runs' process starts."
    )
    sec.figures = [
        Figure(f"{n} hourly runs through the queue: wall time",
               f"{m['total']:.1f} s ({m['succeeded']}/{n} succeeded; submitting took {m['submit_all']:.1f} s)"),
        Figure("peak concurrent runs",
               f"{m['peak_started']} running, {m['peak_launched']} launched (max_concurrent_runs {m['max_concurrent_runs']})"),
        Figure("per run: queue wait (median / max)",
               f"{med['queue_wait']:.1f} / {mx['queue_wait']:.1f} s (in the queue {med['queued']:.1f} s, "
               f"run worker start {med['worker_start']:.1f} s, medians)"),
        Figure("per run: run wall (median)", f"{med['run_wall']:.2f} s"),
        Figure("per run: the okta_log_events step (median)",
               f"{med['step']:.2f} s (asset body to its last log line {med['asset']:.2f} s)"),
        Figure("per run: Dagster overhead (median)",
               f"{med['overhead']:.2f} s of run wall; {med['launched_to_end_overhead']:.2f} s from launch to end"),
    ]
    return sec


if __name__ == "__main__":
    mode, *args = sys.argv[1:]
    if mode == "first_sync":
        print(json.dumps(child_first_sync(*args)))
    elif mode == "measure":  # `python -m bench.many_tenants measure 5`: one measurement, raw JSON
        print(json.dumps(measure(int(args[0]), NEW_EVENTS), indent=1, default=str))
