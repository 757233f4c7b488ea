"""Fault injection for the sandbox's /api/v1 endpoints, deterministic from a seed."""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Faults:
    """Rates are per response (0.0 to 1.0). `always_broken` path prefixes never parse.

    `storm_429` answers the next N requests with 429; `late_rate` adds, on a System Log poll, a
    late event (persisted now, published minutes earlier) with that probability.
    """

    seed: int = 0
    error_rate: float = 0.0
    slow_rate: float = 0.0
    slow_seconds: float = 0.5
    truncate_rate: float = 0.0
    malformed_rate: float = 0.0
    invalid_utf8_rate: float = 0.0
    missing_fields_rate: float = 0.0
    huge_string_rate: float = 0.0
    drop_connection_rate: float = 0.0
    storm_429: int = 0
    late_rate: float = 0.0
    always_broken: frozenset[str] = field(default_factory=frozenset)


class FaultDice:
    """Draws the faults of each response from a seeded generator, shared by all handler threads."""

    def __init__(self, faults: Faults) -> None:
        self.faults = faults
        self._rng = random.Random(faults.seed)
        self._storm_left = faults.storm_429
        self._lock = threading.Lock()

    def roll(self, rate: float) -> bool:
        if rate <= 0:
            return False
        with self._lock:
            return self._rng.random() < rate

    def storm(self) -> bool:
        with self._lock:
            if self._storm_left > 0:
                self._storm_left -= 1
                return True
            return False

    def choice(self, options: tuple) -> object:
        with self._lock:
            return self._rng.choice(options)

    def broken(self, path: str) -> bool:
        return any(path.startswith(prefix) for prefix in self.faults.always_broken)
