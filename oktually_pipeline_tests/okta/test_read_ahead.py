"""Link-following with read-ahead against the sandbox over real HTTP: the same pages as a plain
loop, in order, with the next request out while a page is still being decoded."""

import time
from collections.abc import Iterator

import pytest

from oktually_pipeline.okta.auth import Secret, SswsAuth
from oktually_pipeline.okta.client import OktaClient
from oktually_pipeline.okta.read_ahead import linked_pages
from oktually_pipeline.sandbox import Sandbox, SandboxConfig

TOKEN = "00sandbox-read-ahead-token-0123456789abc"
USERS = ("/api/v1/users", {"limit": 20, "filter": 'lastUpdated gt "2000-01-01T00:00:00.000Z"'})


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(SandboxConfig(seed=5, tenants=4, users=130, events=100, days=1, tokens=(TOKEN,))) as sb:
        yield sb


def client_for(sb: Sandbox) -> OktaClient:
    return OktaClient(sb.url, SswsAuth(Secret(TOKEN)), tenant_id="acme", max_backoff=0.05)


def numbered_pages(sb: Sandbox) -> tuple[str, dict[str, int]]:
    """The users list's first URL, and each page's number by the id of its first user."""
    with client_for(sb) as client:
        start = client.url_for(*USERS)
        return start, {p.items[0]["id"]: k for k, p in enumerate(client.iter_pages(start), start=1)}


def test_same_pages_as_a_plain_loop_and_one_request_more_at_most(sandbox: Sandbox) -> None:
    with client_for(sandbox) as client:
        start = client.url_for(*USERS)
        plain = [(p.url, [u["id"] for u in p.items]) for p in client.iter_pages(start)]
        sent = client.requests_sent
        ahead = [(p.url, [u["id"] for u in p.items]) for p in linked_pages(client, start)]
        assert ahead == plain and len(plain) == 7
        assert client.requests_sent - sent == len(plain)  # the last page has no next link: nothing extra
        assert all(p.count == len(p.items) for p in linked_pages(client, start))


def test_the_next_request_is_out_while_a_page_is_decoded(sandbox: Sandbox) -> None:
    """Decoding page k waits for the sandbox to have answered request k+1: only a request sent
    before page k was decoded lets it go on (the first page is not read ahead of)."""
    start, number = numbered_pages(sandbox)
    answered_by: dict[int, int] = {}  # page -> requests the sandbox had answered when it was decoded

    def slow_parse(items: list) -> int:
        k = number[items[0]["id"]]
        last = len(items) < 20  # nothing follows the last page
        deadline = time.monotonic() + (0 if last else 0.3 if k == 1 else 5)
        while sandbox.stats.total <= k and time.monotonic() < deadline:
            time.sleep(0.005)
        answered_by[k] = sandbox.stats.total
        return k

    sandbox.stats.reset()
    with client_for(sandbox) as client:
        pages = list(linked_pages(client, start, parse=slow_parse))
    assert [p.parsed for p in pages] == list(range(1, 8))
    # What `parse` made replaces the items, which are dropped (freed while the GC is paused).
    assert all(p.items == [] for p in pages)
    assert [p.count for p in pages[:-1]] == [20] * 6 and 0 < pages[-1].count <= 20
    # Page 1 waited in vain; from page 2 on, request k+1 had been answered while k decoded.
    assert answered_by[1] == 1
    assert all(answered_by[k] > k for k in range(2, 7)), answered_by


def test_stops_at_max_pages_or_when_more_says_so(sandbox: Sandbox) -> None:
    with client_for(sandbox) as client:
        start = client.url_for(*USERS)
        sent = client.requests_sent
        assert len(list(linked_pages(client, start, max_pages=3))) == 3
        assert client.requests_sent - sent <= 3 + 1
        sent = client.requests_sent
        pages = list(linked_pages(client, start, more=lambda page: page.url == start or "after" not in page.url))
        assert len(pages) == 2
        # While the last page is handed out, the two read ahead of it may already be out.
        assert client.requests_sent - sent <= 2 + 2


def test_a_slow_consumer_keeps_the_renderer_ahead_by_two_pages(sandbox: Sandbox) -> None:
    """While page k is being written, requests k+1 and k+2 are out (ahead=2), also once every
    place was taken before k was handed out: the renderer never waits for the consumer to drain."""
    start, number = numbered_pages(sandbox)
    answered_at: dict[int, int] = {}
    sandbox.stats.reset()
    with client_for(sandbox) as client:
        for page in linked_pages(client, start, ahead=2):
            k = number[page.items[0]["id"]]
            deadline = time.monotonic() + 5
            while sandbox.stats.total < min(k + 2, 7) and time.monotonic() < deadline:
                time.sleep(0.005)
            time.sleep(0.05)  # a slow write: the read-ahead's places fill meanwhile
            answered_at[k] = sandbox.stats.total
    assert all(answered_at[k] >= k + 2 for k in range(2, 6)), answered_at
