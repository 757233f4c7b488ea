"""Sensors: tenant membership, System Log freshness, run-failure alerts and declarative automation."""

from __future__ import annotations

from oktually_pipeline.automation import derived_automation_sensor
from oktually_pipeline.sensors.failures import run_failure_alerts
from oktually_pipeline.sensors.system_log import okta_log_events_sensor
from oktually_pipeline.sensors.tenants import tenant_sensor

sensors = [tenant_sensor, okta_log_events_sensor, run_failure_alerts, derived_automation_sensor]

__all__ = ["derived_automation_sensor", "okta_log_events_sensor", "run_failure_alerts", "sensors", "tenant_sensor"]
