"""Derived models and extracts follow their parents: the automation condition, evaluated."""

from __future__ import annotations

import dagster as dg
import pytest

from oktually_pipeline.automation import DERIVED_ASSETS, FOLLOW_PARENTS, LOG_EVENTS_KEY
from oktually_pipeline.definitions import defs

_GRAPH = defs.resolve_asset_graph()
STATE_KEYS = [k for k in _GRAPH.get_all_asset_keys() if _GRAPH.get(k).group_name == "okta_state"]
# Models and extract helpers, but not the extract itself: loaded once before the test's tick.
MODEL_KEYS = [k for k in DERIVED_ASSETS.resolve(_GRAPH) if k != dg.AssetKey("parquet_extract")]


def _materialize(instance: dg.DagsterInstance, key: dg.AssetKey, partition: str) -> None:
    instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=key, partition=partition))


def _requested(result: dg.EvaluateAutomationConditionsResult) -> set[tuple[str, str]]:
    return {
        (key.to_user_string(), pk)
        for key in _GRAPH.get_all_asset_keys()
        for pk in result.get_requested_partitions(key)
    }


def test_derived_assets_get_the_condition_and_the_rest_do_not():
    graph = defs.resolve_asset_graph()
    derived = DERIVED_ASSETS.resolve(graph)
    assert dg.AssetKey("parquet_extract") in derived
    for key in graph.get_all_asset_keys():
        condition = graph.get(key).automation_condition
        if key in derived:
            assert condition == FOLLOW_PARENTS
        else:
            assert condition is None, key


@pytest.mark.parametrize("use_plain_eager", [False, True])
def test_a_fresh_system_log_day_refreshes_the_extract(use_plain_eager):
    """One day of System Log refreshes parquet_extract, though the other days were never loaded.

    Dagster's plain `eager()` stays silent here (any missing parent day holds it back): that is
    why FOLLOW_PARENTS ignores missing System Log days.
    """
    definitions = defs
    if use_plain_eager:
        definitions = defs.map_resolved_asset_specs(
            func=lambda s: s.replace_attributes(automation_condition=dg.AutomationCondition.eager()),
            selection=DERIVED_ASSETS,
        )
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("tenant", ["acme", "globex"])
        for key in STATE_KEYS + MODEL_KEYS:
            for tenant in ("acme", "globex"):
                _materialize(instance, key, tenant)
        first = dg.evaluate_automation_conditions(defs=definitions, instance=instance)
        _materialize(instance, LOG_EVENTS_KEY, "2026-11-25|acme")
        second = dg.evaluate_automation_conditions(defs=definitions, instance=instance, cursor=first.cursor)
        requested = _requested(second)
        if use_plain_eager:
            assert ("parquet_extract", "acme") not in requested
        else:
            assert ("parquet_extract", "acme") in requested
            assert ("parquet_extract", "globex") not in requested
        third = dg.evaluate_automation_conditions(defs=definitions, instance=instance, cursor=second.cursor)
        assert ("parquet_extract", "acme") not in _requested(third)


def test_a_missing_state_table_still_holds_the_extract_back():
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("tenant", ["acme"])
        for key in STATE_KEYS[1:] + MODEL_KEYS:
            _materialize(instance, key, "acme")
        first = dg.evaluate_automation_conditions(defs=defs, instance=instance)
        _materialize(instance, LOG_EVENTS_KEY, "2026-11-25|acme")
        second = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=first.cursor)
        assert ("parquet_extract", "acme") not in _requested(second)
