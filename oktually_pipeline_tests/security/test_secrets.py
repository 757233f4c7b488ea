"""Okta credentials from AWS Secrets Manager (boto3 against moto's server): SSWS tokens
(`token_secret`) and service-app private keys (`oauth.private_key_secret`). Every failure names
the tenant and the field; no message ever holds the secret."""

from __future__ import annotations

import json
import logging
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from oktually_pipeline.okta.auth import SswsAuth
from oktually_pipeline.okta.client import OktaClient
from oktually_pipeline.okta.credentials import api_token, auth_for
from oktually_pipeline.okta.oauth import clear_token_cache
from oktually_pipeline.sandbox import Sandbox, SandboxConfig
from oktually_pipeline.tenants import Tenant, TenantConfigError, load_tenants
from oktually_pipeline_tests.security.keys import ec_key, private_jwk, secret_fragments
from oktually_pipeline_tests.security.moto import moto_server, point_aws_at, put_secret

TOKEN = "00secrets-manager-token-9f8e7d6c5b4a"


@pytest.fixture(scope="module")
def moto() -> Iterator[str]:
    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    jwk = json.loads(private_jwk(ec_key(), "ec-sm"))
    jwk.pop("d")
    with Sandbox(SandboxConfig(seed=6, tenants=3, users=30, events=100, days=1, tokens=(TOKEN,),
                               oauth_clients={"0oasecretsapp": {"jwks": [jwk]}})) as sb:
        yield sb


def tenant(tmp_path: Path, url: str, auth: str) -> Tenant:
    path = tmp_path / f"tenants-{uuid.uuid4().hex[:6]}.yaml"
    path.write_text(f"tenants:\n  - id: acme\n    okta_url: {url}\n{auth}")
    return load_tenants(path)[0]


@pytest.mark.parametrize("stored, generic", [
    (TOKEN, False),                            # the bare token, AWS_ENDPOINT_URL_SECRETS_MANAGER
    (json.dumps({"token": TOKEN}), True),      # JSON with a token key, AWS_ENDPOINT_URL
])
def test_token_from_secrets_manager_reads_the_org(stored: str, generic: bool, moto: str, sandbox: Sandbox,
                                                  tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # botocore logs response bodies at DEBUG: never this one
    point_aws_at(monkeypatch, moto, generic=generic)
    name = f"oktually/okta/acme-{uuid.uuid4().hex[:6]}"
    put_secret(moto, name, stored)
    caplog.clear()  # the test's own CreateSecret call is logged with its body; ours must not be
    t = tenant(tmp_path, sandbox.url, f"    token_secret: {name}\n")
    assert api_token(t).reveal() == TOKEN
    auth = auth_for(t)
    assert isinstance(auth, SswsAuth) and TOKEN not in repr(auth)
    with OktaClient(t.okta_url, auth, tenant_id="acme") as client:
        assert list(client.iter_items("/api/v1/groups"))
    assert "GetSecretValue" in caplog.text or "secretsmanager" in caplog.text  # botocore did log
    assert TOKEN not in caplog.text


def test_region_comes_from_the_secret_arn(moto: str, sandbox: Sandbox, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    point_aws_at(monkeypatch, moto)
    arn = put_secret(moto, f"oktually/okta/arn-{uuid.uuid4().hex[:6]}", TOKEN)
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    assert api_token(tenant(tmp_path, sandbox.url, f"    token_secret: '{arn}'\n")).reveal() == TOKEN


def test_service_app_key_from_secrets_manager(moto: str, sandbox: Sandbox, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    point_aws_at(monkeypatch, moto)
    clear_token_cache()
    name = f"oktually/okta/acme-key-{uuid.uuid4().hex[:6]}"
    put_secret(moto, name, json.dumps({"private_key": json.loads(private_jwk(ec_key(), "ec-sm"))}))
    t = tenant(tmp_path, sandbox.url, f"    oauth:\n      client_id: 0oasecretsapp\n      private_key_secret: {name}\n"
                                      "      scopes: [okta.users.read]\n")
    with OktaClient(t.okta_url, auth_for(t), tenant_id="acme") as client:
        assert list(client.iter_items("/api/v1/users", {"limit": 50}))
    assert sandbox.oauth.assertions[-1][0]["kid"] == "ec-sm"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_every_failure_names_tenant_and_field_and_never_the_secret(
        moto: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    point_aws_at(monkeypatch, moto)
    url = "https://acme.okta.com"
    garbage_key = "-----BEGIN PRIVATE KEY-----\n" + "Zm9vYmFy" * 12 + "\n-----END PRIVATE KEY-----\n"
    put_secret(moto, "oktually/okta/empty", " ")
    put_secret(moto, "oktually/okta/wrapped-elsewhere", json.dumps({"password": TOKEN}))
    put_secret(moto, "oktually/okta/garbage-key", garbage_key)
    cases = [
        ("    token_secret: oktually/okta/does-not-exist\n", r"\.token_secret: .*'oktually/okta/does-not-exist' was not found"),
        ("    token_secret: oktually/okta/empty\n", r"\.token_secret: .* is empty"),
        ("    token_secret: oktually/okta/wrapped-elsewhere\n", r"\.token_secret: .* is JSON without a 'token'"),
        ("    token_env: OKTUALLY_UNSET_TOKEN_VARIABLE\n", r"\.token_env: environment variable OKTUALLY_UNSET_TOKEN_VARIABLE is not set"),
        ("    oauth:\n      client_id: 0oax\n      private_key_secret: oktually/okta/garbage-key\n",
         r"\.oauth\.private_key_secret: not a readable PEM or JWK private key"),
        ("    oauth:\n      client_id: 0oax\n      private_key_secret: oktually/okta/nope\n",
         r"\.oauth\.private_key_secret: .* was not found"),
    ]
    monkeypatch.delenv("OKTUALLY_UNSET_TOKEN_VARIABLE", raising=False)
    for auth, expected in cases:
        with pytest.raises(TenantConfigError, match=r"^tenant 'acme'" + expected) as err:
            auth_for(tenant(tmp_path, url, auth))
        for secret in (TOKEN, *secret_fragments(garbage_key)):
            assert secret not in str(err.value)
        # No chained exception (a botocore or parser error) rides along into tracebacks.
        assert err.value.__cause__ is None and (err.value.__context__ is None or err.value.__suppress_context__)

    monkeypatch.delenv("AWS_DEFAULT_REGION")
    with pytest.raises(TenantConfigError, match=r"^tenant 'acme'\.token_secret: no AWS region"):
        auth_for(tenant(tmp_path, url, "    token_secret: oktually/okta/acme\n"))
    point_aws_at(monkeypatch, f"http://127.0.0.1:{_closed_port()}")
    with pytest.raises(TenantConfigError, match=r"^tenant 'acme'\.token_secret: cannot reach Secrets Manager"):
        auth_for(tenant(tmp_path, url, "    token_secret: oktually/okta/acme\n"))
