"""The Okta client: GET-only, Link-header pagination, pacing and bounded retries, over httpx.

Read-only by construction: the class has no method that sends anything but GET, and the httpx
client underneath refuses any other method before it leaves the process. Tokens live in the auth
object, are added per request, and never appear in logs, errors or reprs.
"""

from __future__ import annotations

import gc
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import orjson

from oktually_pipeline import settings
from oktually_pipeline.okta.egress import client_settings, is_tls_verification_error
from oktually_pipeline.okta.errors import (
    OktaAuthError,
    OktaError,
    OktaMalformedPageError,
    OktaNotFoundError,
    OktaRequestError,
    OktaUnavailableError,
    ReadOnlyViolation,
)
from oktually_pipeline.okta.pacing import RateLimitInfo, RateLimitPacer, bucket_for

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = httpx.Timeout(connect=10.0, read=60.0, write=10.0, pool=30.0)
_RETRY_STATUSES = {429, 500, 502, 503, 504}


@dataclass(frozen=True)
class Page:
    """One page of a list endpoint: its items (or what `parse` made of them) and where the next
    page is."""

    items: list[Any]
    url: str
    next_url: str | None
    rate_limit: RateLimitInfo | None
    nbytes: int
    parsed: Any = None
    count: int = 0  # items on the page, also when `parse` took them and `items` is empty


class _GcPause:
    """Holds off the cyclic GC while pages are decoded, shaped and, once shaped, dropped.

    A 1000-event page is ~100k new containers. Counted while the GC runs, they set off several
    collections that walk the whole heap, costing more than the decoding (profiled: 37 -> 16 ms a
    page). Paused only for the decoding, the count stays up and one collection runs as the pause
    ends, over a page still alive (py-spy: 13% of the pipeline's GIL time); freed inside the pause,
    they take their count with them and the GC never walks them. The page holds no cycles.

    Read-ahead threads decode pages at once, so the pause is counted: the GC comes back when the
    last of them is done, and only if it was on when the first began.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._holders = 0
        self._resume = False

    @contextmanager
    def __call__(self) -> Iterator[None]:
        with self._lock:
            if self._holders == 0:
                self._resume = gc.isenabled()
                gc.disable()
            self._holders += 1
        try:
            yield
        finally:
            with self._lock:
                self._holders -= 1
                if self._holders == 0 and self._resume:
                    gc.enable()


_gc_paused = _GcPause()


def _refuse_non_get(request: httpx.Request) -> None:
    if request.method != "GET":
        raise ReadOnlyViolation(f"the Okta client is read-only; refused {request.method} {request.url.path}")


def cursor_of(url: str) -> str:
    """The part of a URL that identifies a position: its path and query (never a token)."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _after_of(url: str) -> str | None:
    values = parse_qs(urlsplit(url).query).get("after")
    return values[0] if values else None


_JSON_NAMES = {list: "array", dict: "object", str: "string", int: "number", float: "number",
               bool: "boolean", type(None): "null"}


def _unwrap(body: dict[str, Any], key: str) -> tuple[list[Any], str | None]:
    """The items and next link of an enveloped page: `{key: [...], _links: {next: {href}}}`."""
    items = body.get(key)
    if not isinstance(items, list):
        raise ValueError(f"expected a JSON array under {key!r}, got {_JSON_NAMES.get(type(items), 'something else')}")
    nxt = body.get("_links", {})
    nxt = nxt.get("next") if isinstance(nxt, dict) else None
    href = nxt.get("href") if isinstance(nxt, dict) else None
    if href is not None and not isinstance(href, str):
        raise ValueError("_links.next.href is not a string")
    return items, href or None


