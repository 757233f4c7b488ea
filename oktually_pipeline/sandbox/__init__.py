"""The Okta sandbox: an emulator of the Okta endpoints the pipeline reads, over real HTTP.

```python
with Sandbox(SandboxConfig(seed=7, tenants=4, users=200, events=5000, days=7)) as sb:
    sb.url, sb.token                      # the tenant's okta_url and SSWS token
    sb.org.add_member(group_id, user_id)  # mutate the org between runs (lastUpdated moves)
    sb.events.append(100)                 # new System Log events; append_late() for late ones
    sb.faults = Faults(error_rate=0.2)    # 5xx, 429 storms, slow, truncated, malformed pages...
    sb.rate_limits.set("/api/v1/logs", 20)
    sb.stats.by_template                  # API calls per endpoint
```

Everything generated is a pure function of the config: the same seed gives the same org and
the same events (`now` pins the clock's anchor for tests; by default it is the current time).
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from oktually_pipeline.sandbox.clock import Clock, iso_ms, to_ms
from oktually_pipeline.sandbox.events import Actor, EventLog
from oktually_pipeline.sandbox.faults import FaultDice, Faults
from oktually_pipeline.sandbox.org import ConventionBreak, Org
from oktually_pipeline.sandbox.ratelimit import RateLimits
from oktually_pipeline.sandbox.server import ApiError, SandboxServer, Stats

__all__ = ["ConventionBreak", "Faults", "Sandbox", "SandboxConfig"]

# Endpoint families and the OAuth scope each needs (Okta's OpenAPI `security` blocks).
# The org's long-dormant users (lastLogin older than this) do not act in its System Log.
DORMANT_DAYS = 90

ROUTE_SCOPES = {
    "logs": "okta.logs.read", "users": "okta.users.read", "user": "okta.users.read",
    "groups": "okta.groups.read", "group": "okta.groups.read", "group_users": "okta.groups.read",
    "group_roles": "okta.roles.read", "role_targets": "okta.roles.read", "user_roles": "okta.roles.read",
    "user_role_targets": "okta.roles.read", "role_assignees": "okta.roles.read",
    "role_app_targets": "okta.roles.read", "user_role_app_targets": "okta.roles.read",
    "resource_sets": "okta.roles.read", "resource_set_resources": "okta.roles.read",
    "custom_roles": "okta.roles.read", "custom_role_permissions": "okta.roles.read", "apps": "okta.apps.read",
    "app": "okta.apps.read", "app_users": "okta.apps.read", "app_groups": "okta.apps.read",
    "idps": "okta.idps.read", "policies": "okta.policies.read", "policy_rules": "okta.policies.read",
    "client_roles": "okta.roles.read", "client_role_targets": "okta.roles.read",
    "client_role_app_targets": "okta.roles.read",
}


@dataclass(frozen=True)
class SandboxConfig:
    seed: int = 42
    tenants: int = 4
    users: int = 200
    events: int = 5000
    days: int = 7
    tokens: tuple[str, ...] = ()
    now: datetime | None = None
    rate_limits: dict[str, int] | None = None
    window_seconds: int = 60
    oauth_clients: dict[str, Any] = field(default_factory=dict)
    # Scale knobs for benchmarks: `extra_groups` more groups (TEAM_00000...) holding
    # `extra_memberships` memberships between them, spread over the users. 0 = today's org.
    extra_groups: int = 0
    extra_memberships: int = 0


class Sandbox:
    """One emulated Okta org on 127.0.0.1."""

    def __init__(self, config: SandboxConfig | None = None, **overrides: Any) -> None:
        self.config = config or SandboxConfig(**overrides)
        cfg = self.config
        self.tokens = cfg.tokens or (f"sandbox-token-{cfg.seed}",)
        now = cfg.now or datetime.now(timezone.utc)
        now_ms = to_ms(now)
        self.clock = Clock(now_ms)
        self.stats = Stats()
        self.rate_limits = RateLimits(cfg.rate_limits, cfg.window_seconds)
        self.dice = FaultDice(Faults())
        self.org = Org(seed=cfg.seed, tenants=cfg.tenants, users=cfg.users, now_ms=now_ms,
                       clock=self.clock, emit=self._emit)
        if cfg.extra_groups:
            _add_scale(self.org, cfg.extra_groups, cfg.extra_memberships, cfg.seed, now_ms)
        # Users whose lastLogin is over DORMANT_DAYS old stay out of the log, as they would in a real
        # org; otherwise a small org's events touch every user and nobody is ever dormant.
        dormant_before = iso_ms(now_ms - DORMANT_DAYS * 86_400_000)
        actors = [Actor(u["id"], u["profile"]["login"], f"{u['profile']['firstName']} {u['profile']['lastName']}")
                  for u in self.org.users.values()
                  if u["status"] not in {"STAGED", "DEPROVISIONED"}
                  and not (u["lastLogin"] and u["lastLogin"] < dormant_before)]
        self.events = EventLog(
            seed=cfg.seed, count=cfg.events, start_ms=now_ms - cfg.days * 86_400_000, end_ms=now_ms,
            clock=self.clock, actors=actors,
            apps=[(a["id"], a["label"]) for a in self.org.apps.values()],
            groups=[(g["id"], g["profile"]["name"]) for g in self.org.groups.values()],
        )
        self.oauth = None
        if cfg.oauth_clients:
            from oktually_pipeline.sandbox.oauth import OAuthServer

            self.oauth = OAuthServer(self, cfg.oauth_clients)
        from oktually_pipeline.sandbox.api import Api

        self.api = Api(self)
        self._server: SandboxServer | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    @property
    def token(self) -> str:
        return self.tokens[0]

    @property
    def faults(self) -> Faults:
        return self.dice.faults

    @faults.setter
    def faults(self, value: Faults) -> None:
        self.dice = FaultDice(value)

    def check_auth(self, header: str | None, route: str) -> None:
        scheme, _, credential = (header or "").partition(" ")
        if scheme == "SSWS" and credential in self.tokens:
            return
        if scheme == "Bearer" and self.oauth is not None:
            scopes = self.oauth.scopes_of(credential)
            if scopes is not None:
                if ROUTE_SCOPES.get(route) not in scopes:
                    raise ApiError(403)
                return
        raise ApiError(401)

    def _emit(self, event_type: str, target: tuple[str, str, str], target2: tuple[str, str, str] | None = None) -> None:
        event = self.events._generated(self.events.total() + 30_000_000, 0)
        event.update(eventType=event_type, displayMessage=event_type.replace(".", " "),
                     outcome={"result": "SUCCESS", "reason": None}, legacyEventType=None)
        event["actor"] = {"id": "00uadmin00000000000", "type": "User", "alternateId": "admin@example.com",
                          "displayName": "Org Admin", "detailEntry": None}
        event["target"] = [{"id": t[1], "type": t[0], "alternateId": t[2], "displayName": t[2], "detailEntry": None}
                           for t in (target, target2) if t]
        self.events.add_event(event)

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        self._server = SandboxServer((host, port), self)
        self.url = f"http://{host}:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="okta-sandbox", daemon=True)
        self._thread.start()
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def now_iso(self) -> str:
        """The sandbox time now; every later change is stamped strictly after it."""
        return iso_ms(self.clock.tick())


def _add_scale(org: Org, groups: int, memberships: int, seed: int, now_ms: int) -> None:
    """Add `groups` groups and `memberships` memberships between them (the benchmark's big org)."""
    rng = random.Random(seed * 7919 + 1)
    user_ids = list(org.users)
    ts = now_ms - 30 * 86_400_000
    per, rest = divmod(memberships, groups)
    for n in range(groups):
        gid = org._put_group(org._next_id("00g"), f"TEAM_{n:05d}", "a team (benchmark scale group)", ts)
        count = min(len(user_ids), per + (1 if n < rest else 0))
        if not count:
            continue
        start = rng.randrange(len(user_ids))
        chosen = user_ids[start:start + count] + user_ids[:max(0, start + count - len(user_ids))]
        org.members[gid] = dict.fromkeys(chosen, ts)
