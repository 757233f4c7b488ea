"""`oktually dev` (what `make dev` runs): the demo's sandbox orgs, then `dagster dev`, until Ctrl-C.

The sandbox orgs are served from this process, the tenant file is written as `oktually demo`
writes it, and `dagster dev` (webserver, daemon and code server) runs in its own process group
with the environment that points it at them. Ctrl-C stops that whole group, politely first.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from oktually_pipeline import settings
from oktually_pipeline.processes import stop_process_group
from oktually_pipeline.runs import prepare_dagster_home

REPO_ROOT = Path(__file__).resolve().parents[1]
PG_URL_ENV = "DAGSTER_PG_URL"


def dagster_pg_url(url: str) -> str:
    """A Postgres URL for Dagster's own storage, with the psycopg2 driver named.

    SQLAlchemy 2.1 maps a bare `postgresql://` to psycopg 3, on which dagster-postgres 0.29.27's
    event log fails (`NOTIFY run_events, %s` is sent as a server-side `$1` parameter). The driver
    dagster-postgres is written for, psycopg2, is installed with it.
    """
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg2://" + url[len(prefix):]
    return url


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def handle_stop_signals() -> None:
    """Ctrl-C and `kill` both stop `oktually dev` cleanly.

    A shell that starts a program in the background (`make dev &`, nohup, CI) leaves SIGINT
    ignored, and Python then never raises KeyboardInterrupt: install the handlers explicitly.
    """
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)


def dev_environment(base: Mapping[str, str], tenants_file: Path, tokens: Mapping[str, str]) -> dict[str, str]:
    """The environment `dagster dev` and every run it launches see."""
    env = dict(base)
    env[settings.TENANTS_ENV] = str(tenants_file)
    for tenant_id, token in tokens.items():
        env[f"OKTUALLY_DEMO_TOKEN_{tenant_id.upper()}"] = token
    if env.get(PG_URL_ENV):
        env[PG_URL_ENV] = dagster_pg_url(env[PG_URL_ENV])
    return env


def dagster_dev_command(host: str, port: int) -> list[str]:
    dagster = Path(sys.executable).with_name("dagster")
    exe = str(dagster) if dagster.exists() else "dagster"
    return [exe, "dev", "-w", str(REPO_ROOT / "workspace.yaml"), "-h", host, "-p", str(port)]


def run_dev(*, host: str = "127.0.0.1", port: int = 3000, events: int = 20_000, users: int = 400) -> int:
    # Imported here: the sandbox and the demo are only needed to run, not for dagster_pg_url.
    from oktually_pipeline.demo import DEMO_DAYS, DEMO_ORGS, write_demo_tenants
    from oktually_pipeline.sandbox import Sandbox, SandboxConfig
    from oktually_pipeline.warehouse.engine import resolve_database_url

    handle_stop_signals()
    if os.environ.get(PG_URL_ENV):
        os.environ[PG_URL_ENV] = dagster_pg_url(os.environ[PG_URL_ENV])
    dagster_home = prepare_dagster_home()
    home = settings.oktually_home()
    tenants_file = home / "demo" / "tenants.yaml"
    # Start the embedded warehouse here, once, so that runs join it instead of racing to start it.
    if not settings.database_url():
        os.environ[settings.DATABASE_URL_ENV] = resolve_database_url()
    sandboxes = {}
    for tid, org in DEMO_ORGS.items():
        # The demo's orgs, sized as `oktually demo` sizes them: a seed, or (seed, relative size).
        seed, scale = org if isinstance(org, tuple) else (org, 1.0)
        sandboxes[tid] = Sandbox(SandboxConfig(
            seed=seed, tenants=6, users=int(users * scale), events=int(events * scale), days=DEMO_DAYS,
            tokens=(f"demo-sandbox-token-{tid}",)))
    started = []
    proc: subprocess.Popen | None = None
    try:
        for sb in sandboxes.values():
            sb.start()
            started.append(sb)
        write_demo_tenants(tenants_file, {tid: sb.url for tid, sb in sandboxes.items()})
        env = dev_environment(os.environ, tenants_file, {tid: sb.token for tid, sb in sandboxes.items()})
        print(f"Sandbox orgs: {', '.join(f'{t} at {sb.url}' for t, sb in sandboxes.items())}")
        print(f"Tenant file: {tenants_file}")
        print(f"Dagster instance: {dagster_home} "
              f"({'Postgres storage' if env.get(PG_URL_ENV) else 'SQLite storage'})")
        print(f"Dagster UI: http://{host}:{port}  (Ctrl-C stops Dagster and the sandbox orgs)\n",
              flush=True)
        proc = subprocess.Popen(dagster_dev_command(host, port), cwd=REPO_ROOT, env=env,
                                start_new_session=True)
        try:
            return proc.wait()
        except KeyboardInterrupt:
            print("\nStopping Dagster ...", flush=True)
            stop_process_group(proc)
            return 0
    finally:
        if proc is not None and proc.poll() is None:
            stop_process_group(proc, grace=5.0)
        for sb in started:
            sb.stop()
