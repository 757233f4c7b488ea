"""A whole sync through Dagster, searched for its secrets and its requests.

Two sandbox orgs: `acme` authenticates with an SSWS token read from AWS Secrets Manager (moto) and
gets a full sync (System Log, state, models, Parquet extract); `globex` authenticates with an OAuth
service app whose private key is in an environment variable, and gets its System Log re-read (the
state loaders' use of OAuth scopes is in test_oauth.py; a second full sync would double the time).
Each runs in a process of its own with every logger at DEBUG. Afterwards the token, the private key, every
access token and every client assertion are searched for in: the process's stdout and stderr,
every Dagster event record of every run (as JSON), the runs' configs and tags, every file under
DAGSTER_HOME and OKTUALLY_HOME (the instance's SQLite, compute logs, extracts' bytes), the values
of every Parquet extract, and every row of every table of every schema in the warehouse. Then the
sandboxes' request records show that nothing but GET (and globex's token POST) ever reached Okta.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
import yaml

from oktually_pipeline.sandbox import Sandbox, SandboxConfig
from oktually_pipeline.warehouse.engine import create_engine
from oktually_pipeline_tests.databases import new_database
from oktually_pipeline_tests.security.keys import (
    pem,
    public_pem,
    rsa_key,
    secret_fragments,
)
from oktually_pipeline_tests.security.moto import REGION, moto_server, put_secret

REPO = Path(__file__).resolve().parents[2]
TOKEN = "00wholepipeline-secret-token-Zq7Xw3Rt9Lm2"
CLIENT = "0oawholepipelineapp"


@pytest.fixture(scope="module")
def synced(pg_admin_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    home = tmp_path_factory.mktemp("oktually_home")
    dagster_home = tmp_path_factory.mktemp("dagster_home")
    key_text = pem(rsa_key())
    requests: dict[str, list[tuple[str, str]]] = {"acme": [], "globex": []}
    acme = Sandbox(SandboxConfig(seed=51, tenants=3, users=40, events=600, days=2, tokens=(TOKEN,)))
    globex = Sandbox(SandboxConfig(seed=52, tenants=3, users=40, events=600, days=2, tokens=("unused-ssws-x",),
                                   oauth_clients={CLIENT: {"public_key": public_pem(rsa_key()), "kid": "k1"}}))
    for name, sb in (("acme", acme), ("globex", globex)):
        record = sb.stats.record

        def recording(method: str, path: str, status: int, _rec=record, _log=requests[name]) -> None:
            _log.append((method, path))
            _rec(method, path, status)

        sb.stats.record = recording  # type: ignore[method-assign]
    with moto_server() as moto, new_database(pg_admin_url) as db_url, acme, globex:
        put_secret(moto, "oktually/okta/acme", TOKEN)
        tenants_file = home / "tenants.yaml"
        tenants_file.write_text(yaml.safe_dump({"tenants": [
            {"id": "acme", "okta_url": acme.url, "token_secret": "oktually/okta/acme"},
            {"id": "globex", "okta_url": globex.url,
             "oauth": {"client_id": CLIENT, "private_key_env": "OKTUALLY_TEST_GLOBEX_KEY", "key_id": "k1"}},
        ]}))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "OKTUALLY_", "DAGSTER_"))}
        env.update({
            "OKTUALLY_TENANTS": str(tenants_file), "OKTUALLY_DATABASE_URL": db_url, "OKTUALLY_HOME": str(home),
            "OKTUALLY_TEST_GLOBEX_KEY": key_text,
            "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION,
            "AWS_ENDPOINT_URL_SECRETS_MANAGER": moto,
        })
        # The two tenants run side by side (each its own Dagster instance): half the wall time.
        procs = [subprocess.Popen([sys.executable, "-m", "oktually_pipeline_tests.security.sync_child", spec],
                                  cwd=REPO, env={**env, "DAGSTER_HOME": str(dagster_home / spec.split(":")[0])},
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                 for spec in ("acme:sync", "globex:backfill")]
        out = err = ""
        for proc in procs:
            o, e = proc.communicate(timeout=600)
            out, err = out + o.decode("utf-8", "replace"), err + e.decode("utf-8", "replace")
            assert proc.returncode == 0, f"sync failed:\n{out}\n{err[-4000:]}"
        engine = create_engine(db_url)
        try:
            with engine.connect() as conn:
                tables = conn.execute(sa.text(
                    "SELECT table_schema, table_name FROM information_schema.tables "
                    "WHERE table_schema NOT IN ('pg_catalog', 'information_schema')")).all()
                rows = {f"{s}.{t}": list(conn.execute(sa.text(f'SELECT x::text FROM "{s}"."{t}" x')).scalars())
                        for s, t in tables}
        finally:
            engine.dispose()
        yield {
            "stdout": out, "stderr": err, "home": home, "dagster_home": dagster_home, "rows": rows,
            "requests": requests, "stats": {"acme": acme.stats, "globex": globex.stats},
            "secrets": [TOKEN, *secret_fragments(key_text), *globex.oauth.issued, *globex.oauth.raw_assertions],
            "truth": {"acme": acme.events.count(), "globex": globex.events.count()},
            "token_requests": globex.oauth.stats.granted,
        }


def _dagster_records(dagster_home: Path) -> list[str]:
    """Every event record of every run in the instances, and every run (config, tags), as JSON."""
    import dagster as dg
    from dagster._serdes import serialize_value

    out: list[str] = []
    for home in sorted(p for p in dagster_home.iterdir() if p.is_dir()):
        with dg.DagsterInstance.from_config(str(home)) as instance:
            runs = instance.get_runs()
            assert runs
            out += [serialize_value(run) for run in runs]
            out += [json.dumps(run.run_config) + json.dumps(run.tags) for run in runs]
            for run in runs:
                out += [serialize_value(entry) for entry in instance.all_logs(run.run_id)]
    return out


def _files(root: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_the_sync_really_ran(synced: dict[str, Any]) -> None:
    """So that finding nothing below means something: both tenants loaded, through Dagster."""
    assert "acme tenant_refresh_job ok" in synced["stdout"] and "globex okta_log_events_job ok" in synced["stdout"]
    rows = synced["rows"]
    assert rows["okta_acme.users"] and rows["okta_acme.group_members"] and rows["okta_acme.tenant_users"]
    assert len(rows["okta_acme.log_events"]) == synced["truth"]["acme"]
    assert rows["okta_globex.log_events"]
    assert list(synced["home"].rglob("*.parquet"))
    assert synced["token_requests"] >= 1
    assert "DEBUG" in synced["stderr"] and "httpx" in synced["stderr"]  # everything was logged


def test_no_secret_anywhere_the_run_wrote(synced: dict[str, Any]) -> None:
    secrets = [s for s in synced["secrets"] if len(s) >= 16]
    assert len(secrets) >= 4
    places: dict[str, str | bytes] = {"stdout": synced["stdout"], "stderr": synced["stderr"]}
    places.update({f"dagster record {i}": r for i, r in enumerate(_dagster_records(synced["dagster_home"]))})
    places.update({f"row of {table}": "\n".join(rows) for table, rows in synced["rows"].items()})
    for root in (synced["home"], synced["dagster_home"]):
        places.update(_files(root))
    for path in synced["home"].rglob("*.parquet"):
        places[f"values of {path}"] = repr(pq.read_table(path).to_pylist())
    assert any("dagster record" in k for k in places) and any(k.endswith(".parquet") for k in places)
    hits = []
    for where, content in places.items():
        for secret in secrets:
            needle: str | bytes = secret.encode() if isinstance(content, bytes) else secret
            if needle in content:  # type: ignore[operator]
                hits.append((where, secret[:6] + "..."))
    assert hits == []


def test_a_whole_sync_sends_only_gets(synced: dict[str, Any]) -> None:
    for tenant, requests in synced["requests"].items():
        assert requests and synced["stats"][tenant].non_get == 0
        allowed = {("POST", "/oauth2/v1/token")} if tenant == "globex" else set()
        others = {(m, p) for m, p in requests if m != "GET"}
        assert others <= allowed, f"{tenant}: {sorted(others)}"
        # The management API: /api/v1, and the client role routes under /oauth2/v1/clients.
        assert all(p.startswith(("/api/v1/", "/oauth2/v1/clients/")) for m, p in requests if m == "GET")
    assert ("POST", "/oauth2/v1/token") in set(synced["requests"]["globex"])
    assert any(p.startswith("/oauth2/v1/clients/") for _, p in synced["requests"]["acme"])  # the state sync
