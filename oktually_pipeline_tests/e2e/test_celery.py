"""The same definitions on Dagster's Celery executor: RabbitMQ broker, Redis results, a real worker.

A Celery worker (`dagster-celery worker start` with deploy/celery/celery.yaml) runs in its own
process group; a tenant's job is launched with `dagster job execute` and OKTUALLY_EXECUTOR=celery,
so every step travels through the broker to the worker.
"""

from __future__ import annotations

import json
import socket
import subprocess
import uuid

import dagster as dg
import kombu
import pytest

from oktually_pipeline.deployment import open_deployment_instance
from oktually_pipeline.partitions import today_utc
from oktually_pipeline.processes import Processes, wait_until
from oktually_pipeline.runs import TENANT_TAG, log_events_run_config
from oktually_pipeline_tests.e2e.conftest import (
    BIN,
    REPO_ROOT,
    TENANT,
    pipeline_environment,
)

pytestmark = pytest.mark.slow

BROKER = "amqp://guest:guest@127.0.0.1:5672//"
BACKEND = "redis://127.0.0.1:6379/3"


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def celery_env(pg_admin_url, tmp_path_factory, sandbox_org):
    for port, what in ((5672, "RabbitMQ"), (6379, "Redis")):
        if not _listening(port):
            pytest.fail(f"{what} is not listening on 127.0.0.1:{port}; the Celery test needs it")
    tmp = tmp_path_factory.mktemp("celery")
    with pipeline_environment(tmp, pg_admin_url, sandbox_org) as env:
        # A queue of its own: another test run's worker on this broker never takes these steps.
        queue = f"oktually-test-{uuid.uuid4().hex[:8]}"
        env = {**env, "OKTUALLY_EXECUTOR": "celery", "DAGSTER_CELERY_BROKER_URL": BROKER,
               "DAGSTER_CELERY_BACKEND_URL": BACKEND, "DAGSTER_CELERY_QUEUE": queue}
        processes = Processes(tmp, cwd=REPO_ROOT)
        try:
            processes.start("celery-worker", [
                str(BIN / "dagster-celery"), "worker", "start", "-A", "dagster_celery.app",
                "-y", str(REPO_ROOT / "deploy" / "celery" / "celery.yaml"),
                "--name", queue, "-q", queue, "--loglevel", "INFO",
                "--", "--concurrency=2", "--without-mingle", "--without-gossip",
            ], env)
            wait_until(lambda: processes.check_alive() or "ready" in processes.log("celery-worker"),
                       timeout=90, what="the Celery worker")
            yield env, processes
        finally:
            processes.stop_all()
            with kombu.Connection(BROKER, connect_timeout=10) as conn:
                conn.default_channel.queue_delete(queue)


def test_a_tenant_job_runs_on_celery_workers(celery_env, tmp_path):
    env, processes = celery_env
    marker = uuid.uuid4().hex
    run_config = tmp_path / "run_config.yaml"
    run_config.write_text(json.dumps(log_events_run_config("auto")))  # JSON is YAML
    partition = f"{today_utc()}|{TENANT}"
    tags = {"dagster/partition": partition, TENANT_TAG: TENANT, "oktually/test": marker}
    result = subprocess.run(
        [str(BIN / "dagster"), "job", "execute", "-m", "oktually_pipeline.definitions",
         "-j", "okta_log_events_job", "--tags", json.dumps(tags),
         "--config", str(run_config)],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, (result.stdout[-3000:], result.stderr[-3000:],
                                    processes.log("celery-worker"))

    with open_deployment_instance(env) as instance:
        runs = list(instance.get_runs(filters=dg.RunsFilter(tags={"oktually/test": marker})))
        assert len(runs) == 1
        run = runs[0]
        assert run.status == dg.DagsterRunStatus.SUCCESS
        messages = [e.message or "" for e in instance.all_logs(run.run_id)]
        materialized = instance.get_materialized_partitions(dg.AssetKey("okta_log_events"))
    assert any("in celery worker" in m for m in messages), messages[-20:]
    assert partition in materialized
    assert "okta_log_events" in processes.log("celery-worker", tail=200_000)
