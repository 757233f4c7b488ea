"""The sensors, evaluated with Dagster's test helpers: run requests, run keys, cursors, partitions."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path

import dagster as dg
import psycopg
import pytest
import yaml

from oktually_pipeline.assets.events import okta_log_events
from oktually_pipeline.definitions import defs
from oktually_pipeline.partitions import tenant_day_key, tenant_partitions, today_utc
from oktually_pipeline.resources import OktaResource, WarehouseResource
from oktually_pipeline.run_queue import RANGE_END_TAG, RANGE_START_TAG
from oktually_pipeline.runs import TENANT_TAG, log_events_run_config
from oktually_pipeline.sensors.failures import redact, run_failure_alerts
from oktually_pipeline.sensors.system_log import okta_log_events_sensor
from oktually_pipeline.sensors.tenants import ONBOARDING_DAYS_ENV, tenant_sensor
from oktually_pipeline_tests.dagster_helpers import write_tenants


def write_tenant_file(path: Path, ids: list[str]) -> Path:
    path.write_text(yaml.safe_dump({"tenants": [
        {"id": t, "okta_url": f"https://{t}.okta.com", "token_env": f"OKTA_TOKEN_{t.upper()}"} for t in ids
    ]}))
    return path


def evaluate(sensor: dg.SensorDefinition, instance: dg.DagsterInstance, cursor: str | None, **resources):
    """One tick as the daemon runs it, partition requests applied to the instance afterwards."""
    with dg.build_sensor_context(
        instance=instance, cursor=cursor, resources=resources, definitions=defs,
        instance_ref=instance.get_ref(),
    ) as context:
        result = sensor.evaluate_tick(context)
    for request in result.dynamic_partitions_requests or []:
        if isinstance(request, dg.AddDynamicPartitionsRequest):
            instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
        else:
            for key in request.partition_keys:
                instance.delete_dynamic_partition(request.partitions_def_name, key)
    return result


@pytest.fixture
def instance():
    with dg.instance_for_test() as inst:
        yield inst


@pytest.fixture
def tenant_file(tmp_path):
    return tmp_path / "tenants.yaml"


class TestTenantSensor:
    def test_new_tenants_are_added_and_onboarded(self, instance, tenant_file, monkeypatch):
        monkeypatch.delenv(ONBOARDING_DAYS_ENV, raising=False)
        write_tenant_file(tenant_file, ["acme", "globex"])
        result = evaluate(tenant_sensor, instance, None, okta=OktaResource(tenants_file=str(tenant_file)))
        assert sorted(instance.get_dynamic_partitions("tenant")) == ["acme", "globex"]
        requests = {r.run_key: r for r in result.run_requests}
        assert set(requests) == {"onboard:acme:1:log", "onboard:acme:1:state",
                                 "onboard:globex:1:log", "onboard:globex:1:state"}
        log = requests["onboard:acme:1:log"]
        today = today_utc()
        assert log.job_name == "okta_log_events_job"
        assert log.tags[RANGE_START_TAG] == str(tenant_day_key("acme", today - timedelta(days=6)))
        assert log.tags[RANGE_END_TAG] == str(tenant_day_key("acme", today))
        assert log.run_config == log_events_run_config("auto")
        state = requests["onboard:acme:1:state"]
        assert (state.job_name, state.partition_key) == ("tenant_refresh_job", "acme")
        assert all(r.tags[TENANT_TAG] == key.split(":")[1] for key, r in requests.items())
        assert json.loads(result.cursor)["onboarded"] == {"acme": 1, "globex": 1}

    def test_nothing_changes_then_a_removed_tenant_loses_its_partition(self, instance, tenant_file):
        okta = OktaResource(tenants_file=str(write_tenant_file(tenant_file, ["acme", "globex"])))
        first = evaluate(tenant_sensor, instance, None, okta=okta)
        second = evaluate(tenant_sensor, instance, first.cursor, okta=okta)
        assert not second.run_requests and "already match" in second.skip_message
        write_tenant_file(tenant_file, ["acme"])
        third = evaluate(tenant_sensor, instance, first.cursor, okta=okta)
        assert instance.get_dynamic_partitions("tenant") == ["acme"]
        assert not third.run_requests
        # Back in the file: onboarded afresh, under new run keys.
        write_tenant_file(tenant_file, ["acme", "globex"])
        fourth = evaluate(tenant_sensor, instance, third.cursor, okta=okta)
        assert {r.run_key for r in fourth.run_requests} == {"onboard:globex:2:log", "onboard:globex:2:state"}

    def test_a_retried_tick_asks_for_the_same_runs(self, instance, tenant_file):
        okta = OktaResource(tenants_file=str(write_tenant_file(tenant_file, ["acme"])))
        with dg.build_sensor_context(instance=instance, cursor=None, resources={"okta": okta},
                                     definitions=defs) as context:
            one = tenant_sensor(context)
        with dg.build_sensor_context(instance=instance, cursor=None, resources={"okta": okta},
                                     definitions=defs) as context:
            two = tenant_sensor(context)
        assert {r.run_key for r in one.run_requests} == {r.run_key for r in two.run_requests}

    @pytest.mark.parametrize("content", [
        "tenants: [",                                   # not YAML
        "tenants:\n  - id: Bad-Id\n    okta_url: https://x.okta.com\n    token_env: T\n",
        "something_else: true\n",
    ])
    def test_a_malformed_tenant_file_removes_nothing(self, instance, tenant_file, content):
        instance.add_dynamic_partitions("tenant", ["acme", "globex"])
        tenant_file.write_text(content)
        result = evaluate(tenant_sensor, instance, None, okta=OktaResource(tenants_file=str(tenant_file)))
        assert not result.run_requests and not result.dynamic_partitions_requests
        assert result.skip_message.startswith("tenant file not usable, tenant partitions left unchanged")
        assert sorted(instance.get_dynamic_partitions("tenant")) == ["acme", "globex"]

    def test_a_missing_tenant_file_removes_nothing(self, instance, tmp_path):
        instance.add_dynamic_partitions("tenant", ["acme"])
        okta = OktaResource(tenants_file=str(tmp_path / "nope.yaml"))
        result = evaluate(tenant_sensor, instance, None, okta=okta)
        assert "tenant file not found" in result.skip_message
        assert instance.get_dynamic_partitions("tenant") == ["acme"]

    def test_an_empty_tenant_list_does_not_wipe_every_tenant(self, instance, tenant_file):
        instance.add_dynamic_partitions("tenant", ["acme"])
        tenant_file.write_text("tenants: []\n")
        result = evaluate(tenant_sensor, instance, None, okta=OktaResource(tenants_file=str(tenant_file)))
        assert "refusing to remove all 1" in result.skip_message
        assert instance.get_dynamic_partitions("tenant") == ["acme"]

    def test_onboarding_days_are_configurable(self, instance, tenant_file, monkeypatch):
        okta = OktaResource(tenants_file=str(write_tenant_file(tenant_file, ["acme"])))
        monkeypatch.setenv(ONBOARDING_DAYS_ENV, "30")
        log = next(r for r in evaluate(tenant_sensor, instance, None, okta=okta).run_requests
                   if r.run_key.endswith(":log"))
        assert log.tags[RANGE_START_TAG] == str(tenant_day_key("acme", today_utc() - timedelta(days=29)))

    def test_one_onboarding_day_is_a_single_partition_run(self, instance, tenant_file, monkeypatch):
        okta = OktaResource(tenants_file=str(write_tenant_file(tenant_file, ["acme"])))
        monkeypatch.setenv(ONBOARDING_DAYS_ENV, "1")
        log = next(r for r in evaluate(tenant_sensor, instance, None, okta=okta).run_requests
                   if r.run_key.endswith(":log"))
        assert log.partition_key == str(tenant_day_key("acme", today_utc()))
        assert RANGE_START_TAG not in log.tags

    def test_existing_partitions_are_not_onboarded_again(self, instance, tenant_file):
        instance.add_dynamic_partitions("tenant", ["acme"])
        okta = OktaResource(tenants_file=str(write_tenant_file(tenant_file, ["acme", "globex"])))
        result = evaluate(tenant_sensor, instance, None, okta=okta)
        assert {r.run_key.split(":")[1] for r in result.run_requests} == {"globex"}


class TestRunFailureAlerts:
    SECRET = "00dEmOsEcReTtOkEnVaLuE42"

    def test_a_failed_run_is_reported_with_tenant_asset_and_error_but_no_token(
        self, instance, tenant_file, tmp_path, monkeypatch
    ):
        monkeypatch.setenv("OKTUALLY_HOME", str(tmp_path / "home"))
        monkeypatch.setenv("OKTUALLY_TENANTS", str(write_tenant_file(tenant_file, ["acme"])))
        monkeypatch.setenv("OKTA_TOKEN_ACME", self.SECRET)

        @dg.asset(name="okta_users", partitions_def=tenant_partitions)
        def broken(context) -> None:
            raise RuntimeError(
                f"{context.partition_key}: Okta said 401 to SSWS {os.environ['OKTA_TOKEN_ACME']} "
                f"(raw {os.environ['OKTA_TOKEN_ACME']}, password=hunter2)"
            )

        instance.add_dynamic_partitions("tenant", ["acme"])
        result = dg.materialize([broken], partition_key="acme", instance=instance,
                                tags={"oktually/trigger": "schedule"}, raise_on_error=False)
        assert not result.success
        run = instance.get_run_by_id(result.run_id)
        failure = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)[0].dagster_event
        context = dg.build_run_status_sensor_context(
            sensor_name="run_failure_alerts", dagster_instance=instance, dagster_run=run,
            dagster_event=failure,
        ).for_run_failure()
        run_failure_alerts(context)

        lines = (tmp_path / "home" / "alerts.log").read_text().splitlines()
        assert len(lines) == 1
        alert = json.loads(lines[0])
        assert alert["tenant"] == "acme"
        assert alert["assets"] == ["okta_users"]
        assert alert["run_id"] == run.run_id
        assert alert["partition"] == "acme"
        assert alert["trigger"] == "schedule"
        assert "Okta said 401" in alert["error"] and "RuntimeError" in alert["error"]
        assert self.SECRET not in lines[0] and "hunter2" not in lines[0]

    @pytest.mark.parametrize(("text", "kept"), [
        ("Authorization: SSWS abc.def-123 failed", "Authorization: [redacted] failed"),
        ("header 'Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjMifQ.sig' sent", "header 'Bearer [redacted]' sent"),
        ("client_secret=xyz&a=b", "client_secret=[redacted]&a=b"),
        ("tenant 'acme'.token_env: environment variable OKTA_X is not set",
         "tenant 'acme'.token_env: environment variable OKTA_X is not set"),
    ])
    def test_redact(self, text, kept):
        assert redact(text, secrets=[]) == kept


class TestSystemLogSensor:
    """Against the sandbox org and a real Postgres: one cheap probe per tenant and tick."""

    @pytest.fixture
    def org(self):
        from oktually_pipeline.sandbox import Sandbox, SandboxConfig

        with Sandbox(SandboxConfig(seed=9, tenants=2, users=30, events=400, days=2)) as sb:
            yield sb

    @pytest.fixture
    def setup(self, org, database_url, tmp_path, monkeypatch, instance):
        write_tenants(tmp_path / "tenants.yaml", {"acme": org}, monkeypatch)
        instance.add_dynamic_partitions("tenant", ["acme"])
        resources = {"okta": OktaResource(), "warehouse": WarehouseResource(database_url=database_url)}
        return instance, resources

    @staticmethod
    def pull(instance, resources, tenant: str = "acme") -> None:
        result = dg.materialize(
            [okta_log_events], partition_key=str(tenant_day_key(tenant, today_utc())), instance=instance,
            resources=resources, run_config=log_events_run_config("incremental"))
        assert result.success

    @staticmethod
    def log_calls(org) -> int:
        return org.stats.by_template["/api/v1/logs"]

    def test_only_a_tenant_that_is_behind_gets_a_run(self, org, setup):
        instance, resources = setup
        first = evaluate(okta_log_events_sensor, instance, None, **resources)
        assert not first.run_requests and "never loaded" in first.skip_message
        assert json.loads(first.cursor)["acme"]["state"].startswith("not loaded")

        self.pull(instance, resources)
        calls = self.log_calls(org)
        caught_up = evaluate(okta_log_events_sensor, instance, first.cursor, **resources)
        assert not caught_up.run_requests
        assert self.log_calls(org) == calls + 1
        seen = json.loads(caught_up.cursor)["acme"]
        assert seen["behind"] is False and seen["via"] == "link" and seen["mark"]

        org.events.append(3)
        behind = evaluate(okta_log_events_sensor, instance, caught_up.cursor, **resources)
        (request,) = behind.run_requests
        assert request.partition_key == str(tenant_day_key("acme", today_utc()))
        assert request.run_config == log_events_run_config("incremental")
        assert request.tags[TENANT_TAG] == "acme" and request.tags["oktually/trigger"] == "log-sensor"
        assert json.loads(behind.cursor)["acme"]["behind"] is True

        # Until a run moves the stored position, every tick asks under the same run key.
        again = evaluate(okta_log_events_sensor, instance, behind.cursor, **resources)
        assert [r.run_key for r in again.run_requests] == [request.run_key]

        self.pull(instance, resources)
        assert not evaluate(okta_log_events_sensor, instance, again.cursor, **resources).run_requests
        org.events.append(1)
        later = evaluate(okta_log_events_sensor, instance, again.cursor, **resources)
        assert [r.run_key for r in later.run_requests] != [request.run_key]

    def test_without_a_stored_link_the_probe_asks_since_the_mark(self, org, setup, database_url):
        instance, resources = setup
        self.pull(instance, resources)
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute("UPDATE okta_acme.ingest_marks SET cursor = NULL WHERE stream = 'log_events'")
        quiet = evaluate(okta_log_events_sensor, instance, None, **resources)
        assert not quiet.run_requests and json.loads(quiet.cursor)["acme"]["via"] == "since"
        org.events.append(2)
        assert len(evaluate(okta_log_events_sensor, instance, quiet.cursor, **resources).run_requests) == 1

    def test_an_unreachable_org_is_noted_not_fatal(self, org, setup):
        instance, resources = setup
        self.pull(instance, resources)
        org.stop()
        result = evaluate(okta_log_events_sensor, instance, None,
                          okta=OktaResource(max_attempts=1), warehouse=resources["warehouse"])
        assert not result.run_requests
        assert "probe failed" in result.skip_message
        assert json.loads(result.cursor)["acme"]["error"]

    def test_of_two_tenants_only_the_one_behind_gets_a_run(self, org, database_url, tmp_path, monkeypatch,
                                                           instance):
        from oktually_pipeline.sandbox import Sandbox, SandboxConfig

        with Sandbox(SandboxConfig(seed=10, tenants=2, users=30, events=300, days=2)) as other:
            write_tenants(tmp_path / "tenants.yaml", {"acme": org, "globex": other}, monkeypatch)
            instance.add_dynamic_partitions("tenant", ["acme", "globex"])
            resources = {"okta": OktaResource(), "warehouse": WarehouseResource(database_url=database_url)}
            for tenant in ("acme", "globex"):
                self.pull(instance, resources, tenant)
            both_current = evaluate(okta_log_events_sensor, instance, None, **resources)
            assert not both_current.run_requests
            other.events.append(4)
            result = evaluate(okta_log_events_sensor, instance, both_current.cursor, **resources)
            assert [r.tags[TENANT_TAG] for r in result.run_requests] == ["globex"]
            seen = json.loads(result.cursor)
            assert seen["globex"]["behind"] is True and seen["acme"]["behind"] is False
