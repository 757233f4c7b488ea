"""The Okta client against the sandbox over real HTTP: paging, pacing, retries, read-only, secrecy."""

import gc
import logging
from collections.abc import Iterator

import httpx
import pytest

from oktually_pipeline.okta.auth import Secret, SswsAuth
from oktually_pipeline.okta.client import OktaClient, _GcPause, _unwrap
from oktually_pipeline.okta.errors import (
    OktaAuthError,
    OktaMalformedPageError,
    OktaUnavailableError,
    ReadOnlyViolation,
)
from oktually_pipeline.sandbox import Faults, Sandbox, SandboxConfig

TOKEN = "00sandbox-client-test-token-0123456789abcdef"


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(SandboxConfig(seed=3, tenants=4, users=120, events=2500, days=2, tokens=(TOKEN,),
                               window_seconds=1)) as sb:
        yield sb


def client_for(sb: Sandbox, token: str = TOKEN, **kw) -> OktaClient:
    kw.setdefault("max_backoff", 0.05)
    return OktaClient(sb.url, SswsAuth(Secret(token)), tenant_id="acme", **kw)


def test_pages_follow_next_links_to_every_user(sandbox: Sandbox) -> None:
    with client_for(sandbox) as client:
        pages = list(client.iter_pages("/api/v1/users", {"limit": 25, "filter": 'lastUpdated gt "2000-01-01T00:00:00.000Z"'}))
    ids = [u["id"] for p in pages for u in p.items]
    assert len(pages) > 2
    assert len(ids) == len(set(ids))
    assert set(ids) == set(sandbox.org.snapshot()["users"])
    assert all(p.rate_limit is not None for p in pages)


def test_enveloped_lists_page_through_links_in_the_body(sandbox: Sandbox) -> None:
    org = sandbox.org
    extra = sorted(u for u, v in org.users.items() if v["status"] == "ACTIVE" and u not in org.user_roles)[:2]
    for user_id in extra:
        org.assign_user_role(user_id, "READ_ONLY_ADMIN")
    with client_for(sandbox) as client:
        pages = list(client.iter_pages("/api/v1/iam/assignees/users", {"limit": 1}, envelope="value"))
    assert len(pages) == len(org.role_assignees()) >= 4
    assert [p.items[0]["id"] for p in pages] == [a["id"] for a in org.role_assignees()]
    assert all(p.next_url for p in pages[:-1]) and pages[-1].next_url is None


def test_envelope_shapes() -> None:
    # Okta's OpenAPI example (RoleAssignedUsersResponseExample), then pages we must refuse.
    example = {"value": [{"id": "00u118oQYT4TBGuay0g4", "orn": "orn:okta:00o5rb5mt2H3d1TJd0h7:users:00u118oQYT4TBGuay0g4"}],
               "_links": {"next": {"href": "http://your-subdomain.okta.com/api/v1/iam/assignees/users?after=00u118oQYT4TBGuay0g4&limit=1"}}}
    items, nxt = _unwrap(example, "value")
    assert [i["id"] for i in items] == ["00u118oQYT4TBGuay0g4"] and nxt.endswith("after=00u118oQYT4TBGuay0g4&limit=1")
    assert _unwrap({"value": [], "_links": {}}, "value") == ([], None)
    with pytest.raises(ValueError, match="array under 'value'"):
        _unwrap({"values": []}, "value")
    with pytest.raises(ValueError, match="href"):
        _unwrap({"value": [], "_links": {"next": {"href": 3}}}, "value")


def test_pacing_keeps_a_steady_run_off_429(sandbox: Sandbox) -> None:
    sandbox.rate_limits.set("/api/v1/users", 8)
    with client_for(sandbox) as client:
        users = list(client.iter_items("/api/v1/users", {"limit": 5}))
    assert len(users) > 40  # several windows' worth of budget
    assert sandbox.stats.requests_429 == 0
    assert client.pacer.slept_seconds > 0


def test_429_storm_and_5xx_bursts_are_survived(sandbox: Sandbox) -> None:
    expected = {u["id"] for u in httpx.get(f"{sandbox.url}/api/v1/users?limit=200",
                                             headers={"Authorization": f"SSWS {TOKEN}"}).json()}
    sandbox.faults = Faults(seed=1, storm_429=3, error_rate=0.3)
    with client_for(sandbox) as client:
        got = {u["id"] for u in client.iter_items("/api/v1/users", {"limit": 10})}
    assert got == expected
    assert client.retries >= 3
    assert sandbox.stats.requests_429 >= 3


def test_gives_up_after_the_bound_with_a_clear_error(sandbox: Sandbox) -> None:
    sandbox.faults = Faults(seed=1, error_rate=1.0)
    with client_for(sandbox, max_attempts=3) as client, pytest.raises(OktaUnavailableError) as err:
        client.get_page("/api/v1/groups", {"limit": 10})
    message = str(err.value)
    assert "gave up after 3 attempts" in message
    assert "tenant 'acme'" in message and "/api/v1/groups" in message


