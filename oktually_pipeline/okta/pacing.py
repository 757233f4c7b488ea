"""Client-side pacing from Okta's X-Rate-Limit-* headers.

Okta's limits are per org and endpoint bucket, per minute, and shared with every other integration
of the customer's org, so a steady run should spread what is left of a window over the time left
in it instead of spending it at once and then meeting 429s. The headers report this token's share
of the bucket, so they, not the documented tables, are what the pacer trusts.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

_ID_SEGMENT = re.compile(r"/(?=[^/]*\d)[A-Za-z0-9_-]{8,}(?=/|$)")


def bucket_for(path: str) -> str:
    """A stable bucket key for a request path: object ids replaced by `{id}`."""
    return _ID_SEGMENT.sub("/{id}", path.split("?", 1)[0])


@dataclass(frozen=True)
class RateLimitInfo:
    limit: int
    remaining: int
    reset: float  # UTC epoch seconds when the window resets

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> RateLimitInfo | None:
        try:
            return cls(
                int(headers["x-rate-limit-limit"]),
                int(headers["x-rate-limit-remaining"]),
                float(headers["x-rate-limit-reset"]),
            )
        except (KeyError, ValueError):
            return None

    @property
    def headroom(self) -> float:
        """Share of the window's budget still unspent (1.0 when the bucket is unlimited)."""
        return self.remaining / self.limit if self.limit > 0 else 0.0


@dataclass
class _Bucket:
    info: RateLimitInfo | None = None
    next_allowed: float = 0.0
    sent_since_info: int = 0  # requests whose response has not updated `info` yet


class RateLimitPacer:
    """Spreads each bucket's remaining budget over the rest of its window.

    `reserve` is the share of a window's budget left untouched for the customer's other
    integrations and for our own retries. Thread-safe: one pacer serves every worker of a tenant.
    """

    def __init__(
        self,
        *,
        reserve: float = 0.02,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.reserve = reserve
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._buckets: dict[str, _Bucket] = {}
        self.slept_seconds = 0.0
        self.lowest_headroom: float | None = None

    def _reserved(self, info: RateLimitInfo) -> int:
        return max(1, math.ceil(info.limit * self.reserve))

    def before_request(self, bucket: str) -> float:
        """Block until a request to `bucket` fits the pace; returns the seconds waited."""
        with self._lock:
            state = self._buckets.setdefault(bucket, _Bucket())
            now = self._clock()
            info = state.info
            start = max(now, state.next_allowed)
            if info is not None and start < info.reset:
                spendable = info.remaining - state.sent_since_info - self._reserved(info)
                if spendable <= 0:
                    start = info.reset
                else:
                    # Even spacing over what is left of the window keeps a steady run off 429.
                    state.next_allowed = start + (info.reset - start) / spendable
            wait = max(0.0, start - now)
            state.sent_since_info += 1
        if wait > 0:
            self._sleep(wait)
            with self._lock:
                self.slept_seconds += wait
        return wait

    def after_response(self, bucket: str, info: RateLimitInfo | None) -> None:
        if info is None:
            return
        with self._lock:
            state = self._buckets.setdefault(bucket, _Bucket())
            state.info = info
            state.sent_since_info = max(0, state.sent_since_info - 1)
            if info.limit > 0:
                headroom = info.headroom
                if self.lowest_headroom is None or headroom < self.lowest_headroom:
                    self.lowest_headroom = headroom

    def wait_after_429(self, bucket: str, info: RateLimitInfo | None, fallback: float) -> float:
        """Seconds to wait after a 429: until the window resets (Okta sends no Retry-After)."""
        now = self._clock()
        if info is not None and info.reset > now:
            # The reset is whole seconds; a little slack avoids landing just before it.
            return min(info.reset - now + 0.25, 120.0)
        return fallback
