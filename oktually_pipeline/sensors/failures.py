"""Run-failure alerts: which tenant, which asset, what error, logged and kept as JSON lines.

Each failed run becomes one line in `$OKTUALLY_HOME/alerts.log`. Messages pass through `redact`
first: the Okta client never puts a token in an error, but a message from anywhere else might.
"""

from __future__ import annotations

import json
import os
import re
from datetime import datetime, timezone
from pathlib import Path

import dagster as dg

from oktually_pipeline import settings
from oktually_pipeline.run_queue import (
    PARTITION_TAG,
    RANGE_END_TAG,
    RANGE_START_TAG,
    tenant_of_run,
)
from oktually_pipeline.tenants import TenantConfigError, load_tenants

ALERTS_FILE = "alerts.log"
_SECRET_PATTERNS = [
    (re.compile(r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?)(?:(?:SSWS|Bearer|Basic)\s+)?[^\s\"',}]+"),
     r"\1[redacted]"),
    (re.compile(r"(?i)\b(SSWS|Bearer)\s+[A-Za-z0-9._~+/=-]+"), r"\1 [redacted]"),
    (re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+"), "[redacted]"),  # a JWT
    (re.compile(r"(?i)(\w*(?:token|secret|password|private_key))(\s*[=:]\s*)[^\s,;&]+"), r"\1\2[redacted]"),
]


def _configured_secrets() -> list[str]:
    """Token values the tenant file points at, to strike out wherever they appear."""
    try:
        tenants = load_tenants()
    except TenantConfigError:
        return []
    values = [os.environ.get(t.token_env or "", "") for t in tenants]
    return sorted({v for v in values if len(v) >= 8}, key=len, reverse=True)


def redact(text: str, secrets: list[str] | None = None) -> str:
    for secret in _configured_secrets() if secrets is None else secrets:
        text = text.replace(secret, "[redacted]")
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _error_text(error) -> str:
    parts = []
    while error is not None and len(parts) < 4:
        parts.append(f"{error.cls_name}: {error.message.strip()}" if error.cls_name else error.message.strip())
        error = error.cause
    return " <- caused by ".join(parts)


def failure_alert(context: dg.RunFailureSensorContext) -> dict:
    """What an operator needs to know about a failed run, without any secret."""
    run = context.dagster_run
    tags = run.tags
    steps = []
    for event in context.get_step_failure_events():
        data = event.step_failure_data
        steps.append({
            "step": event.step_key,
            "error": _error_text(data.error) if data and data.error else "step failed",
        })
    assets = sorted({s["step"] for s in steps if s["step"]}) or sorted(
        k.to_user_string() for k in (run.asset_selection or [])
    )
    partition = tags.get(PARTITION_TAG) or (
        f"{tags[RANGE_START_TAG]}...{tags[RANGE_END_TAG]}" if RANGE_START_TAG in tags else None
    )
    secrets = _configured_secrets()
    return {
        "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "run_id": run.run_id,
        "job": run.job_name,
        "tenant": tenant_of_run(tags),
        "assets": assets,
        "partition": partition,
        "trigger": tags.get("oktually/trigger") or tags.get("dagster/schedule_name") or tags.get("dagster/sensor_name"),
        "error": redact("; ".join(f"{s['step']}: {s['error']}" for s in steps)
                        or (context.failure_event.message or "run failed"), secrets),
    }


def alerts_path() -> Path:
    return settings.oktually_home() / ALERTS_FILE


@dg.run_failure_sensor(
    name="run_failure_alerts",
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Logs each failed run with its tenant, assets and error, and appends it to $OKTUALLY_HOME/alerts.log.",
)
def run_failure_alerts(context: dg.RunFailureSensorContext) -> None:
    alert = failure_alert(context)
    context.log.error(
        f"run {alert['run_id']} failed: tenant {alert['tenant']}, assets {', '.join(alert['assets']) or '?'}: "
        f"{alert['error']}"
    )
    path = alerts_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as out:
        out.write(json.dumps(alert, sort_keys=True) + "\n")
