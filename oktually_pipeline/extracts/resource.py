"""The Dagster resource naming where extracts go; the S3 client comes from dagster-aws."""

# No `from __future__ import annotations` here: Dagster reads the resource's field annotations.

from collections.abc import Callable
from typing import Any, Optional

import dagster as dg

from oktually_pipeline import settings
from oktually_pipeline.extracts.stores import ExtractStore, store_from_url


class ExtractsResource(dg.ConfigurableResource):
    """Where Parquet extracts are published: `url` (default $OKTUALLY_EXTRACTS_URL, else
    $OKTUALLY_HOME/extracts), `s3://bucket/prefix` or a local folder. S3 objects are written
    with server-side encryption: `AES256`, or `aws:kms` with `kms_key_id`."""

    url: Optional[str] = None
    sse: str = "AES256"
    kms_key_id: Optional[str] = None

    def resolved_url(self) -> str:
        return self.url or settings.extracts_url()

    def store(self, s3_client_factory: Optional[Callable[[], Any]] = None) -> ExtractStore:
        """The store; `s3_client_factory` (e.g. `S3Resource.get_client`) is called only for S3."""
        return store_from_url(self.resolved_url(), s3_client_factory, sse=self.sse,
                              kms_key_id=self.kms_key_id)
