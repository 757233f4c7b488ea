"""Runs launched from the command line, through Dagster, recorded in the instance at DAGSTER_HOME."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import yaml

from oktually_pipeline import settings
from oktually_pipeline.partitions import TENANT_DIMENSION, tenant_day_key, today_utc
from oktually_pipeline.tenants import find_tenant, load_tenants

REPO_DAGSTER_YAML = Path(__file__).resolve().parents[1] / "dagster.yaml"
TENANT_TAG = "oktually/tenant"


def prepare_dagster_home() -> Path:
    """Make sure DAGSTER_HOME exists and holds the project's dagster.yaml.

    Postgres run/event/schedule storage applies only when DAGSTER_PG_URL is set; otherwise the
    storage block is dropped and Dagster keeps its local SQLite storage under DAGSTER_HOME.
    """
    home = Path(os.environ.get("DAGSTER_HOME") or settings.oktually_home() / "dagster_home").resolve()
    home.mkdir(parents=True, exist_ok=True)
    os.environ["DAGSTER_HOME"] = str(home)
    if REPO_DAGSTER_YAML.exists():
        config = yaml.safe_load(REPO_DAGSTER_YAML.read_text()) or {}
        if not os.environ.get("DAGSTER_PG_URL"):
            config.pop("storage", None)
        target = home / "dagster.yaml"
        text = "# Written by oktually from the repository's dagster.yaml; edit that one.\n" + yaml.safe_dump(config, sort_keys=False)
        if not target.exists() or target.read_text() != text:
            target.write_text(text)
    return home


def dagster_instance() -> dg.DagsterInstance:
    prepare_dagster_home()
    return dg.DagsterInstance.get()


@dataclass
class RunOutcome:
    job: str
    partition: str
    run_id: str
    success: bool
    error: str | None = None


def _ensure_tenant_partition(instance: dg.DagsterInstance, tenant_id: str) -> None:
    if not instance.has_dynamic_partition(TENANT_DIMENSION, tenant_id):
        instance.add_dynamic_partitions(TENANT_DIMENSION, [tenant_id])


def _execute(
    instance: dg.DagsterInstance, job_name: str, *, partition_key: str | None = None,
    tags: dict[str, str], run_config: dict | None = None,
) -> RunOutcome:
    from oktually_pipeline.definitions import defs

    job = defs.resolve_job_def(job_name)
    # Step logs go to the instance (the UI shows them); the terminal gets warnings and errors.
    config = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}, **(run_config or {})}
    result = job.execute_in_process(
        instance=instance, partition_key=partition_key, tags=tags, run_config=config,
        raise_on_error=False,
    )
    error = None
    if not result.success:
        failures = [e for e in result.all_events if e.is_step_failure]
        error = "; ".join(
            f"{e.step_key}: {e.step_failure_data.error.message.strip() if e.step_failure_data.error else 'failed'}"
            for e in failures
        ) or "run failed"
    label = partition_key or tags.get("dagster/asset_partition_range_start", "")
    if "dagster/asset_partition_range_end" in tags:
        label += "..." + tags["dagster/asset_partition_range_end"]
    return RunOutcome(job_name, label, result.run_id, result.success, error)


def log_events_run_config(mode: str) -> dict:
    return {"ops": {"okta_log_events": {"config": {"mode": mode}}}}


def sync_tenant(tenant_id: str, *, days: int = 1, instance: dg.DagsterInstance | None = None) -> list[RunOutcome]:
    """Bring one tenant fully up to date: its System Log, then its state, models and extract.

    A tenant never read before gets `days` days of System Log history.
    """
    find_tenant(load_tenants(), tenant_id)
    instance = instance or dagster_instance()
    _ensure_tenant_partition(instance, tenant_id)
    today = today_utc()
    tags = {TENANT_TAG: tenant_id, "oktually/trigger": "cli-sync"}
    first = str(tenant_day_key(tenant_id, today - timedelta(days=max(days, 0))))
    last = str(tenant_day_key(tenant_id, today))
    event_tags = dict(tags)
    if first != last:
        event_tags.update({"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last})
    outcomes = [_execute(instance, "okta_log_events_job", partition_key=None if first != last else last,
                         tags=event_tags, run_config=log_events_run_config("auto"))]
    outcomes.append(_execute(instance, "tenant_refresh_job", partition_key=tenant_id, tags=tags))
    return outcomes


def _chunks(start: date, end: date, days_per_run: int) -> Iterator[tuple[date, date]]:
    cursor = start
    while cursor <= end:
        stop = min(end, cursor + timedelta(days=days_per_run - 1))
        yield cursor, stop
        cursor = stop + timedelta(days=1)


def backfill_tenant(
    tenant_id: str, start: date, end: date, *, days_per_run: int = 7,
    instance: dg.DagsterInstance | None = None,
) -> list[RunOutcome]:
    """Re-read a tenant's System Log for [start, end] (days, inclusive), a few large runs."""
    find_tenant(load_tenants(), tenant_id)
    if end < start:
        raise ValueError(f"backfill end {end} is before its start {start}")
    if end > today_utc():
        raise ValueError(f"backfill end {end} is in the future")
    instance = instance or dagster_instance()
    _ensure_tenant_partition(instance, tenant_id)
    outcomes = []
    for lo, hi in _chunks(start, end, days_per_run):
        tags = {TENANT_TAG: tenant_id, "oktually/trigger": "cli-backfill",
                "dagster/asset_partition_range_start": str(tenant_day_key(tenant_id, lo)),
                "dagster/asset_partition_range_end": str(tenant_day_key(tenant_id, hi))}
        outcomes.append(_execute(instance, "okta_log_events_job", tags=tags,
                                 run_config=log_events_run_config("window")))
    return outcomes
