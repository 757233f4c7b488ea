"""The deployment configurations validate against the classes they name (no cluster needed)."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import dagster as dg
import pytest
import yaml
from dagster._config import validate_config
from dagster._core.instance.config import dagster_instance_config

from oktually_pipeline.executors import (
    EXECUTORS,
    celery_executor_config,
    executor_from_env,
)
from oktually_pipeline.runs import TENANT_TAG

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
TENANT_LIMIT = {"key": TENANT_TAG, "value": {"applyLimitPerUniqueValue": True}, "limit": 1}


def _class(entry: dict):
    return getattr(importlib.import_module(entry["module"]), entry["class"])


def _assert_valid(cls, config: dict) -> None:
    result = validate_config(cls.config_type(), config)
    assert result.success, [e.message for e in result.errors]


@pytest.mark.parametrize("target", ["k8s", "ecs"])
def test_instance_configs_validate(target):
    config, _ = dagster_instance_config(str(DEPLOY / target))
    for key in ("run_launcher", "run_coordinator"):
        _assert_valid(_class(config[key]), config[key].get("config") or {})
    assert _class(config["run_coordinator"]).__name__ == "TenantQueuedRunCoordinator"
    assert TENANT_LIMIT in config["concurrency"]["runs"]["tag_concurrency_limits"]
    assert config["storage"]["postgres"]["postgres_url"] == {"env": "DAGSTER_PG_URL"}
    if "compute_logs" in config:
        _assert_valid(_class(config["compute_logs"]), config["compute_logs"]["config"])


def test_helm_values_use_the_tenant_coordinator_and_psycopg2():
    values = yaml.safe_load((DEPLOY / "k8s" / "values.yaml").read_text())
    coordinator = values["dagsterDaemon"]["runCoordinator"]
    assert coordinator["type"] == "CustomRunCoordinator"
    custom = coordinator["config"]["customRunCoordinator"]
    _assert_valid(_class(custom), custom["config"])
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    assert TENANT_LIMIT in values["concurrency"]["runs"]["tagConcurrencyLimits"]
    assert values["postgresql"]["postgresqlScheme"] == "postgresql+psycopg2"
    images = {values[k]["image"]["repository"] for k in ("dagsterWebserver", "dagsterDaemon")}
    images |= {d["image"]["repository"] for d in values["dagster-user-deployments"]["deployments"]}
    assert len(images) == 1  # one project image: the coordinator must be importable everywhere
    configs = list(yaml.safe_load_all((DEPLOY / "k8s" / "oktually-config.yaml").read_text()))
    tenants = next(c for c in configs if c["metadata"]["name"] == "oktually-tenants")
    from oktually_pipeline.tenants import parse_tenants

    assert parse_tenants(yaml.safe_load(tenants["data"]["tenants.yaml"]))


def test_ecs_task_definitions_run_the_project_image():
    families = {}
    for path in sorted((DEPLOY / "ecs").glob("*.task.json")):
        task = json.loads(path.read_text())
        (container,) = task["containerDefinitions"]
        families[task["family"]] = container["command"][0]
        env = {e["name"] for e in container["environment"]} | {s["name"] for s in container["secrets"]}
        assert {"DAGSTER_PG_URL", "OKTUALLY_DATABASE_URL", "OKTUALLY_TENANTS"} <= env
    assert families == {"oktually-code-server": "dagster", "oktually-daemon": "dagster-daemon",
                        "oktually-webserver": "dagster-webserver"}
    ecs = yaml.safe_load((DEPLOY / "ecs" / "dagster.yaml").read_text())
    assert ecs["run_launcher"]["config"]["container_name"] == "oktually-code-server"


def test_celery_worker_config_validates(monkeypatch):
    from dagster_celery.cli import get_validated_config

    monkeypatch.setenv("DAGSTER_CELERY_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//")
    monkeypatch.setenv("DAGSTER_CELERY_BACKEND_URL", "redis://127.0.0.1:6379/1")
    config = get_validated_config(str(DEPLOY / "celery" / "celery.yaml"))
    assert config["broker"].startswith("amqp://") and config["backend"].startswith("redis://")


@pytest.mark.parametrize("kind", EXECUTORS)
def test_every_executor_choice_loads(kind):
    environ = {"OKTUALLY_EXECUTOR": kind, "DAGSTER_CELERY_BROKER_URL": "amqp://x//",
               "DAGSTER_CELERY_QUEUE": "q1"}
    executor = executor_from_env(environ)
    assert isinstance(executor, dg.ExecutorDefinition)
    assert executor.name == {"multiprocess": "multiprocess", "celery": "celery", "k8s": "k8s"}[kind]


def test_the_default_executor_forks_steps_from_a_server_that_preloaded_the_definitions():
    resolved = executor_from_env({}).apply_config_mapping({})
    assert resolved.success
    start = resolved.value["config"]["start_method"]
    assert start == {"forkserver": {"preload_modules": ["oktually_pipeline.definitions"]}}


def test_celery_executor_config_comes_from_the_environment():
    assert celery_executor_config({"DAGSTER_CELERY_BROKER_URL": "amqp://x//", "DAGSTER_CELERY_QUEUE": "q1"}) == {
        "broker": {"env": "DAGSTER_CELERY_BROKER_URL"}, "config_source": {"task_default_queue": "q1"}}
    assert celery_executor_config({}) == {}


def test_an_unknown_executor_is_refused():
    with pytest.raises(ValueError, match="OKTUALLY_EXECUTOR"):
        executor_from_env({"OKTUALLY_EXECUTOR": "spark"})
