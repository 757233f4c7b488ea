"""Bad input is refused with a clear error before it becomes an identifier, a path, a URL or an S3
key, and never reaches Postgres. Property-based: hypothesis throws hostile tenant ids, URLs, tenant
entries, whole tenant files and extract keys at the code that validates them."""

from __future__ import annotations

import ipaddress
import re
import string
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from oktually_pipeline.extracts.stores import LocalStore, UnsafeKeyError, check_key
from oktually_pipeline.tenants import (
    TENANT_ID_PATTERN,
    Tenant,
    TenantConfigError,
    find_tenant,
    load_tenants,
    parse_tenants,
    validate_tenant_id,
)
from oktually_pipeline.warehouse.engine import create_engine
from oktually_pipeline.warehouse.roles import (
    ensure_tenant_roles,
    loader_role,
    reader_role,
)
from oktually_pipeline.warehouse.schema import (
    ensure_tenant_schema,
    tenant_schema,
    use_tenant_schema,
)

# Seeded (derandomize) and bounded, so CI is repeatable and quick; no example database on disk.
FAST = settings(max_examples=100, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow])
NASTY = [
    "", " ", "acme ", "Acme", "ACME", "1acme", "_acme", "acme-corp", "acme.corp", "acme;drop schema public",
    "acme\"; DROP TABLE x; --", "acme'--", "acme\x00", "acme\n", "acme\r\nX: y", "../etc/passwd", "..",
    "acme/../../x", "acme\\x", "tenant=acme", "a" * 41, "ácme", "acme\u200b", "ａｃｍｅ", "acme$", "$(rm -rf /)",
    "okta_acme", "acme%00", "%2e%2e", "acme\t", "null", "pg_catalog", "a b",
]
hostile_ids = st.one_of(
    st.sampled_from(NASTY),
    st.text(max_size=60),
    st.from_regex(TENANT_ID_PATTERN, fullmatch=True).flatmap(
        lambda ok: st.sampled_from(list("-.;'\"/\\ \n\x00$%()*AZ\u00e9")).map(lambda bad: ok + bad)),
    st.integers(), st.none(), st.booleans(), st.lists(st.text(max_size=3), max_size=2),
)
valid_ids = st.from_regex(TENANT_ID_PATTERN, fullmatch=True)


def _is_valid_id(value: object) -> bool:
    return isinstance(value, str) and re.fullmatch(TENANT_ID_PATTERN, value) is not None


@FAST
@given(hostile_ids)
def test_hostile_tenant_ids_are_refused_everywhere(value: object) -> None:
    assume(not _is_valid_id(value))
    for use in (validate_tenant_id, tenant_schema, loader_role, reader_role):
        with pytest.raises(TenantConfigError, match="is not a valid tenant id"):
            use(value)  # type: ignore[arg-type]
    with pytest.raises(TenantConfigError, match=r"tenant file: tenants\[0\]\.id: .* is not a valid tenant id"):
        parse_tenants({"tenants": [{"id": value, "okta_url": "https://acme.okta.com", "token_env": "T"}]})
    with pytest.raises(TenantConfigError):
        find_tenant([Tenant("acme", "https://acme.okta.com", "T")], value)  # type: ignore[arg-type]


@FAST
@given(valid_ids)
def test_valid_ids_make_safe_identifiers(value: str) -> None:
    for name in (tenant_schema(value), loader_role(value), reader_role(value)):
        assert re.fullmatch(r"okta_[a-z][a-z0-9_]*", name) and len(name) <= 63  # Postgres' NAMEDATALEN
    assert check_key(f"tenant={value}") == f"tenant={value}"


urls = st.one_of(
    st.text(max_size=80),
    st.sampled_from(["https://acme.okta.com", "http://127.0.0.1:8010", "https://acme.oktapreview.com"]).flatmap(
        lambda base: st.tuples(st.sampled_from(["", "/", "/api", "?x", "#f", ":99999", ":0", "\r\nX: y", " ", "\x00",
                                                "@evil.com", "/../", "%0d%0a", ".evil.com"]), st.text(max_size=5))
        .map(lambda t: base + t[0] + t[1])),
    st.builds(lambda scheme, host: f"{scheme}://{host}", st.sampled_from(["http", "https", "ftp", "file", "javascript"]),
              st.text(alphabet=string.printable, max_size=30)),
)


@FAST
@given(urls)
def test_okta_urls_are_plain_https_org_urls_or_refused(url: str) -> None:
    try:
        tenant = parse_tenants({"tenants": [{"id": "acme", "okta_url": url, "token_env": "T"}]})[0]
    except TenantConfigError as exc:
        assert str(exc).startswith("tenant file: tenant 'acme'.okta_url: ")
        return
    got = tenant.okta_url
    assert got.isascii() and got.isprintable() and not any(c.isspace() for c in got)
    parts = urlsplit(got)
    assert parts.scheme == "https" or (parts.scheme == "http" and ipaddress.ip_address(
        parts.hostname if parts.hostname != "localhost" else "127.0.0.1").is_loopback)
    assert not (parts.username or parts.password or parts.query or parts.fragment or "@" in parts.netloc)
    assert parts.path == "" and parts.hostname


