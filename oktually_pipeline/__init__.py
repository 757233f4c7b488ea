"""Oktually's data pipeline: read-only Okta ingestion into per-tenant Postgres schemas, run by Dagster."""

__version__ = "0.1.0"