def test_page_that_never_parses_names_tenant_endpoint_and_cursor(sandbox: Sandbox) -> None:
    sandbox.faults = Faults(always_broken=frozenset({"/api/v1/logs"}))
    with client_for(sandbox, max_attempts=2) as client, pytest.raises(OktaMalformedPageError) as err:
        client.get_page("/api/v1/logs", {"after": "1700000000000_1", "limit": 100})
    message = str(err.value)
    assert "tenant 'acme'" in message and "/api/v1/logs" in message and "1700000000000_1" in message


def test_bad_token_fails_clearly_and_never_shows_the_token(sandbox: Sandbox, caplog: pytest.LogCaptureFixture) -> None:
    bad = "00this-token-is-wrong-and-secret-987654321"
    caplog.set_level(logging.DEBUG)
    with client_for(sandbox, token=bad) as client, pytest.raises(OktaAuthError) as err:
        client.get_page("/api/v1/users")
    assert "E0000011" in str(err.value)
    assert bad not in str(err.value) and bad not in repr(err.value)
    assert bad not in caplog.text
    assert bad not in repr(client)


def test_token_never_logged_on_a_normal_run(sandbox: Sandbox, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    sandbox.faults = Faults(seed=2, error_rate=0.2)
    with client_for(sandbox) as client:
        list(client.iter_items("/api/v1/groups", {"limit": 10}))
    assert caplog.records  # httpx and the client did log
    assert TOKEN not in caplog.text


def test_client_refuses_anything_but_get(sandbox: Sandbox) -> None:
    with client_for(sandbox) as client:
        assert not any(hasattr(client, m) for m in ("post", "put", "patch", "delete"))
        for method in ("POST", "PUT", "PATCH", "DELETE"):
            with pytest.raises(ReadOnlyViolation):
                client._http.request(method, f"{sandbox.url}/api/v1/users")
    assert sandbox.stats.non_get == 0


def test_next_link_to_another_host_is_refused(sandbox: Sandbox) -> None:
    with client_for(sandbox) as client:
        with pytest.raises(OktaMalformedPageError, match="outside the org"):
            client._check_same_org("http://evil.example.com/api/v1/users?after=x", f"{sandbox.url}/api/v1/users")
        client._check_same_org(f"{sandbox.url}/api/v1/users?after=x", f"{sandbox.url}/api/v1/users")


def test_admin_twin_host_is_the_same_org() -> None:
    client = OktaClient("https://acme.okta.com", SswsAuth(Secret("x")), tenant_id="acme")
    client._check_same_org("https://acme-admin.okta.com/api/v1/apps?after=1", "https://acme.okta.com/api/v1/apps")
    with pytest.raises(OktaMalformedPageError):
        client._check_same_org("https://other.okta.com/api/v1/apps?after=1", "https://acme.okta.com/api/v1/apps")
    client.close()


def test_secret_hides_itself() -> None:
    secret = Secret("s3cr3t-value")
    assert "s3cr3t" not in repr(secret) and "s3cr3t" not in f"{secret}" and secret.reveal() == "s3cr3t-value"


def test_the_gc_pause_lasts_until_the_last_reader_is_done() -> None:
    pause = _GcPause()
    assert gc.isenabled()
    with pause():
        with pause():
            assert not gc.isenabled()
        assert not gc.isenabled()  # one read-ahead thread done, the other still decoding
    assert gc.isenabled()
    gc.disable()
    try:
        with pause():
            pass
        assert not gc.isenabled()  # turned off by someone else: left off
    finally:
        gc.enable()


def test_the_gc_never_walks_the_events_of_a_parsed_page(sandbox: Sandbox) -> None:
    """Decoded, shaped and freed inside the pause, a page's ~10 containers an event never meet a
    collection; only what `parse` made of them is left. Without `parse`, the items are kept and
    the GC walks them, as it walks anything long-lived."""

    def events_among_young_objects() -> int:
        return sum(1 for g in (0, 1) for o in gc.get_objects(g) if isinstance(o, dict) and "eventType" in o)

    def on_gc(phase: str, info: dict) -> None:
        # Counted from the answer on (with `parse`, from inside the pause on): before, the sandbox,
        # a thread of this process, holds the events it renders.
        if phase == "start" and started:
            walked.append(events_among_young_objects())

    def rows(items: list) -> list[str]:
        started.append("parse")
        return [item["uuid"] for item in items]

    with client_for(sandbox) as client:
        for parse in (rows, None):
            gc.collect()
            walked: list[int] = []
            started: list[str] = []
            gc.callbacks.append(on_gc)
            try:
                page = client.get_page("/api/v1/logs", {"since": "2000-01-01T00:00:00.000Z", "limit": 1000},
                                       parse=parse, on_next_link=None if parse else lambda u, n: started.append(n))
                gc.collect(0)
            finally:
                gc.callbacks.remove(on_gc)
            assert page.count == 1000, parse
            if parse:
                assert page.items == [] and walked and max(walked) == 0, walked
            else:
                assert len(page.items) == 1000 and max(walked) >= 1000, walked
