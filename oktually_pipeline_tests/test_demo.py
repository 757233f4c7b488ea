"""`oktually demo` (what `make demo` runs) on embedded defaults: sandbox orgs, the embedded Postgres
(pgserver) because OKTUALLY_DATABASE_URL is unset, every asset through Dagster, a summary, and
Parquet extracts a new user can open."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pyarrow.dataset as ds
import pytest

from oktually_pipeline.demo import DEMO_ORGS

pytestmark = pytest.mark.slow

# Every table the summary must show filled: state, System Log, and the models.
FILLED = ("users", "groups", "group_members", "apps", "app_groups", "app_users", "idps", "policies",
          "policy_rules", "group_roles", "group_role_targets", "role_assigned_users", "user_roles",
          "user_role_targets", "user_role_app_targets", "resource_sets", "resource_set_resources",
          "custom_roles", "custom_role_permissions", "log_events",
          "tenants", "tenant_admins",
          "tenant_users", "tenant_app_entitlements", "superusers", "convention_issues", "user_app_access",
          "admin_role_holders", "signin_daily", "dormant_users", "deprovisioned_with_access",
          "recent_admin_changes")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict:
    home = tmp_path_factory.mktemp("demo") / ".oktually"
    env = {k: v for k, v in os.environ.items()
           if k not in ("OKTUALLY_DATABASE_URL", "OKTUALLY_TENANTS", "OKTUALLY_EXTRACTS_URL", "DAGSTER_HOME",
                        "DAGSTER_PG_URL")}
    env["OKTUALLY_HOME"] = str(home)
    done = subprocess.run([sys.executable, "-m", "oktually_pipeline.cli", "demo", "--events", "3000", "--users", "80"],
                          env=env, capture_output=True, text=True, timeout=600)
    return {"home": home, "rc": done.returncode, "out": done.stdout, "err": done.stderr}


def _counts(out: str, tenant: str) -> dict[str, int]:
    section = out.split(f"schema okta_{tenant}\n", 1)[1].split("\n\n", 1)[0]
    return {m[1]: int(m[2].replace(",", "")) for m in re.finditer(r"^\s+(\w+)\s+([\d,]+)$", section, re.M)}


def test_the_demo_succeeds_on_the_embedded_postgres(demo):
    assert demo["rc"] == 0, demo["out"][-3000:] + demo["err"][-3000:]
    assert "Demo finished: every run succeeded." in demo["out"]
    assert f"embedded Postgres under {demo['home'] / 'pgdata'}" in demo["out"]
    assert (demo["home"] / "pgdata" / "PG_VERSION").exists()


@pytest.mark.parametrize("tenant", sorted(DEMO_ORGS))
def test_the_summary_shows_every_table_filled(demo, tenant):
    counts = _counts(demo["out"], tenant)
    empty = [t for t in FILLED if counts.get(t, 0) == 0]
    assert not empty, counts


@pytest.mark.parametrize("tenant", sorted(DEMO_ORGS))
def test_the_extracts_open_with_plain_pyarrow_as_the_readme_shows(demo, tenant):
    root = demo["home"] / "extracts" / f"tenant={tenant}"
    manifest = json.loads((root / "_manifest.json").read_text())
    counts = _counts(demo["out"], tenant)
    events = ds.dataset(root / "log_events", partitioning="hive").to_table()
    assert events.num_rows == counts["log_events"] == manifest["tables"]["log_events"]["rows"]
    users = ds.dataset(root / "users").to_table().to_pandas()
    assert len(users) == counts["users"]
