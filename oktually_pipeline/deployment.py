"""One whole Dagster deployment of the pipeline, described by one environment.

The end-to-end tests and bench 5 each start one (webserver, daemon, run workers, as processes of
their own) with every piece of its state under one folder, and open its instance in their own
process, which must not leave this process's environment pointing at it afterwards.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import dagster as dg

from oktually_pipeline import settings
from oktually_pipeline.dev import PG_URL_ENV, dagster_pg_url
from oktually_pipeline.runs import prepare_dagster_home


def deployment_environment(base: Mapping[str, str], work: Path, *, dagster_db: str, warehouse_db: str,
                           tenants_file: Path) -> dict[str, str]:
    """The deployment's environment, with every piece of its state under `work`.

    Dagster's storage and the warehouse are the two Postgres URLs; DAGSTER_HOME, OKTUALLY_HOME
    and the extracts are folders of `work`. What the webserver, the daemon and every run they
    launch must share (the end-to-end tests and bench 5 start one each).
    """
    return {
        **base,
        # Tools started by tools (`dagster api`, `dagster-celery` runs `celery`) come from this venv.
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{base.get('PATH', '')}",
        "DAGSTER_HOME": str(work / "dagster_home"),
        PG_URL_ENV: dagster_pg_url(dagster_db),
        settings.DATABASE_URL_ENV: warehouse_db,
        settings.TENANTS_ENV: str(tenants_file),
        settings.HOME_ENV: str(work / "oktually_home"),
        settings.EXTRACTS_URL_ENV: str(work / "extracts"),
        "OKTUALLY_EXECUTOR": "multiprocess",
        "DAGSTER_DISABLE_TELEMETRY": "1",
    }


@contextmanager
def instance_environment(env: Mapping[str, str]) -> Iterator[None]:
    """This process's environment pointing at `env`'s instance for a while, then restored.

    The repository's dagster.yaml reads the storage URL from the environment whenever an
    instance is opened, here or from an instance ref (a schedule context, say).
    """
    names = ("DAGSTER_HOME", PG_URL_ENV)
    saved = {name: os.environ.get(name) for name in names}
    os.environ.update({name: env[name] for name in names})
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def open_deployment_instance(env: Mapping[str, str]) -> dg.DagsterInstance:
    """`env`'s Dagster instance opened in this process, its DAGSTER_HOME prepared first.

    The first open creates Dagster's tables, before the webserver and the daemon would race to.
    """
    with instance_environment(env):
        prepare_dagster_home()
        return dg.DagsterInstance.from_config(env["DAGSTER_HOME"])
