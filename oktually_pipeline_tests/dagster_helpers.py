"""Helpers for tests that run assets through Dagster against the sandbox and a test database."""

from __future__ import annotations

from pathlib import Path

import yaml

from oktually_pipeline.sandbox import Sandbox


def write_tenants(path: Path, orgs: dict[str, Sandbox], monkeypatch) -> Path:
    """A tenant file for sandbox orgs, with each token exported where the file says."""
    tenants = []
    for tenant_id, sb in orgs.items():
        env = f"OKTUALLY_TEST_TOKEN_{tenant_id.upper()}"
        monkeypatch.setenv(env, sb.token)
        tenants.append({"id": tenant_id, "okta_url": sb.url, "token_env": env})
    path.write_text(yaml.safe_dump({"tenants": tenants}))
    monkeypatch.setenv("OKTUALLY_TENANTS", str(path))
    return path
