"""End-to-end fixtures: Dagster's webserver and daemon as real processes, a sandbox org, Postgres.

The processes run in their own process groups with known PIDs and are stopped by group, SIGTERM
then SIGKILL (a `dagster dev` parent can leave its children behind; see the Dagster field notes).
Dagster's storage and the warehouse are two fresh databases, dropped at the end.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import dagster as dg
import httpx
import pytest
import yaml

from oktually_pipeline.deployment import (
    deployment_environment,
    open_deployment_instance,
)
from oktually_pipeline.partitions import today_utc
from oktually_pipeline.processes import Processes, free_port, wait_until
from oktually_pipeline_tests.databases import new_database

REPO_ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
TENANT = "acme"


@pytest.fixture(scope="session")
def sandbox_org():
    from oktually_pipeline.sandbox import Sandbox, SandboxConfig

    with Sandbox(SandboxConfig(seed=11, tenants=2, users=40, events=900, days=3,
                               tokens=("e2e-sandbox-token",))) as sb:
        yield sb


@contextmanager
def pipeline_environment(tmp: Path, admin_url: str, sandbox) -> Iterator[dict[str, str]]:
    """Environment of a Postgres-backed Dagster instance reading the sandbox org; instance ready."""
    with new_database(admin_url) as dagster_db, new_database(admin_url) as warehouse_db:
        tenants_file = tmp / "tenants.yaml"
        tenants_file.write_text(yaml.safe_dump({"tenants": [
            {"id": TENANT, "okta_url": sandbox.url, "token_env": "OKTUALLY_E2E_TOKEN_ACME"}]}))
        env = deployment_environment(os.environ, tmp, dagster_db=dagster_db, warehouse_db=warehouse_db,
                                     tenants_file=tenants_file)
        env["OKTUALLY_E2E_TOKEN_ACME"] = sandbox.token
        env["OKTUALLY_ONBOARDING_DAYS"] = "1"
        with open_deployment_instance(env) as instance:
            instance.add_dynamic_partitions("tenant", [TENANT])
        yield env


@dataclass
class Stack:
    url: str
    env: dict[str, str]
    processes: Processes
    home: Path

    def instance(self) -> dg.DagsterInstance:
        return open_deployment_instance(self.env)

    def graphql(self, query: str, variables: dict | None = None) -> dict:
        response = httpx.post(f"{self.url}/graphql", json={"query": query, "variables": variables or {}},
                              timeout=60)
        response.raise_for_status()
        body = response.json()
        assert not body.get("errors"), body["errors"]
        return body["data"]


@pytest.fixture(scope="session")
def dagster_stack(pg_admin_url, tmp_path_factory, sandbox_org) -> Iterator[Stack]:
    """dagster-webserver and dagster-daemon on a Postgres instance, the tenant partition present.

    The partition is added up front, so the tenant sensor has nobody to onboard and the only runs
    are the ones a test asks for (onboarding is covered by the sensor tests).
    """
    tmp = tmp_path_factory.mktemp("e2e")
    with pipeline_environment(tmp, pg_admin_url, sandbox_org) as env:
        processes = Processes(tmp, cwd=REPO_ROOT)
        port = free_port()
        workspace = str(REPO_ROOT / "workspace.yaml")
        try:
            processes.start("webserver", [str(BIN / "dagster-webserver"), "-w", workspace,
                                          "-h", "127.0.0.1", "-p", str(port)], env)
            processes.start("daemon", [str(BIN / "dagster-daemon"), "run", "-w", workspace], env)
            url = f"http://127.0.0.1:{port}"

            def ready() -> bool:
                processes.check_alive()
                return httpx.get(f"{url}/server_info", timeout=5).status_code == 200

            wait_until(ready, timeout=120, what="the Dagster webserver")
            stack = Stack(url, env, processes, Path(env["DAGSTER_HOME"]))
            stop_timed_automation(stack)
            yield stack
        finally:
            processes.stop_all()


REPOSITORY = """
{ repositoriesOrError { ... on RepositoryConnection { nodes {
    schedules { name scheduleState { id status } }
    sensors { name sensorState { id status } }
} } } }
"""
# Timed work would compete with a test's runs for the tenant's single slot (the hourly state run
# takes minutes): the tests switch it off, as an operator can in the UI.
TIMED = {"schedules": ["okta_log_events_hourly", "tenant_refresh_hourly"], "sensors": ["okta_log_events_sensor"]}


def stop_timed_automation(stack: Stack) -> None:
    repo = stack.graphql(REPOSITORY)["repositoriesOrError"]["nodes"][0]
    for schedule in repo["schedules"]:
        if schedule["name"] in TIMED["schedules"]:
            stack.graphql("mutation($id: String) { stopRunningSchedule(id: $id) { __typename } }",
                          {"id": schedule["scheduleState"]["id"]})
    for sensor in repo["sensors"]:
        if sensor["name"] in TIMED["sensors"]:
            stack.graphql("mutation($id: String) { stopSensor(id: $id) { __typename } }",
                          {"id": sensor["sensorState"]["id"]})


LAUNCH_BACKFILL = """
mutation Launch($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message stack }
    ... on InvalidSubsetError { message }
    ... on UnauthorizedError { message }
    ... on PartitionSetNotFoundError { message }
    ... on InvalidStepError { invalidStepKey }
    ... on InvalidOutputError { invalidOutputName }
    ... on RunConflict { message }
    ... on ConflictingExecutionParamsError { message }
    ... on PresetNotFoundError { message }
    ... on NoModeProvidedError { message }
  }
}
"""

BACKFILL_STATUS = """
query Status($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    __typename
    ... on PartitionBackfill { id status numPartitions }
    ... on PythonError { message }
  }
}
"""


@dataclass
class FinishedBackfill:
    backfill_id: str
    days: list[str]
    runs: list[dg.DagsterRun]


@pytest.fixture(scope="session")
def finished_backfill(dagster_stack: Stack) -> FinishedBackfill:
    """A System Log backfill of one tenant over the two past days, launched as the UI does."""
    today = today_utc()
    days = [str(today - timedelta(days=n)) for n in (2, 1)]
    keys = [f"{day}|{TENANT}" for day in days]
    data = dagster_stack.graphql(LAUNCH_BACKFILL, {"params": {
        "assetSelection": [{"path": ["okta_log_events"]}],
        "partitionNames": keys,
        "title": "e2e: acme System Log",
    }})
    launched = data["launchPartitionBackfill"]
    assert launched["__typename"] == "LaunchBackfillSuccess", launched
    backfill_id = launched["backfillId"]

    def done() -> str | None:
        dagster_stack.processes.check_alive()
        status = dagster_stack.graphql(BACKFILL_STATUS, {"id": backfill_id})["partitionBackfillOrError"]
        return status["status"] if status["status"] not in ("REQUESTED", "CANCELING", "FAILING") else None

    status = wait_until(done, timeout=180, interval=2, what=f"backfill {backfill_id}")
    with dagster_stack.instance() as instance:
        runs = list(instance.get_runs(filters=dg.RunsFilter(tags={"dagster/backfill": backfill_id})))
        errors = {
            r.run_id: [e.message for e in instance.all_logs(r.run_id) if e.is_error or "failed" in (e.message or "")][-3:]
            for r in runs if r.status != dg.DagsterRunStatus.SUCCESS
        }
    assert status == "COMPLETED_SUCCESS", (
        status, errors, dagster_stack.processes.log("daemon"))
    return FinishedBackfill(backfill_id, days, runs)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    # Lets fixtures see whether the test failed (the browser test keeps a screenshot then).
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
