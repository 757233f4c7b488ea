"""Which Dagster executor runs the steps of a run: chosen per deployment by OKTUALLY_EXECUTOR.

* `multiprocess` (default): every step in a subprocess of the run worker, forked from a
  forkserver that preloads the definitions. Enough whenever a run is one tenant's partition,
  which is how the schedules and sensors slice the work.
* `celery`: steps go to Celery workers (`dagster-celery worker start -A dagster_celery.app -y
  celery.yaml`) through the broker in DAGSTER_CELERY_BROKER_URL, results through
  DAGSTER_CELERY_BACKEND_URL (default `rpc://`), on the queue DAGSTER_CELERY_QUEUE (default
  `dagster`; start workers with `-q` the same). Workers load the same definitions and must see
  the same DAGSTER_HOME, warehouse and tenant file.
* `k8s`: dagster-k8s's `k8s_job_executor`, one Kubernetes Job per step (see deploy/k8s).

The choice is read when the definitions load, because a job has exactly one executor; the broker
URLs are resolved by Dagster when a run starts.
"""

from __future__ import annotations

import os

import dagster as dg

EXECUTOR_ENV = "OKTUALLY_EXECUTOR"
BROKER_ENV = "DAGSTER_CELERY_BROKER_URL"
BACKEND_ENV = "DAGSTER_CELERY_BACKEND_URL"
QUEUE_ENV = "DAGSTER_CELERY_QUEUE"
EXECUTORS = ("multiprocess", "celery", "k8s")


# Steps fork from a server that imported the definitions once, instead of each step spawning a
# fresh interpreter that imports Dagster and the definitions again (seconds a step; bench 5).
MULTIPROCESS = dg.multiprocess_executor.configured(
    {"start_method": {"forkserver": {"preload_modules": ["oktually_pipeline.definitions"]}}},
    name="multiprocess",
)


def celery_executor_config(environ: dict[str, str] | None = None) -> dict:
    """The celery executor's config: broker and backend read from the environment at run start."""
    environ = os.environ if environ is None else environ
    config: dict = {}
    if environ.get(BROKER_ENV):
        config["broker"] = {"env": BROKER_ENV}
    if environ.get(BACKEND_ENV):
        config["backend"] = {"env": BACKEND_ENV}
    if environ.get(QUEUE_ENV):
        config["config_source"] = {"task_default_queue": environ[QUEUE_ENV]}
    return config


def executor_from_env(environ: dict[str, str] | None = None) -> dg.ExecutorDefinition:
    environ = os.environ if environ is None else environ
    kind = (environ.get(EXECUTOR_ENV) or "multiprocess").strip().lower()
    if kind == "multiprocess":
        return MULTIPROCESS
    if kind == "celery":
        from dagster_celery import celery_executor

        return celery_executor.configured(celery_executor_config(environ), name="celery")
    if kind == "k8s":
        from dagster_k8s import k8s_job_executor

        return k8s_job_executor
    raise ValueError(f"{EXECUTOR_ENV}={kind!r}: expected one of {', '.join(EXECUTORS)}")
