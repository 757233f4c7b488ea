"""The tenant file: which Okta orgs the pipeline reads, and how it authenticates to each.

```yaml
tenants:
  - id: acme                        # ^[a-z][a-z0-9_]{0,39}$ ; partition key and schema suffix
    okta_url: https://acme.okta.com
    token_env: OKTA_API_TOKEN_ACME  # SSWS API token, read from this environment variable
```

A tenant authenticates with exactly one of `token_env` (an environment variable holding an SSWS
token), `token_secret` (an AWS Secrets Manager secret id holding it) or `oauth` (an Okta service
app: `client_id`, `private_key_env` or `private_key_secret`, optional `key_id` and `scopes`).

Tenant ids become Dagster partition keys, Postgres schema names and object-store paths, so they
are validated here, before any of those exist.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from oktually_pipeline import settings

TENANT_ID_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"
_TENANT_ID_RE = re.compile(TENANT_ID_PATTERN)
_ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
_SECRET_ID_RE = re.compile(r"^[A-Za-z0-9/_+=.@:-]{1,512}$")
_CLIENT_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,128}$")

DEFAULT_OAUTH_SCOPES = (
    "okta.logs.read",
    "okta.users.read",
    "okta.groups.read",
    "okta.apps.read",
    "okta.idps.read",
    "okta.policies.read",
    "okta.roles.read",
)

_TENANT_KEYS = {"id", "okta_url", "token_env", "token_secret", "oauth"}
_OAUTH_KEYS = {"client_id", "private_key_env", "private_key_secret", "key_id", "scopes"}


class TenantConfigError(ValueError):
    """The tenant file, or one tenant in it, is not usable. The message names where and what."""


class UnknownTenantError(TenantConfigError):
    """A tenant id that the tenant file does not define."""


@dataclass(frozen=True)
class OAuthSettings:
    """An Okta API service app using client credentials with a private_key_jwt assertion."""

    client_id: str
    private_key_env: str | None = None
    private_key_secret: str | None = None
    key_id: str | None = None
    scopes: tuple[str, ...] = DEFAULT_OAUTH_SCOPES


@dataclass(frozen=True)
class Tenant:
    id: str
    okta_url: str
    token_env: str | None = None
    token_secret: str | None = None
    oauth: OAuthSettings | None = field(default=None)

    @property
    def schema(self) -> str:
        return f"okta_{self.id}"

    @property
    def is_loopback(self) -> bool:
        return is_loopback_url(self.okta_url)


def validate_tenant_id(value: Any, *, where: str = "tenant id") -> str:
    """Return `value` if it is a valid tenant id, else raise TenantConfigError naming `where`."""
    if not isinstance(value, str) or not _TENANT_ID_RE.fullmatch(value):
        raise TenantConfigError(
            f"{where}: {value!r} is not a valid tenant id (expected {TENANT_ID_PATTERN}: "
            "a lower-case letter, then up to 39 lower-case letters, digits or underscores)"
        )
    return value


def is_loopback_url(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


_HOST_LABEL_RE = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def _valid_host(host: str) -> bool:
    """An IP address, or a DNS name of ASCII labels (punycode for international names)."""
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    labels = host.split(".")
    return len(host) <= 253 and all(_HOST_LABEL_RE.fullmatch(label) for label in labels) and not host[-1:].isdigit()


def _validate_okta_url(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise TenantConfigError(f"{where}.okta_url: missing (expected https://<org>.okta.com)")
    # The value becomes a request target and appears in logs: printable ASCII only, no spaces.
    if not value.isascii() or any(c.isspace() or not c.isprintable() for c in value):
        raise TenantConfigError(
            f"{where}.okta_url: must be a plain URL (printable ASCII, no spaces or control characters)"
        )
    try:
        parts = urlsplit(value)
        host, port = parts.hostname, parts.port
    except ValueError:
        host = port = None
        parts = None
    if parts is not None and (parts.username is not None or parts.password is not None or "@" in parts.netloc):
        raise TenantConfigError(f"{where}.okta_url: credentials must not be part of the URL")
    shown = value if len(value) <= 120 else value[:117] + "..."
    if parts is None or parts.scheme not in ("https", "http") or not host or not _valid_host(host):
        raise TenantConfigError(f"{where}.okta_url: {shown!r} is not an http(s) URL with a valid host and port")
    if parts.scheme == "http" and not is_loopback_url(value):
        raise TenantConfigError(
            f"{where}.okta_url: {shown!r} must use https (plain http is allowed only for a "
            "loopback sandbox such as http://127.0.0.1:8010)"
        )
    if "?" in value or "#" in value or parts.path not in ("", "/") or (port is not None and port == 0):
        raise TenantConfigError(
            f"{where}.okta_url: {shown!r} must be the org's base URL, without a path or query"
        )
    return value.rstrip("/")


def _validated(value: Any, pattern: re.Pattern[str], where: str, what: str) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise TenantConfigError(f"{where}: {value!r} is not a valid {what}")
    return value


def _parse_oauth(value: Any, where: str) -> OAuthSettings:
    if not isinstance(value, dict):
        raise TenantConfigError(f"{where}.oauth: expected a mapping with client_id and a private key")
    unknown = set(value) - _OAUTH_KEYS
    if unknown:
        raise TenantConfigError(f"{where}.oauth: unknown field(s) {sorted(unknown)}")
    client_id = _validated(value.get("client_id"), _CLIENT_ID_RE, f"{where}.oauth.client_id", "client id")
    key_env = value.get("private_key_env")
    key_secret = value.get("private_key_secret")
    if (key_env is None) == (key_secret is None):
        raise TenantConfigError(
            f"{where}.oauth: give exactly one of private_key_env or private_key_secret"
        )
    if key_env is not None:
        _validated(key_env, _ENV_NAME_RE, f"{where}.oauth.private_key_env", "environment variable name")
    if key_secret is not None:
        _validated(key_secret, _SECRET_ID_RE, f"{where}.oauth.private_key_secret", "secret id")
    key_id = value.get("key_id")
    if key_id is not None:
        _validated(key_id, _CLIENT_ID_RE, f"{where}.oauth.key_id", "key id")
    scopes = value.get("scopes", list(DEFAULT_OAUTH_SCOPES))
    if not isinstance(scopes, list) or not scopes or not all(
        isinstance(s, str) and re.fullmatch(r"okta\.[a-zA-Z]+\.read", s) for s in scopes
    ):
        raise TenantConfigError(
            f"{where}.oauth.scopes: expected a list of read scopes such as okta.logs.read"
        )
    return OAuthSettings(client_id, key_env, key_secret, key_id, tuple(scopes))


def parse_tenant(entry: Any, index: int, source: str) -> Tenant:
    where = f"{source}: tenants[{index}]"
    if not isinstance(entry, dict):
        raise TenantConfigError(f"{where}: expected a mapping with id, okta_url and token_env")
    tenant_id = validate_tenant_id(entry.get("id"), where=f"{where}.id")
    where = f"{source}: tenant {tenant_id!r}"
    unknown = set(entry) - _TENANT_KEYS
    if unknown:
        raise TenantConfigError(f"{where}: unknown field(s) {sorted(unknown)}")
    okta_url = _validate_okta_url(entry.get("okta_url"), where)
    auth_fields = [k for k in ("token_env", "token_secret", "oauth") if entry.get(k) is not None]
    if len(auth_fields) != 1:
        raise TenantConfigError(
            f"{where}.token_env: give exactly one of token_env, token_secret or oauth "
            f"(found {auth_fields or 'none'})"
        )
    token_env = entry.get("token_env")
    if token_env is not None:
        _validated(token_env, _ENV_NAME_RE, f"{where}.token_env", "environment variable name")
    token_secret = entry.get("token_secret")
    if token_secret is not None:
        _validated(token_secret, _SECRET_ID_RE, f"{where}.token_secret", "secret id")
    oauth = _parse_oauth(entry["oauth"], where) if entry.get("oauth") is not None else None
    return Tenant(tenant_id, okta_url, token_env, token_secret, oauth)


def parse_tenants(data: Any, source: str = "tenant file") -> list[Tenant]:
    """Validate the parsed YAML of a tenant file and return its tenants in file order."""
    if not isinstance(data, dict) or not isinstance(data.get("tenants"), list):
        raise TenantConfigError(f"{source}: expected a top-level 'tenants:' list")
    tenants: list[Tenant] = []
    seen: set[str] = set()
    for index, entry in enumerate(data["tenants"]):
        tenant = parse_tenant(entry, index, source)
        if tenant.id in seen:
            raise TenantConfigError(f"{source}: tenant {tenant.id!r}.id is defined more than once")
        seen.add(tenant.id)
        tenants.append(tenant)
    return tenants


def load_tenants(path: str | Path | None = None) -> list[Tenant]:
    """Read and validate the tenant file (default: $OKTUALLY_TENANTS or ./tenants.yaml)."""
    path = Path(path) if path is not None else settings.tenants_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TenantConfigError(
            f"{path}: tenant file not found (set {settings.TENANTS_ENV} or create ./tenants.yaml)"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TenantConfigError(f"{path}: cannot read tenant file: {exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise TenantConfigError(f"{path}: not valid YAML{at}") from None
    return parse_tenants(data, str(path))


def find_tenant(tenants: Iterable[Tenant], tenant_id: str) -> Tenant:
    validate_tenant_id(tenant_id)
    for tenant in tenants:
        if tenant.id == tenant_id:
            return tenant
    known = ", ".join(sorted(t.id for t in tenants)) or "none"
    raise UnknownTenantError(f"unknown tenant {tenant_id!r} (the tenant file defines: {known})")
