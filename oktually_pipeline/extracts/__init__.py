"""Parquet extracts of each tenant's warehouse tables, with a manifest, on a local folder or S3.

Publishing: `publish_tenant(engine, tenant_id, store_from_url(url, s3_client_factory))`.
Reading: `reader.open_table(root, tenant_id, table)`. See `publish.py` for the layout and the
guarantees.
"""

from oktually_pipeline.extracts.publish import PublishResult, publish_tenant
from oktually_pipeline.extracts.stores import (
    ExtractStore,
    LocalStore,
    S3Store,
    store_from_url,
)

__all__ = ["ExtractStore", "LocalStore", "PublishResult", "S3Store", "publish_tenant", "store_from_url"]
