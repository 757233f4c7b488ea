"""Turns a tenant's configured credential source into an httpx auth object for the Okta client.

* `token_env`: an SSWS API token in an environment variable.
* `token_secret`: an SSWS API token in AWS Secrets Manager, read with boto3 (endpoint, region and
  credentials from the usual AWS settings, including `AWS_ENDPOINT_URL_SECRETS_MANAGER` and
  `AWS_ENDPOINT_URL`; the region also from the secret's ARN).
* `oauth`: an Okta API service app (client credentials + private_key_jwt, okta/oauth.py), its
  private key (PEM or JWK) in an environment variable or in Secrets Manager.

Every failure is a TenantConfigError naming the tenant and the field; no message carries a secret.
A secret may be stored as the bare value or as JSON `{"token": "..."}` / `{"private_key": "..."}`.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import httpx
import orjson

from oktually_pipeline.okta.auth import Secret, SswsAuth
from oktually_pipeline.tenants import Tenant, TenantConfigError

SECRET_JSON_KEYS = {"token": ("token", "api_token", "okta_api_token"), "private_key": ("private_key",)}


def _where(tenant: Tenant, field: str) -> str:
    return f"tenant {tenant.id!r}.{field}"


def _from_env(tenant: Tenant, field: str, name: str) -> Secret:
    value = os.environ.get(name, "")
    if not value.strip():
        raise TenantConfigError(f"{_where(tenant, field)}: environment variable {name} is not set")
    return Secret(value)


def _region_for(secret_id: str) -> str | None:
    if secret_id.startswith("arn:"):
        parts = secret_id.split(":")
        if len(parts) > 3 and parts[3]:
            return parts[3]
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or None


class _NoResponseBodies(logging.Filter):
    """botocore logs whole response bodies at DEBUG, a GetSecretValue answer included: drop them."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Response body")


_BODY_FILTER = _NoResponseBodies()


def secrets_manager_client(region: str | None) -> Any:
    """A boto3 Secrets Manager client; botocore reads AWS_ENDPOINT_URL[_SECRETS_MANAGER] itself."""
    import boto3
    from botocore.config import Config

    parsers_log = logging.getLogger("botocore.parsers")
    if _BODY_FILTER not in parsers_log.filters:
        parsers_log.addFilter(_BODY_FILTER)

    config = Config(connect_timeout=5, read_timeout=15, retries={"max_attempts": 4, "mode": "standard"})
    return boto3.session.Session().client("secretsmanager", region_name=region, config=config)


def _from_secrets_manager(tenant: Tenant, field: str, secret_id: str, kind: str) -> Secret:
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        NoCredentialsError,
        NoRegionError,
    )

    where = _where(tenant, field)
    region = _region_for(secret_id)
    if region is None:
        raise TenantConfigError(
            f"{where}: no AWS region for Secrets Manager secret {secret_id!r} (set AWS_REGION or "
            "AWS_DEFAULT_REGION, or give the secret's ARN)"
        )
    try:
        answer = secrets_manager_client(region).get_secret_value(SecretId=secret_id)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "ClientError")
        reason = {
            "ResourceNotFoundException": "was not found",
            "AccessDeniedException": "cannot be read with these AWS credentials (access denied)",
            "DecryptionFailure": "cannot be decrypted with its KMS key",
            "InvalidRequestException": "cannot be read now (is it scheduled for deletion?)",
        }.get(code, f"cannot be read ({code})")
        raise TenantConfigError(f"{where}: Secrets Manager secret {secret_id!r} {reason}") from None
    except NoCredentialsError:
        raise TenantConfigError(f"{where}: no AWS credentials to read Secrets Manager secret {secret_id!r}") from None
    except NoRegionError:
        raise TenantConfigError(f"{where}: no AWS region for Secrets Manager secret {secret_id!r}") from None
    except BotoCoreError as exc:
        # Connection problems and the like; botocore's messages name endpoints, never values.
        raise TenantConfigError(
            f"{where}: cannot reach Secrets Manager for secret {secret_id!r} ({type(exc).__name__})"
        ) from None
    raw = answer.get("SecretString")
    if raw is None and answer.get("SecretBinary") is not None:
        try:
            raw = bytes(answer["SecretBinary"]).decode("utf-8")
        except UnicodeDecodeError:
            raise TenantConfigError(f"{where}: Secrets Manager secret {secret_id!r} is binary, not text") from None
    value = _unwrap(raw or "", kind)
    if value is None:
        raise TenantConfigError(
            f"{where}: Secrets Manager secret {secret_id!r} is JSON without a "
            f"{' or '.join(repr(k) for k in SECRET_JSON_KEYS[kind])} key (store the bare value, or "
            f'{{"{SECRET_JSON_KEYS[kind][0]}": ...}})'
        )
    if not value.strip():
        raise TenantConfigError(f"{where}: Secrets Manager secret {secret_id!r} is empty")
    return Secret(value)


def _unwrap(raw: str, kind: str) -> str | None:
    """A secret stored as JSON: the value under a known key (a JWK key stays whole); None if the
    JSON has none of them."""
    text = raw.strip()
    if not text.startswith("{"):
        return raw
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError:
        return raw
    if not isinstance(data, dict) or "kty" in data:
        return raw
    for key in SECRET_JSON_KEYS[kind]:
        if isinstance(data.get(key), str):
            return data[key]
    if kind == "private_key" and isinstance(data.get("private_key"), dict):
        return orjson.dumps(data["private_key"]).decode()
    return None


def api_token(tenant: Tenant) -> Secret:
    """The tenant's SSWS token, from its environment variable or its Secrets Manager secret."""
    if tenant.token_env:
        return _from_env(tenant, "token_env", tenant.token_env)
    if tenant.token_secret:
        return _from_secrets_manager(tenant, "token_secret", tenant.token_secret, "token")
    raise TenantConfigError(f"{_where(tenant, 'token_env')}: the tenant has no API token configured")


def private_key(tenant: Tenant) -> Secret:
    """The service app's private key (PEM or JWK), from its environment variable or secret."""
    oauth = tenant.oauth
    assert oauth is not None
    if oauth.private_key_env:
        return _from_env(tenant, "oauth.private_key_env", oauth.private_key_env)
    assert oauth.private_key_secret
    return _from_secrets_manager(tenant, "oauth.private_key_secret", oauth.private_key_secret, "private_key")


def auth_for(tenant: Tenant) -> httpx.Auth:
    if tenant.token_env or tenant.token_secret:
        return SswsAuth(api_token(tenant))
    if tenant.oauth is None:
        raise TenantConfigError(f"{_where(tenant, 'token_env')}: give one of token_env, token_secret or oauth")
    from oktually_pipeline.okta.oauth import (
        PrivateKeyError,
        ServiceAppAuth,
        load_signing_key,
    )

    oauth = tenant.oauth
    field = "oauth.private_key_env" if oauth.private_key_env else "oauth.private_key_secret"
    try:
        key = load_signing_key(private_key(tenant), oauth.key_id)
    except PrivateKeyError as exc:
        raise TenantConfigError(f"{_where(tenant, field)}: {exc}") from None
    return ServiceAppAuth(tenant.okta_url, oauth.client_id, key, oauth.scopes, tenant_id=tenant.id)
