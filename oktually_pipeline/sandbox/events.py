"""The sandbox's System Log: a million events cost a few arrays; their JSON is built per page.

Each event has a `published` time and a persistence position. Generated history is persisted in
`published` order; events added later (`append`) are persisted when added, and `append_late`
adds events whose `published` lies before events already served, as Okta's polling shows: they
come after the last `next` link, out of `published` order.
"""

from __future__ import annotations

import heapq
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from oktually_pipeline.sandbox.clock import Clock, event_uuid, iso_ms, to_ms

# (eventType, weight, outcome result, reasons, severity, display message, legacy type)
_KINDS = (
    ("user.session.start", 40, "SUCCESS", (None,), "INFO", "User login to Okta", "core.user_auth.login_success"),
    ("user.session.start", 6, "FAILURE", ("INVALID_CREDENTIALS", "VERIFICATION_ERROR", "LOCKED_OUT"),
     "WARN", "User login to Okta", "core.user_auth.login_failed"),
    ("user.session.start", 2, "DENY", ("Sign-on policy evaluation resulted in DENY",), "WARN",
     "User login to Okta", "core.user_auth.login_denied"),
    ("user.authentication.auth_via_mfa", 15, "SUCCESS", (None,), "INFO",
     "Authentication of user via MFA", "core.user.factor.attempt_success"),
    ("user.authentication.sso", 15, "SUCCESS", (None,), "INFO", "User single sign on to app",
     "app.auth.sso"),
    ("policy.evaluate_sign_on", 8, "ALLOW", (None,), "INFO", "Evaluation of sign-on policy", None),
    ("user.session.end", 6, "SUCCESS", (None,), "INFO", "User logout from Okta", "core.user_auth.logout_success"),
    ("group.user_membership.add", 2, "SUCCESS", (None,), "INFO", "Add user to group membership",
     "core.user_group_member.user_add"),
    ("group.user_membership.remove", 1, "SUCCESS", (None,), "INFO", "Remove user from group membership",
     "core.user_group_member.user_remove"),
    ("user.account.privilege.grant", 1, "SUCCESS", (None,), "INFO", "Grant user privilege",
     "core.user.admin_privilege.granted"),
    ("user.account.privilege.revoke", 1, "SUCCESS", (None,), "INFO", "Revoke user privilege",
     "core.user.admin_privilege.revoked"),
    ("system.org.rate_limit.warning", 1, None, (None,), "WARN", "Rate limit warning", None),
)
_TABLE = np.repeat(np.arange(len(_KINDS)), [k[1] for k in _KINDS])
_CITIES = (("Dublin", "Ireland", "D01", 53.35, -6.26), ("Berlin", "Germany", "10115", 52.52, 13.40),
           ("Austin", "United States", "78701", 30.27, -97.74), ("Sydney", "Australia", "2000", -33.87, 151.21))
_AGENTS = (("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 Safari/605.1.15", "Mac OS X", "SAFARI"),
           ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0 Safari/537.36", "Windows 10", "CHROME"),
           ("Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0", "Linux", "FIREFOX"))


@dataclass(frozen=True)
class Actor:
    id: str
    login: str
    name: str


