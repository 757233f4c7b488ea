"""Dagster resources: the tenant file, Okta clients and the warehouse, resolved when a run starts."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Optional

import dagster as dg
import sqlalchemy as sa

from oktually_pipeline.okta.client import OktaClient
from oktually_pipeline.okta.credentials import auth_for
from oktually_pipeline.okta.pacing import RateLimitPacer
from oktually_pipeline.tenants import Tenant, find_tenant, load_tenants
from oktually_pipeline.warehouse.engine import create_engine, resolve_database_url

_lock = threading.Lock()
_engines: dict[str, sa.Engine] = {}
# One pacer per tenant and process: every worker of a tenant shares its Okta budget.
_pacers: dict[str, RateLimitPacer] = {}


class OktaResource(dg.ConfigurableResource):
    """Read-only Okta clients for the tenants in the tenant file ($OKTUALLY_TENANTS)."""

    tenants_file: Optional[str] = None
    max_attempts: int = 6

    def tenants(self) -> list[Tenant]:
        return load_tenants(self.tenants_file)

    def tenant(self, tenant_id: str) -> Tenant:
        return find_tenant(self.tenants(), tenant_id)

    @contextmanager
    def client(self, tenant_id: str) -> Iterator[OktaClient]:
        tenant = self.tenant(tenant_id)
        with _lock:
            pacer = _pacers.setdefault(tenant.id, RateLimitPacer())
        with OktaClient(
            tenant.okta_url,
            auth_for(tenant),
            tenant_id=tenant.id,
            pacer=pacer,
            max_attempts=self.max_attempts,
        ) as client:
            yield client


class WarehouseResource(dg.ConfigurableResource):
    """The Postgres warehouse: $OKTUALLY_DATABASE_URL, or the embedded pgserver when unset."""

    database_url: Optional[str] = None

    def get_engine(self) -> sa.Engine:
        url = resolve_database_url(self.database_url)
        with _lock:
            engine = _engines.get(url)
            if engine is None:
                engine = _engines[url] = create_engine(url)
            return engine
