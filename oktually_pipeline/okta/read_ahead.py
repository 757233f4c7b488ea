"""Follow a list's next links with each request sent as soon as the page before it has answered.

A 1000-event System Log page takes us about as long to decode as Okta (or the sandbox) takes to
render one. Followed one page at a time, the two run end to end; here the request for page N+1
goes out, on a worker thread, the moment page N's answer (its `Link` header) arrives, while page N
is still being decoded. Pages come out in link order, exactly those a plain loop would give.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Generator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from oktually_pipeline.okta.client import OktaClient, Page


def linked_pages(
    client: OktaClient,
    url: str,
    *,
    parse: Callable[[list[Any]], Any] | None = None,
    decode: Callable[[bytes], Any] | None = None,
    more: Callable[[Page], bool] = lambda page: True,
    max_pages: int | None = None,
    ahead: int = 2,
) -> Generator[Page, None, None]:
    """The pages from `url` on, following next links until there is none, `more(page)` is false,
    or `max_pages` were handed out. `parse` and `decode` are `OktaClient.get_page`'s.

    Requests run at most `ahead` pages beyond the one being handed out; a link announced while
    that many wait is sent when the next page is handed out. None is sent ahead of the
    first page's end, which is often the only page (a System Log poll with nothing new); after
    that the pages following the last one are requested before anyone knows it is the last, so a
    read of several pages costs up to `ahead` requests more than a plain loop, their answers
    dropped.
    """
    lock = threading.Lock()
    waiting: deque[tuple[str, Future[Page]]] = deque()  # requested, not handed out, in link order
    # "held": the next link of the newest page, announced while `ahead` requests were waiting
    state: dict[str, Any] = {"newest": None, "requested": 0, "read_ahead": False, "stopped": False, "held": None}
    pool = ThreadPoolExecutor(max_workers=ahead, thread_name_prefix="okta-read-ahead")

    def request(page_url: str) -> None:  # with the lock held
        waiting.append((page_url, pool.submit(client.get_page, page_url, parse=parse, decode=decode,
                                              on_next_link=answered)))
        state["newest"] = page_url
        state["requested"] += 1

    def answered(page_url: str, next_url: str) -> None:
        with lock:
            # Only from the newest request (a page fetched again announces its link again).
            if (state["read_ahead"] and not state["stopped"] and page_url == state["newest"]
                    and (max_pages is None or state["requested"] < max_pages)):
                if len(waiting) < ahead:
                    request(next_url)
                else:
                    # Sent when a page is handed out and frees a place: without this the renderer
                    # would idle until every waiting page had been taken.
                    state["held"] = next_url

    handed = 0
    try:
        with lock:
            request(url)
        while True:
            with lock:
                _, future = waiting.popleft()
                if state["held"] is not None:
                    request(state["held"])
                    state["held"] = None
            page = future.result()
            handed += 1
            yield page
            if page.next_url is None or not more(page) or (max_pages is not None and handed >= max_pages):
                return
            with lock:
                state["read_ahead"] = True
                # Requests sent ahead follow the links as announced; the page's own link decides.
                if not waiting or waiting[0][0] != page.next_url:
                    waiting.clear()
                    state["held"] = None
                    request(page.next_url)
    finally:
        with lock:
            state["stopped"] = True
        pool.shutdown(wait=True, cancel_futures=True)
