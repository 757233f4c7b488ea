from pathlib import Path

import pytest

from oktually_pipeline.okta.credentials import auth_for
from oktually_pipeline.tenants import (
    TenantConfigError,
    UnknownTenantError,
    find_tenant,
    load_tenants,
    parse_tenants,
)

GOOD = """
tenants:
  - id: acme
    okta_url: https://acme.okta.com
    token_env: OKTA_API_TOKEN_ACME
  - id: globex_2
    okta_url: http://127.0.0.1:8010
    token_env: OKTA_API_TOKEN_GLOBEX
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "tenants.yaml"
    path.write_text(text)
    return path


def test_good_file_loads_in_order(tmp_path: Path) -> None:
    tenants = load_tenants(_write(tmp_path, GOOD))
    assert [t.id for t in tenants] == ["acme", "globex_2"]
    assert tenants[0].schema == "okta_acme"
    assert tenants[1].is_loopback and not tenants[0].is_loopback


@pytest.mark.parametrize(
    "entry, message",
    [
        ("id: Acme\n    okta_url: https://a.okta.com\n    token_env: T", r"tenants\[0\]\.id: 'Acme' is not a valid tenant id"),
        ("id: acme\n    okta_url: http://acme.okta.com\n    token_env: T", r"tenant 'acme'\.okta_url: .* must use https"),
        ("id: acme\n    okta_url: https://acme.okta.com/api\n    token_env: T", r"tenant 'acme'\.okta_url: .*without a path"),
        ("id: acme\n    okta_url: https://acme.okta.com", r"tenant 'acme'\.token_env: give exactly one"),
        ("id: acme\n    okta_url: https://acme.okta.com\n    token_env: 'BAD NAME'", r"tenant 'acme'\.token_env: 'BAD NAME'"),
        ("id: acme\n    okta_url: https://acme.okta.com\n    token_env: T\n    extra: 1", r"tenant 'acme': unknown field"),
        ("id: acme\n    okta_url: https://u:p@acme.okta.com\n    token_env: T", r"credentials must not be part"),
    ],
)
def test_each_bad_field_is_named(tmp_path: Path, entry: str, message: str) -> None:
    with pytest.raises(TenantConfigError, match=message):
        load_tenants(_write(tmp_path, f"tenants:\n  - {entry}\n"))


def test_duplicate_ids_are_refused(tmp_path: Path) -> None:
    text = GOOD + "  - id: acme\n    okta_url: https://other.okta.com\n    token_env: X\n"
    with pytest.raises(TenantConfigError, match=r"tenant 'acme'\.id is defined more than once"):
        load_tenants(_write(tmp_path, text))


def test_malformed_yaml_names_file_and_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "tenants:\n  - id: acme\n   okta_url: [unclosed\n")
    with pytest.raises(TenantConfigError, match=rf"{path}: not valid YAML at line \d+"):
        load_tenants(path)


def test_missing_file_says_how_to_fix(tmp_path: Path) -> None:
    with pytest.raises(TenantConfigError, match="OKTUALLY_TENANTS"):
        load_tenants(tmp_path / "nope.yaml")


def test_wrong_top_level_shape() -> None:
    with pytest.raises(TenantConfigError, match="top-level 'tenants:' list"):
        parse_tenants({"tenant": []}, "x.yaml")


def test_unknown_tenant_lists_known_ones(tmp_path: Path) -> None:
    tenants = load_tenants(_write(tmp_path, GOOD))
    with pytest.raises(UnknownTenantError, match=r"unknown tenant 'initech' \(the tenant file defines: acme, globex_2\)"):
        find_tenant(tenants, "initech")


def test_missing_token_names_tenant_and_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OKTA_API_TOKEN_ACME", raising=False)
    tenant = load_tenants(_write(tmp_path, GOOD))[0]
    with pytest.raises(TenantConfigError, match=r"tenant 'acme'\.token_env: environment variable OKTA_API_TOKEN_ACME is not set"):
        auth_for(tenant)