def _entries() -> st.SearchStrategy:
    scalar = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20),
                       st.sampled_from(NASTY), st.sampled_from(["https://acme.okta.com", "T", "okta.logs.read"]))
    value = st.recursive(scalar, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                          st.dictionaries(st.text(max_size=8), inner, max_size=3)),
                         max_leaves=8)
    keys = st.sampled_from(["id", "okta_url", "token_env", "token_secret", "oauth", "client_id", "private_key_env",
                            "private_key_secret", "key_id", "scopes", "extra"])
    return st.one_of(value, st.dictionaries(keys, value, max_size=6),
                     st.fixed_dictionaries({"id": hostile_ids | valid_ids, "okta_url": urls,
                                            "token_env": st.text(max_size=20) | st.none()},
                                           optional={"oauth": value, "token_secret": value}))


def _check_parsed(tenants: list[Tenant]) -> None:
    for t in tenants:
        assert _is_valid_id(t.id)
        assert sum(x is not None for x in (t.token_env, t.token_secret, t.oauth)) == 1
        for name in (t.token_env, t.oauth and t.oauth.private_key_env):
            assert not name or re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,127}", name)
        for secret_id in (t.token_secret, t.oauth and t.oauth.private_key_secret):
            assert not secret_id or re.fullmatch(r"[A-Za-z0-9/_+=.@:-]{1,512}", secret_id)


@FAST
@given(st.one_of(st.lists(_entries(), max_size=3).map(lambda e: {"tenants": e}), _entries()))
def test_hostile_tenant_entries_are_refused_with_a_clear_error(data: object) -> None:
    try:
        tenants = parse_tenants(data, "tenants.yaml")
    except TenantConfigError as exc:
        assert str(exc).startswith("tenants.yaml: ")
        return
    _check_parsed(tenants)


@settings(FAST, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(content=st.one_of(
    st.binary(max_size=300),
    st.text(max_size=300).map(str.encode),
    st.lists(_entries(), max_size=3).map(lambda e: yaml.safe_dump({"tenants": e}, allow_unicode=True).encode()),
    st.sampled_from([b"tenants: !!python/object/apply:os.system ['touch /tmp/pwned']", b"a: &a [*a]",
                     b"tenants:\n  - &x {id: acme}\n  - *x\n", b"\xff\xfe\x00t", b"tenants: [" * 50,
                     b"tenants:\n  - id: acme\n    okta_url: https://acme.okta.com\n    token_env: T\n    token_env: U\n"]),
))
def test_hostile_tenant_files_are_refused_with_a_clear_error(content: bytes, tmp_path: Path) -> None:
    path = tmp_path / "tenants.yaml"
    path.write_bytes(content)
    try:
        tenants = load_tenants(path)
    except TenantConfigError as exc:
        assert str(exc).startswith(str(path))
        return
    _check_parsed(tenants)
    assert not Path("/tmp/pwned").exists()


keys = st.one_of(
    st.text(max_size=60),
    st.lists(st.sampled_from(["..", ".", "", "tenant=acme", "users", "part-0.parquet", "/", "\\", "a\x00b",
                              "C:", "~", "%2e%2e", ".hidden", "a b", "x" * 201]), min_size=1, max_size=4).map("/".join),
)


@FAST
@given(keys)
def test_extract_keys_are_plain_relative_paths_or_refused(key: str) -> None:
    root = Path("/srv/extracts")
    try:
        checked = check_key(key)
    except UnsafeKeyError as exc:
        assert "unsafe extract key" in str(exc)
        return
    parts = checked.split("/")
    assert all(p and p not in (".", "..") and not p.startswith(".") and "\\" not in p and "\x00" not in p for p in parts)
    assert not checked.startswith("/")
    assert root in LocalStore(root)._path(checked).parents  # stays under the extracts folder


@pytest.fixture(scope="module")
def statements(pg_admin_url: str):
    """An engine on a fresh database recording every SQL statement it sends."""
    from oktually_pipeline_tests.databases import new_database

    with new_database(pg_admin_url) as url:
        engine = create_engine(url)
        sent: list[str] = []
        sa.event.listen(engine, "before_cursor_execute", lambda *a: sent.append(a[2]))
        yield engine, sent
        engine.dispose()


@settings(FAST, max_examples=30, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(value=hostile_ids)
def test_hostile_ids_never_reach_postgres(value: object, statements) -> None:
    assume(not _is_valid_id(value))
    engine, sent = statements
    sent.clear()
    with pytest.raises(TenantConfigError):
        ensure_tenant_schema(engine, value)  # type: ignore[arg-type]
    with pytest.raises(TenantConfigError):
        ensure_tenant_roles(engine, value)  # type: ignore[arg-type]
    with engine.connect() as conn:
        before = list(sent)
        with pytest.raises(TenantConfigError):
            use_tenant_schema(conn, value)  # type: ignore[arg-type]
        assert sent == before
    assert not any("CREATE" in s or "GRANT" in s or "search_path" in s for s in sent)
    with engine.connect() as conn:
        schemas = set(conn.execute(sa.text("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'okta%'")).scalars())
    assert schemas == set()
