"""Model assets: one per `sql/models/<name>.sql`, built for one tenant partition from the raw tables."""

# No `from __future__ import annotations` here: Dagster reads the Config and resource annotations.

import dagster as dg

from oktually_pipeline.models.config import ModelConfig
from oktually_pipeline.models.materialize import materialize_model
from oktually_pipeline.models.specs import MODELS, Model
from oktually_pipeline.partitions import TENANT_DIMENSION, tenant_partitions
from oktually_pipeline.resources import WarehouseResource
from oktually_pipeline.warehouse.schema import ensure_tenant_schema, tenant_schema

GROUP_NAME = "models"
LOG_EVENTS_KEY = "okta_log_events"


def raw_asset_key(table: str) -> str:
    return f"okta_{table}"


def model_deps(model: Model) -> list[dg.AssetDep]:
    """What the model reads: state assets, the System Log (all its days of the tenant), other models."""
    deps = [dg.AssetDep(raw_asset_key(t)) for t in model.raw]
    if model.log_events:
        deps.append(dg.AssetDep(LOG_EVENTS_KEY, partition_mapping=dg.MultiToSingleDimensionPartitionMapping(
            partition_dimension_name=TENANT_DIMENSION)))
    deps += [dg.AssetDep(m) for m in model.models]
    return deps


def _description(model: Model) -> str:
    reads = [raw_asset_key(t) for t in model.raw] + ([LOG_EVENTS_KEY] if model.log_events else [])
    reads += [f"{m} (model)" for m in model.models]
    return (f"{model.summary()}\n\nPostgres table `okta_<tenant>.{model.name}`, one row per "
            f"({', '.join(model.key)}), rebuilt whole from `{model.sql_path}` and swapped in atomically. "
            f"Reads: {', '.join(reads)}.")


def build_model_asset(model: Model) -> dg.AssetsDefinition:
    @dg.asset(
        name=model.name,
        description=_description(model),
        partitions_def=tenant_partitions,
        deps=model_deps(model),
        group_name=GROUP_NAME,
        kinds={"postgres", "sql"},
        metadata={"model_sql": model.sql_path},
    )
    def _model_asset(
        context: dg.AssetExecutionContext, config: ModelConfig, warehouse: WarehouseResource
    ) -> dg.MaterializeResult:
        tenant_id = context.partition_key
        engine = warehouse.get_engine()
        ensure_tenant_schema(engine, tenant_id)
        rows = materialize_model(engine, tenant_id, model, config.params())
        context.log.info(f"{tenant_id}.{model.name}: {rows} rows")
        return dg.MaterializeResult(metadata={
            "dagster/row_count": rows,
            "tenant": tenant_id,
            "table": f"{tenant_schema(tenant_id)}.{model.name}",
            "model_sql": model.sql_path,
            **{k: v for k, v in config.params().items() if k in model.params and v is not None},
        })

    return _model_asset


MODEL_ASSETS: list[dg.AssetsDefinition] = [build_model_asset(m) for m in MODELS]