class EventLog:
    """The org's System Log: generated history plus events added while the sandbox runs."""

    def __init__(self, *, seed: int, count: int, start_ms: int, end_ms: int, clock: Clock,
                 actors: list[Actor], apps: list[tuple[str, str]], groups: list[tuple[str, str]]) -> None:
        self.seed, self.clock = seed, clock
        self._actors, self._apps, self._groups = actors or [Actor("00usystem", "system@okta.com", "Okta System")], apps, groups
        self._lock = threading.Lock()
        span = max(end_ms - start_ms, 1)
        # Published times rise with the index; integer division leaves realistic millisecond ties.
        self._base_published = start_ms + (np.arange(count, dtype=np.int64) * span) // max(count, 1)
        self._extra: list[tuple[int, int, dict[str, Any]]] = []  # (published, persisted, event)

    # -- sizes and truth ------------------------------------------------------------------------

    @property
    def base_count(self) -> int:
        return len(self._base_published)

    def total(self) -> int:
        return self.base_count + len(self._extra)

    def count(self) -> int:
        """Events visible now."""
        return len(self.truth())

    def truth(self) -> dict[str, str]:
        """uuid -> published of every event visible now (what a complete load must hold)."""
        now = self.clock.now_ms()
        out = {event_uuid(self.seed, i): iso_ms(int(p)) for i, p in enumerate(self._base_published) if p <= now}
        for published, persisted, event in self._extra:
            if persisted <= now:
                out[event["uuid"]] = event["published"]
        return out

    visible = truth

    def newest_published(self) -> int:
        candidates = [int(self._base_published[-1])] if self.base_count else []
        candidates += [p for p, _, _ in self._extra]
        return max(candidates) if candidates else self.clock.now_ms()

    # -- adding events --------------------------------------------------------------------------

    def add_event(self, event: dict[str, Any], published_ms: int | None = None) -> str:
        with self._lock:
            persisted = self.clock.tick()
            published = published_ms if published_ms is not None else persisted
            if not event.get("uuid"):
                event["uuid"] = event_uuid(self.seed, "extra", len(self._extra), persisted)
            event["published"] = iso_ms(published)
            self._extra.append((published, persisted, event))
            return event["uuid"]

    def append(self, n: int, published: datetime | None = None) -> list[str]:
        """`n` new events persisted now (published now, or at `published`)."""
        at = to_ms(published) if published else None
        return [self.add_event(self._generated(self.total() + 10_000_000 + k, 0), at) for k in range(n)]

    def append_late(self, n: int, lag: timedelta) -> list[str]:
        """`n` events persisted now but published `lag` before the newest event served so far."""
        at = self.newest_published() - int(lag.total_seconds() * 1000)
        return [self.add_event(self._generated(self.total() + 20_000_000 + k, 0), at + k) for k in range(n)]

    # -- reading --------------------------------------------------------------------------------

    def event(self, position: int) -> dict[str, Any]:
        if position < self.base_count:
            ev = self._generated(position, int(self._base_published[position]))
            ev["uuid"] = event_uuid(self.seed, position)
            return ev
        return self._extra[position - self.base_count][2]

    def published_of(self, position: int) -> int:
        if position < self.base_count:
            return int(self._base_published[position])
        return self._extra[position - self.base_count][0]

    def persisted_of(self, position: int) -> int:
        if position < self.base_count:
            return int(self._base_published[position])
        return self._extra[position - self.base_count][1]

    def first_position(self, since_ms: int | None) -> int:
        if since_ms is None:
            return 0
        return int(np.searchsorted(self._base_published, since_ms, side="left"))

    def polling_positions(self, start: int, since_ms: int | None) -> Iterator[int]:
        """Positions in persistence order from `start`, persisted at or after `since_ms`, visible now."""
        now = self.clock.now_ms()
        if since_ms is not None:
            start = max(start, int(np.searchsorted(self._base_published, since_ms, side="left")))
        for pos in range(start, self.base_count):
            if self._base_published[pos] > now:
                return
            yield pos
        for k, (_, persisted, _) in enumerate(list(self._extra)):
            pos = self.base_count + k
            if pos < start or (since_ms is not None and persisted < since_ms):
                continue
            if persisted > now:
                return
            yield pos

    def bounded_positions(self, since_ms: int, until_ms: int, after: tuple[int, int] | None) -> Iterator[int]:
        """Positions with since <= published < until in (published, position) order, visible now."""
        now = self.clock.now_ms()
        lo = int(np.searchsorted(self._base_published, since_ms, side="left"))
        hi = int(np.searchsorted(self._base_published, until_ms, side="left"))
        extras = sorted((p, self.base_count + k) for k, (p, persisted, _) in enumerate(list(self._extra))
                        if since_ms <= p < until_ms and persisted <= now)
        base = ((int(self._base_published[i]), i) for i in range(lo, hi) if self._base_published[i] <= now)
        for key in heapq.merge(base, extras):
            if after is None or key > after:
                yield key[1]

    # -- event bodies ---------------------------------------------------------------------------

    def _generated(self, i: int, published_ms: int) -> dict[str, Any]:
        h = (i * 2654435761 + self.seed * 40503) & 0xFFFFFFFF
        kind = _KINDS[int(_TABLE[h % len(_TABLE)])]
        event_type, _, result, reasons, severity, message, legacy = kind
        actor = self._actors[(h >> 7) % len(self._actors)]
        city, country, postal, lat, lon = _CITIES[(h >> 11) % len(_CITIES)]
        agent, os_name, browser = _AGENTS[(h >> 13) % len(_AGENTS)]
        ip = f"198.51.{(h >> 3) % 256}.{(h >> 17) % 250 + 1}"
        request_id = f"aR{h:08x}{i:010d}"
        target = None
        if event_type == "user.authentication.sso" and self._apps:
            app_id, label = self._apps[(h >> 5) % len(self._apps)]
            target = [{"id": app_id, "type": "AppInstance", "alternateId": label, "displayName": label, "detailEntry": None}]
        elif event_type.startswith("group.user_membership") and self._groups:
            group_id, name = self._groups[(h >> 5) % len(self._groups)]
            target = [{"id": actor.id, "type": "User", "alternateId": actor.login, "displayName": actor.name, "detailEntry": None},
                      {"id": group_id, "type": "UserGroup", "alternateId": "unknown", "displayName": name, "detailEntry": None}]
        elif event_type.startswith("user.account.privilege"):
            other = self._actors[(h >> 9) % len(self._actors)]
            target = [{"id": other.id, "type": "User", "alternateId": other.login, "displayName": other.name,
                       "detailEntry": {"privilegeGranted" if event_type.endswith("grant") else "privilegeRevoked": "Group Administrator"}}]
        system = event_type.startswith("system.")
        return {
            "actor": ({"id": "0oa1system", "type": "PublicClientApp", "alternateId": "Okta", "displayName": "Okta System", "detailEntry": None}
                      if system else {"id": actor.id, "type": "User", "alternateId": actor.login, "displayName": actor.name, "detailEntry": None}),
            "client": ({"userAgent": None, "zone": None, "device": None, "id": None, "ipAddress": None, "geographicalContext": None}
                       if system else {"userAgent": {"rawUserAgent": agent, "os": os_name, "browser": browser}, "zone": "null",
                                       "device": "Computer", "id": None, "ipAddress": ip,
                                       "geographicalContext": {"city": city, "state": None, "country": country,
                                                               "postalCode": postal, "geolocation": {"lat": lat, "lon": lon}}}),
            "device": None,
            "authenticationContext": {"authenticationProvider": None, "credentialProvider": None, "credentialType": None,
                                      "issuer": None, "interface": None, "authenticationStep": 0,
                                      "rootSessionId": f"idx{h:012x}", "externalSessionId": f"102{h:012x}"},
            "displayMessage": message,
            "eventType": event_type,
            "outcome": None if result is None else {"result": result, "reason": reasons[(h >> 19) % len(reasons)]},
            "published": iso_ms(published_ms),
            "securityContext": {"asNumber": 64496, "asOrg": "example isp", "isp": "example isp", "domain": "example.net", "isProxy": False},
            "severity": severity,
            "debugContext": {"debugData": _debug_data(event_type, request_id)},
            "legacyEventType": legacy,
            "transaction": {"type": "WEB", "id": request_id, "detail": {}},
            "uuid": "",
            "version": "0",
            "request": {"ipChain": [] if system else [{"ip": ip, "geographicalContext": {"city": city, "country": country,
                                                                                        "postalCode": postal, "geolocation": {"lat": lat, "lon": lon}},
                                                     "version": "V4", "source": None}]},
            "target": target,
        }


def _debug_data(event_type: str, request_id: str) -> dict[str, str]:
    data = {"requestId": request_id, "requestUri": "/idp/idx/identify", "url": "/idp/idx/identify?"}
    # Okta names the role in debugData on admin privilege events (sample line 29).
    if event_type == "user.account.privilege.grant":
        data["privilegeGranted"] = "Group Administrator"
    elif event_type == "user.account.privilege.revoke":
        data["privilegeRevoked"] = "Group Administrator"
    return data
