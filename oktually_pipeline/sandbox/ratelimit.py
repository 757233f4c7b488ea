"""Okta-style rate limits: a budget per endpoint bucket per fixed window, reported in headers."""

from __future__ import annotations

import threading
import time

DEFAULT_BUDGETS = {
    "/api/v1/logs": 10_000,
    "/api/v1/users": 10_000,
    "/api/v1/groups": 10_000,
    "/api/v1/apps": 10_000,
    "/api/v1": 10_000,
}


def bucket_of(path: str) -> str:
    """The bucket a path counts against: the list endpoints have their own, the rest share one."""
    return path if path in DEFAULT_BUDGETS else "/api/v1"


class RateLimits:
    """Per-bucket budgets for windows of `window_seconds`, aligned to the clock."""

    def __init__(self, budgets: dict[str, int] | None = None, window_seconds: int = 60) -> None:
        self.window_seconds = window_seconds
        self._budgets = dict(DEFAULT_BUDGETS, **(budgets or {}))
        self._used: dict[str, tuple[int, int]] = {}  # bucket -> (window index, used)
        self._lock = threading.Lock()

    def set(self, bucket: str, per_window: int) -> None:
        with self._lock:
            self._budgets[bucket] = per_window

    def take(self, bucket: str) -> tuple[bool, dict[str, str]]:
        """Spend one request of `bucket`; returns whether it is allowed, and Okta's headers."""
        with self._lock:
            now = time.time()
            window = int(now // self.window_seconds)
            limit = self._budgets.get(bucket, self._budgets["/api/v1"])
            seen, used = self._used.get(bucket, (window, 0))
            if seen != window:
                used = 0
            allowed = used < limit
            if allowed:
                used += 1
            self._used[bucket] = (window, used)
            reset = (window + 1) * self.window_seconds
            return allowed, {
                "X-Rate-Limit-Limit": str(limit),
                "X-Rate-Limit-Remaining": str(max(0, limit - used)),
                "X-Rate-Limit-Reset": str(int(reset)),
            }
