"""The sandbox's clock and its deterministic ids."""

from __future__ import annotations

import hashlib
import threading
import time
from datetime import datetime, timezone

_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def okta_id(prefix: str, *parts: object) -> str:
    """A 20-character Okta-style id (`00u…`, `00g…`, `0oa…`) derived from `parts`."""
    digest = hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=16).digest()
    n = int.from_bytes(digest, "big")
    chars = []
    for _ in range(20 - len(prefix)):
        n, r = divmod(n, 62)
        chars.append(_ALPHABET[r])
    return prefix + "".join(chars)


def event_uuid(*parts: object) -> str:
    b = bytearray(hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=16).digest())
    b[6] = (b[6] & 0x0F) | 0x40
    b[8] = (b[8] & 0x3F) | 0x80
    h = b.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def iso_ms(ms: int) -> str:
    dt = datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def to_ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


def parse_iso_ms(text: str) -> int:
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return to_ms(dt)


class Clock:
    """Milliseconds since the epoch, strictly increasing per call, never behind `floor_ms`."""

    def __init__(self, floor_ms: int) -> None:
        self._last = floor_ms
        self._lock = threading.Lock()

    def now_ms(self) -> int:
        """The current time without consuming a tick (for visibility checks)."""
        return max(int(time.time() * 1000), self._last)

    def tick(self) -> int:
        with self._lock:
            self._last = max(int(time.time() * 1000), self._last + 1)
            return self._last
