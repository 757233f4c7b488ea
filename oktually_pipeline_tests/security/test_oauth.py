"""Okta OAuth 2.0 service apps: client credentials with a private_key_jwt assertion, end to end
against the sandbox's token endpoint, which checks the assertion as Okta does."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import httpx
import jwt
import pytest

from oktually_pipeline.okta.client import OktaClient
from oktually_pipeline.okta.credentials import auth_for
from oktually_pipeline.okta.errors import OktaAuthError, ReadOnlyViolation
from oktually_pipeline.okta.oauth import (
    ASSERTION_TYPE,
    PrivateKeyError,
    ServiceAppAuth,
    clear_token_cache,
    load_signing_key,
)
from oktually_pipeline.sandbox import Sandbox, SandboxConfig
from oktually_pipeline.tenants import TenantConfigError, load_tenants
from oktually_pipeline_tests.security.keys import (
    ec_key,
    other_rsa_key,
    pem,
    private_jwk,
    public_pem,
    rsa_key,
    secret_fragments,
)

CLIENT = "0oaoktuallyservice1"
LIMITED = "0oaoktuallylogsonly"
SHORT = "0oaoktuallyshortlived"
EC_CLIENT = "0oaoktuallyecservice"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    clients = {
        CLIENT: {"public_key": public_pem(rsa_key()), "kid": "rsa-1"},
        LIMITED: {"public_key": rsa_key().public_key(), "scopes": ["okta.logs.read"]},
        SHORT: {"public_key": rsa_key().public_key(), "token_lifetime": 2},
        EC_CLIENT: {"jwks": [json.loads(private_jwk(ec_key(), "ec-1"))]},
    }
    # The sandbox registers public halves only: strip the private members of the EC JWK.
    for jwk in clients[EC_CLIENT]["jwks"]:
        jwk.pop("d", None)
    with Sandbox(SandboxConfig(seed=4, tenants=3, users=40, events=300, days=1, oauth_clients=clients)) as sb:
        yield sb


@pytest.fixture(autouse=True)
def fresh_tokens() -> Iterator[None]:
    clear_token_cache()
    yield
    clear_token_cache()


def tenant_file(tmp_path: Path, sb: Sandbox | SimpleNamespace, oauth: str) -> Path:
    path = tmp_path / f"tenants-{uuid.uuid4().hex[:6]}.yaml"
    path.write_text(f"tenants:\n  - id: acme\n    okta_url: {sb.url}\n    oauth:\n{oauth}")
    return path


def service_auth(sb: Sandbox, client_id: str = CLIENT, key=None, scopes=("okta.users.read", "okta.logs.read"),
                 kid: str | None = "rsa-1") -> ServiceAppAuth:
    return ServiceAppAuth(sb.url, client_id, load_signing_key(pem(key or rsa_key()), kid), scopes,
                          tenant_id="acme", sleep=lambda s: None)


def test_service_app_from_the_tenant_file_reads_with_one_cached_token(
        sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    key_text = pem(rsa_key())
    monkeypatch.setenv("OKTA_SERVICE_KEY_ACME", key_text)
    path = tenant_file(tmp_path, sandbox, f"      client_id: {CLIENT}\n      private_key_env: OKTA_SERVICE_KEY_ACME\n"
                                          "      key_id: rsa-1\n")
    tenant = load_tenants(path)[0]
    before = sandbox.oauth.stats.requests
    users = 0
    for _ in range(2):  # two clients, as a run opens several: one token between them
        with OktaClient(tenant.okta_url, auth_for(tenant), tenant_id="acme") as client:
            users += len(list(client.iter_items("/api/v1/users", {"limit": 10})))
            assert client.get_page("/api/v1/logs", {"since": "2000-01-01T00:00:00.000Z", "limit": 5}).items
    assert users > 0
    assert sandbox.oauth.stats.requests - before == 1
    header, claims = sandbox.oauth.assertions[-1]
    assert header["alg"] == "RS256" and header["kid"] == "rsa-1"
    assert claims["iss"] == claims["sub"] == CLIENT
    assert claims["aud"] == f"{sandbox.url}/oauth2/v1/token"
    assert 0 < claims["exp"] - claims["iat"] <= 3600 and claims["jti"]
    token = sandbox.oauth.issued[-1]
    for secret in [token, sandbox.oauth.raw_assertions[-1], *secret_fragments(key_text)]:
        assert secret not in caplog.text
    assert "***" in repr(auth_for(tenant)) and key_text not in repr(auth_for(tenant))


def test_jwk_key_and_ec_signature(sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OKTA_SERVICE_JWK", private_jwk(ec_key(), "ec-1"))
    path = tenant_file(tmp_path, sandbox, f"      client_id: {EC_CLIENT}\n      private_key_env: OKTA_SERVICE_JWK\n"
                                          "      scopes: [okta.groups.read]\n")
    tenant = load_tenants(path)[0]
    with OktaClient(tenant.okta_url, auth_for(tenant), tenant_id="acme") as client:
        assert list(client.iter_items("/api/v1/groups"))
    header, _ = sandbox.oauth.assertions[-1]
    assert header["alg"] == "ES256" and header["kid"] == "ec-1"  # the kid came from the JWK


def test_scopes_bound_what_a_token_may_read(sandbox: Sandbox) -> None:
    with OktaClient(sandbox.url, service_auth(sandbox, LIMITED, scopes=("okta.logs.read",), kid=None),
                    tenant_id="acme") as client:
        assert client.get_page("/api/v1/logs", {"since": "2000-01-01T00:00:00.000Z", "limit": 1}).items
        with pytest.raises(OktaAuthError) as err:
            client.get_page("/api/v1/users")
    assert err.value.status == 403 and "E0000006" in str(err.value) and "tenant 'acme'" in str(err.value)
    # Asking for a scope the app was not granted fails at the token endpoint.
    with OktaClient(sandbox.url, service_auth(sandbox, LIMITED, scopes=("okta.users.read",), kid=None),
                    tenant_id="acme") as client, pytest.raises(OktaAuthError) as err:
        client.get_page("/api/v1/users")
    assert "invalid_scope" in str(err.value) and "endpoint /oauth2/v1/token" in str(err.value)


def test_token_refreshed_before_expiry_and_after_revocation(sandbox: Sandbox) -> None:
    auth = service_auth(sandbox, SHORT, kid=None)
    with OktaClient(sandbox.url, auth, tenant_id="acme") as client:
        client.get_page("/api/v1/users", {"limit": 1})
        client.get_page("/api/v1/users", {"limit": 1})
        assert auth.token_requests == 1
        time.sleep(1.1)  # lifetime 2 s: refreshed a second before it expires
        client.get_page("/api/v1/users", {"limit": 1})
        assert auth.token_requests == 2
        sandbox.oauth.revoke()  # Okta answers 401: one fresh token, one retry
        client.get_page("/api/v1/users", {"limit": 1})
        assert auth.token_requests == 3
    sandbox.oauth.fail_next(2, 503)  # a token endpoint outage is retried
    clear_token_cache()
    with OktaClient(sandbox.url, auth, tenant_id="acme") as client:
        client.get_page("/api/v1/users", {"limit": 1})
    assert auth.token_requests == 6


def test_wrong_key_fails_clearly_without_showing_key_or_assertion(sandbox: Sandbox, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    key_text = pem(other_rsa_key())
    auth = ServiceAppAuth(sandbox.url, CLIENT, load_signing_key(key_text, "rsa-1"), ["okta.users.read"],
                          tenant_id="acme", sleep=lambda s: None)
    with OktaClient(sandbox.url, auth, tenant_id="acme") as client, pytest.raises(OktaAuthError) as err:
        client.get_page("/api/v1/users")
    message = str(err.value)
    assert "tenant 'acme'" in message and "endpoint /oauth2/v1/token" in message and "invalid_client" in message
    assert err.value.__cause__ is None
    for fragment in secret_fragments(key_text):
        assert fragment not in message and fragment not in caplog.text


def test_the_token_client_only_posts_to_the_token_url(sandbox: Sandbox) -> None:
    auth = service_auth(sandbox)
    before = sandbox.stats.total
    with auth.token_client() as http:
        for method, url in [("GET", auth.token_url), ("PUT", auth.token_url), ("DELETE", auth.token_url),
                            ("POST", f"{sandbox.url}/api/v1/users"), ("POST", auth.token_url + "?x=1"),
                            ("POST", f"{sandbox.url}/oauth2/default/v1/token"),
                            ("POST", "http://127.0.0.2:9/oauth2/v1/token")]:
            with pytest.raises(ReadOnlyViolation):
                http.request(method, url, data={"grant_type": "client_credentials"})
    assert sandbox.stats.total == before  # nothing left the process


def _post(sb: Sandbox, assertion: str | None, scope: str = "okta.users.read", **extra: str) -> httpx.Response:
    form = {"grant_type": "client_credentials", "scope": scope, "client_assertion_type": ASSERTION_TYPE,
            **({"client_assertion": assertion} if assertion is not None else {}), **extra}
    return httpx.post(f"{sb.url}/oauth2/v1/token", data=form)


def _claims(sb: Sandbox, **over) -> dict:
    now = int(time.time())
    claims = {"iss": CLIENT, "sub": CLIENT, "aud": f"{sb.url}/oauth2/v1/token", "iat": now, "exp": now + 300,
              "jti": uuid.uuid4().hex}
    claims.update(over)
    return {k: v for k, v in claims.items() if v is not None}


def _forge_hs256(claims: dict, secret: bytes) -> str:
    """The classic algorithm-confusion forgery: HMAC keyed with the (public) RSA key."""
    b64 = lambda raw: base64.urlsafe_b64encode(raw).rstrip(b"=")  # noqa: E731
    signing_input = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}).encode()) + b"." + b64(
        json.dumps(claims).encode())
    return (signing_input + b"." + b64(hmac.new(secret, signing_input, hashlib.sha256).digest())).decode()


def test_the_sandbox_checks_assertions_as_okta_does(sandbox: Sandbox) -> None:
    sign = lambda claims, key=None, alg="RS256", **h: jwt.encode(claims, key or rsa_key(), algorithm=alg,  # noqa: E731
                                                                 headers={"kid": "rsa-1", **h})
    good = _claims(sandbox)
    assert _post(sandbox, sign(good)).status_code == 200
    refused = {
        "replayed jti": sign(good),
        "another key": sign(_claims(sandbox), other_rsa_key()),
        "alg none": jwt.encode(_claims(sandbox), None, algorithm="none"),
        "HS256 keyed with the public key": _forge_hs256(_claims(sandbox), public_pem(rsa_key()).encode()),
        "expired": sign(_claims(sandbox, iat=int(time.time()) - 900, exp=int(time.time()) - 600)),
        "lives over an hour": sign(_claims(sandbox, exp=int(time.time()) + 7200)),
        "no exp": sign(_claims(sandbox, exp=None)),
        "wrong audience": sign(_claims(sandbox, aud="https://evil.example.com/oauth2/v1/token")),
        "sub is not the client": sign(_claims(sandbox, sub="someone-else")),
        "unknown client": sign(_claims(sandbox, iss="0oaunknown", sub="0oaunknown")),
        "unknown kid": sign(_claims(sandbox), kid="rsa-9"),
        "not a JWT": "not.a.jwt",
    }
    for why, assertion in refused.items():
        answer = _post(sandbox, assertion)
        assert answer.status_code == 401 and answer.json()["error"] == "invalid_client", why
    assert _post(sandbox, None).status_code == 401
    assert _post(sandbox, sign(_claims(sandbox)), client_secret="s3cret").status_code == 401
    assert _post(sandbox, sign(_claims(sandbox)), scope="okta.users.manage").json()["error"] == "invalid_scope"
    assert _post(sandbox, sign(_claims(sandbox)), grant_type="password").json()["error"] == "unsupported_grant_type"
    assert httpx.get(f"{sandbox.url}/oauth2/v1/token").status_code == 404  # the token endpoint is POST only
    for method in ("PUT", "PATCH", "DELETE"):
        refused_method = httpx.request(method, f"{sandbox.url}/oauth2/v1/token", content=b"grant_type=x")
        assert refused_method.status_code == 405 and refused_method.headers["Allow"] == "POST", method
    # An unknown or revoked token reads nothing.
    for credential in ("Bearer not-issued", "Bearer x"):
        assert httpx.get(f"{sandbox.url}/api/v1/users", headers={"Authorization": credential}).status_code == 401


@pytest.mark.parametrize("text, why", [
    ("not a key at all", "not a readable PEM or JWK"),
    (public_pem(rsa_key()), "not a readable PEM or JWK"),
    ('{"kty": "RSA", "n": "abc", "e": "AQAB"}', "not an RSA or EC private key"),
])
def test_unusable_private_keys_are_refused_without_showing_them(text: str, why: str, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(PrivateKeyError, match=why) as err:
        load_signing_key(text)
    assert text not in str(err.value)
    monkeypatch.setenv("OKTA_SERVICE_KEY_BAD", text)
    org = SimpleNamespace(url="https://acme.okta.com")
    tenant = load_tenants(tenant_file(tmp_path, org, f"      client_id: {CLIENT}\n"
                                                     "      private_key_env: OKTA_SERVICE_KEY_BAD\n"))[0]
    with pytest.raises(TenantConfigError, match=r"tenant 'acme'\.oauth\.private_key_env: ") as err:
        auth_for(tenant)
    assert text not in str(err.value)