class OktaClient:
    """Reads one Okta org. Use as a context manager, or call `close()`."""

    def __init__(
        self,
        base_url: str,
        auth: httpx.Auth,
        *,
        tenant_id: str,
        pacer: RateLimitPacer | None = None,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        max_attempts: int = 6,
        max_backoff: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        proxy: str | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.tenant_id = tenant_id
        self.pacer = pacer or RateLimitPacer(sleep=sleep)
        self.max_attempts = max_attempts
        self.max_backoff = max_backoff
        self._sleep = sleep
        self._host = urlsplit(self.base_url).hostname or ""
        self.requests_sent = 0
        self.retries = 0
        # TLS verification is never turned off (loopback sandboxes are plain http instead), and
        # the egress proxy is explicit: $HTTPS_PROXY for an https org, never for loopback.
        self._http = httpx.Client(
            auth=auth,
            timeout=timeout,
            headers={"Accept": "application/json", "User-Agent": settings.USER_AGENT},
            event_hooks={"request": [_refuse_non_get]},
            follow_redirects=False,
            **client_settings(self.base_url, proxy),
        )

    def __enter__(self) -> OktaClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def __repr__(self) -> str:
        return f"OktaClient(tenant={self.tenant_id!r}, base_url={self.base_url!r})"

    # -- public, GET-only API -------------------------------------------------------------

    def url_for(self, path_or_url: str, params: Mapping[str, Any] | None = None) -> str:
        """An absolute URL on this org for a path (or a cursor saved from a next link)."""
        if path_or_url.startswith(("http://", "https://")):
            url = path_or_url
        else:
            if not path_or_url.startswith("/"):
                raise ValueError(f"Okta paths start with '/': {path_or_url!r}")
            url = self.base_url + path_or_url
        if params:
            query = urlencode({k: v for k, v in params.items() if v is not None})
            url += ("&" if "?" in url else "?") + query
        return url

    def get_page(
        self,
        path_or_url: str,
        params: Mapping[str, Any] | None = None,
        *,
        parse: Callable[[list[Any]], Any] | None = None,
        decode: Callable[[bytes], Any] | None = None,
        envelope: str | None = None,
        on_next_link: Callable[[str, str], None] | None = None,
    ) -> Page:
        """GET one page of a list endpoint.

        The body is a JSON array, and the next page is in the `Link` header; or, for the newer
        endpoints that wrap their lists (`envelope="value"`: `/api/v1/iam/...`), an object holding
        the array under `envelope` and the next page in `_links.next.href`.

        `parse` turns the items into what the caller stores (`Page.parsed`); the items are then
        dropped (`Page.items` is empty, `Page.count` says how many there were), so they are freed
        while the GC is paused (see `_GcPause`). It raises ValueError for a page whose items are
        unusable; such a page is fetched again, like one that is not JSON, and fails the call once
        retries run out.

        `decode` reads the body (`orjson.loads` unless given; ValueError if it cannot): a caller
        whose `parse` takes the items in another form than Python objects brings its own
        (ingest/log_events.py: each event's own JSON text).

        `on_next_link(url, next_url)` is called as soon as a page's answer arrives, before its body
        is decoded, with the `Link` header's next page (on the org's hosts only): so a caller can
        send the next request while this page is decoded. A page fetched again calls it again.
        """
        url = self.url_for(path_or_url, params)
        if envelope is None:
            announce = None
            if on_next_link is not None:
                def announce(response: httpx.Response) -> None:
                    link = response.links.get("next", {}).get("url")
                    if link and self._same_org(link, url):
                        on_next_link(url, link)
            response, (items, count, _), parsed = self._get(url, expect=list, parse=parse, decode=decode,
                                                            on_answer=announce)
            next_link = response.links.get("next", {}).get("url")
        else:
            response, (items, count, next_link), parsed = self._get(
                url, expect=dict, parse=parse, decode=decode, unwrap=lambda body: _unwrap(body, envelope))
        if next_link:
            self._check_same_org(next_link, url)
        return Page(
            items=items,
            url=url,
            next_url=next_link,
            rate_limit=RateLimitInfo.from_headers(response.headers),
            nbytes=len(response.content),
            parsed=parsed,
            count=count,
        )

    def iter_pages(self, path_or_url: str, params: Mapping[str, Any] | None = None, *,
                   envelope: str | None = None) -> Iterator[Page]:
        """Every page of a list endpoint, following next links exactly as given until none.

        Not for System Log polling, which always offers a next link: see ingest/log_events.py.
        """
        url: str | None = self.url_for(path_or_url, params)
        while url is not None:
            page = self.get_page(url, envelope=envelope)
            yield page
            url = page.next_url

    def iter_items(self, path: str, params: Mapping[str, Any] | None = None, *,
                   envelope: str | None = None) -> Iterator[Any]:
        for page in self.iter_pages(path, params, envelope=envelope):
            yield from page.items

    def get_json(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        """GET a single object (or an unpaged list)."""
        _, body, _ = self._get(self.url_for(path, params), expect=None)
        return body

    # -- internals ---------------------------------------------------------------------------

    def _same_org(self, next_url: str, from_url: str) -> bool:
        # A next link elsewhere would carry our token to a host we do not trust. Okta's links may
        # swap the org host for its -admin twin, which is the same org.
        host = urlsplit(next_url).hostname or ""
        org = self._host
        first, _, rest = org.partition(".")
        admin_twin = f"{first.removesuffix('-admin')}-admin.{rest}" if rest else org
        plain_twin = f"{first.removesuffix('-admin')}.{rest}" if rest else org
        return host in {org, admin_twin, plain_twin} and urlsplit(next_url).scheme == urlsplit(from_url).scheme

    def _check_same_org(self, next_url: str, from_url: str) -> None:
        if not self._same_org(next_url, from_url):
            raise self._error(
                OktaMalformedPageError, "next link points outside the org", from_url
            )

    def _error(self, cls: type[OktaError], message: str, url: str, **kw: Any) -> OktaError:
        return cls(message, tenant=self.tenant_id, endpoint=bucket_for(urlsplit(url).path),
                   cursor=_after_of(url) or cursor_of(url), **kw)

    def _backoff(self, attempt: int) -> float:
        # Full jitter keeps many tenants' workers from retrying in lockstep.
        return random.uniform(0, min(self.max_backoff, 0.5 * 2**attempt))

    def _get(
        self, url: str, *, expect: type | None, parse: Callable[[Any], Any] | None = None,
        decode: Callable[[bytes], Any] | None = None,
        unwrap: Callable[[Any], tuple[list[Any], str | None]] | None = None,
        on_answer: Callable[[httpx.Response], None] | None = None,
    ) -> tuple[httpx.Response, Any, Any]:
        bucket = bucket_for(urlsplit(url).path)
        last_problem = "no attempt made"
        for attempt in range(self.max_attempts):
            self.pacer.before_request(bucket)
            self.requests_sent += 1
            try:
                response = self._http.get(url)
                response.read()
            except ReadOnlyViolation:
                raise
            except httpx.TransportError as exc:
                if is_tls_verification_error(exc):
                    # Not transient, and never worked around: the certificate must be fixed.
                    raise self._error(OktaUnavailableError, "TLS certificate verification failed for "
                                      f"{self._host}", url) from None
                last_problem = f"connection error ({type(exc).__name__})"
                wait = self._backoff(attempt)
            else:
                info = RateLimitInfo.from_headers(response.headers)
                self.pacer.after_response(bucket, info)
                status = response.status_code
                if status == 200:
                    if on_answer is not None:
                        on_answer(response)
                    with _gc_paused():
                        problem, body, parsed = self._decode(response.content, decode, expect, parse, unwrap)
                    if problem is None:
                        return response, body, parsed
                    last_problem = problem
                    wait = self._backoff(attempt)
                elif status in _RETRY_STATUSES:
                    last_problem = f"HTTP {status}"
                    wait = (self.pacer.wait_after_429(bucket, info, self._backoff(attempt))
                            if status == 429 else self._backoff(attempt))
                else:
                    raise self._status_error(response, url)
            if attempt + 1 < self.max_attempts:
                self.retries += 1
                log.info("Okta %s for tenant %s: %s; retrying in %.1fs", bucket, self.tenant_id,
                         last_problem, wait)
                self._sleep(wait)
        cls = OktaMalformedPageError if last_problem.startswith("malformed") else OktaUnavailableError
        raise self._error(cls, f"gave up after {self.max_attempts} attempts: {last_problem}", url)

    @staticmethod
    def _decode(content: bytes, decode: Callable[[bytes], Any] | None, expect: type | None,
                parse: Callable[[Any], Any] | None,
                unwrap: Callable[[Any], tuple[list[Any], str | None]] | None) -> tuple[str | None, Any, Any]:
        """(problem, body, parsed) of a 200 answer; a problem makes the page count as malformed.

        For a list page, `body` is (items, count, next link), the link None but where `unwrap` takes
        it out of an envelope; with `parse`, `parsed` is what it made of the items, and the items
        are left out (an empty list), so that nothing holds them once this returns.
        """
        try:
            body = (decode or orjson.loads)(content)
        except ValueError as exc:  # orjson's and msgspec's decode errors both are
            return f"malformed page: the body does not decode ({str(exc)[:200]})", None, None
        if expect is not None and not isinstance(body, expect):
            return f"malformed page: expected a JSON {_JSON_NAMES.get(expect, expect.__name__)}, got " \
                   f"{_JSON_NAMES.get(type(body), type(body).__name__)}", None, None
        if expect is not list and unwrap is None:
            return None, body, None
        try:
            items, next_link = unwrap(body) if unwrap is not None else (body, None)
            parsed = None if parse is None else parse(items)
        except ValueError as exc:
            return f"malformed page: {str(exc)[:200]}", None, None
        count = len(items)
        if parse is not None:
            items = []
        return None, (items, count, next_link), parsed

    def _status_error(self, response: httpx.Response, url: str) -> OktaError:
        code = summary = None
        try:
            body = orjson.loads(response.content)
            if isinstance(body, dict):
                code, summary = body.get("errorCode"), body.get("errorSummary")
        except orjson.JSONDecodeError:
            pass
        status = response.status_code
        cls = {401: OktaAuthError, 403: OktaAuthError, 404: OktaNotFoundError}.get(status, OktaRequestError)
        message = summary if isinstance(summary, str) else f"HTTP {status}"
        if status == 401:
            message = f"Okta rejected the credentials: {message}"
        return self._error(cls, message[:300], url, status=status, error_code=code)
