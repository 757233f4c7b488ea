"""The sandbox's HTTP side: Okta's routes, auth, Link pagination, rate limits and faults."""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode, urlsplit

import orjson

from oktually_pipeline.sandbox.clock import event_uuid, parse_iso_ms
from oktually_pipeline.sandbox.filters import FilterError, parse_filter
from oktually_pipeline.sandbox.ratelimit import bucket_of

if TYPE_CHECKING:
    from oktually_pipeline.sandbox import Sandbox

_ID_PART = "([^/]+)"
# (pattern, route name, template): the template names the route with `{id}` for each id in it.
_ROUTES = [
    (re.compile(p), name, p.strip("^$").replace(_ID_PART, "{id}"))
    for p, name in (
        (r"^/api/v1/logs$", "logs"),
        (r"^/api/v1/users$", "users"),
        (r"^/api/v1/users/([^/]+)$", "user"),
        (r"^/api/v1/users/([^/]+)/roles$", "user_roles"),
        (r"^/api/v1/users/([^/]+)/roles/([^/]+)/targets/groups$", "user_role_targets"),
        (r"^/api/v1/users/([^/]+)/roles/([^/]+)/targets/catalog/apps$", "user_role_app_targets"),
        (r"^/api/v1/iam/assignees/users$", "role_assignees"),
        (r"^/api/v1/iam/resource-sets$", "resource_sets"),
        (r"^/api/v1/iam/resource-sets/([^/]+)/resources$", "resource_set_resources"),
        (r"^/api/v1/iam/roles$", "custom_roles"),
        (r"^/api/v1/iam/roles/([^/]+)/permissions$", "custom_role_permissions"),
        (r"^/api/v1/groups$", "groups"),
        (r"^/api/v1/groups/([^/]+)$", "group"),
        (r"^/api/v1/groups/([^/]+)/users$", "group_users"),
        (r"^/api/v1/groups/([^/]+)/roles$", "group_roles"),
        (r"^/api/v1/groups/([^/]+)/roles/([^/]+)/targets/groups$", "role_targets"),
        (r"^/api/v1/groups/([^/]+)/roles/([^/]+)/targets/catalog/apps$", "role_app_targets"),
        (r"^/api/v1/apps$", "apps"),
        (r"^/api/v1/apps/([^/]+)$", "app"),
        (r"^/api/v1/apps/([^/]+)/users$", "app_users"),
        (r"^/api/v1/apps/([^/]+)/groups$", "app_groups"),
        (r"^/api/v1/idps$", "idps"),
        (r"^/api/v1/policies$", "policies"),
        (r"^/api/v1/policies/([^/]+)/rules$", "policy_rules"),
        (r"^/oauth2/v1/clients/([^/]+)/roles$", "client_roles"),
        (r"^/oauth2/v1/clients/([^/]+)/roles/([^/]+)/targets/groups$", "client_role_targets"),
        (r"^/oauth2/v1/clients/([^/]+)/roles/([^/]+)/targets/catalog/apps$", "client_role_app_targets"),
    )
]
# (default, max) page sizes, after Okta's reference.
_LIMITS = {"users": (200, 200), "groups": (200, 10_000), "group_users": (1000, 1000), "apps": (20, 200),
           "app_users": (50, 500), "app_groups": (20, 200), "idps": (20, 200), "policies": (200, 200),
           "role_targets": (20, 200), "role_assignees": (100, 100), "resource_sets": (100, 100),
           "resource_set_resources": (100, 100), "custom_roles": (100, 100)}
# Routes that wrap their list in an object, under this key, and link the next page inside it, not
# in `Link`.
_ENVELOPED = {"role_assignees": "value", "resource_sets": "resource-sets", "resource_set_resources": "resources",
              "custom_roles": "roles", "custom_role_permissions": "permissions"}
_ERRORS = {
    400: ("E0000001", "Api validation failed"),
    401: ("E0000011", "Invalid token provided"),
    403: ("E0000006", "You do not have permission to perform the requested action"),
    404: ("E0000007", "Not found: Resource not found"),
    405: ("E0000022", "The endpoint does not support the provided HTTP method"),
    429: ("E0000047", "API call exceeded rate limit due to too many requests."),
    500: ("E0000009", "Internal Server Error"),
}


class ApiError(Exception):
    def __init__(self, status: int, summary: str | None = None, code: str | None = None) -> None:
        self.status = status
        self.code = code or _ERRORS.get(status, ("E0000009", ""))[0]
        self.summary = summary or _ERRORS.get(status, ("", "Error"))[1]


def error_body(status: int, code: str, summary: str) -> bytes:
    return orjson.dumps({"errorCode": code, "errorSummary": summary, "errorLink": code,
                         "errorId": event_uuid("err", time.time_ns())[:22].replace("-", ""), "errorCauses": []})


def route_of(path: str) -> tuple[str, tuple[str, ...], str] | None:
    """The route a path asks for: its name, the ids in the path, and its template."""
    for pattern, name, template in _ROUTES:
        m = pattern.match(path)
        if m:
            return name, m.groups(), template
    return None


class Stats:
    """Request counters, for tests that count API calls or prove no write ever arrived."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.total = 0
            self.by_method_bucket: Counter[tuple[str, str]] = Counter()
            self.by_template: Counter[str] = Counter()
            self.by_status: Counter[int] = Counter()
            self.non_get = 0
            self.requests_429 = 0

    def record(self, method: str, path: str, status: int) -> None:
        with self._lock:
            self.total += 1
            route = route_of(path)
            # The management API: /api/v1 and the /oauth2/v1 routes it serves (not the token endpoint).
            if path.startswith("/api/") or route is not None:
                self.by_method_bucket[(method, bucket_of(path))] += 1
                # `/api/v1/groups/{id}/users` for `/api/v1/groups/00g1/users`; an unknown path is its own.
                self.by_template[route[2] if route else path] += 1
                if method != "GET":
                    self.non_get += 1
            self.by_status[status] += 1
            if status == 429:
                self.requests_429 += 1


class SandboxServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], sandbox: Sandbox) -> None:
        super().__init__(address, _Handler)
        self.sandbox = sandbox


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, keep-alive requests stall ~40 ms.
    disable_nagle_algorithm = True
    server: SandboxServer

    def log_message(self, format: str, *args: Any) -> None:  # the sandbox stays quiet
        pass

    # -- plumbing ---------------------------------------------------------------------------

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None,
              truncate: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Okta-Request-Id", event_uuid("req", time.time_ns())[:27])
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        if truncate:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body[: len(body) // 2] if truncate else body)
        if truncate:
            self.close_connection = True

    def _refuse(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        path = urlsplit(self.path).path
        # The token endpoint takes only POST; everything else the sandbox serves is read-only.
        allow = "POST" if path == "/oauth2/v1/token" and self.server.sandbox.oauth is not None else "GET"
        code, summary = _ERRORS[405]
        self.server.sandbox.stats.record(self.command, path, 405)
        self._send(405, error_body(405, code, summary), {"Allow": allow})

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        sandbox = self.server.sandbox
        if path == "/oauth2/v1/token" and sandbox.oauth is not None:
            length = int(self.headers.get("Content-Length") or 0)
            status, body = sandbox.oauth.token(self.headers, self.rfile.read(length))
            sandbox.stats.record("POST", path, status)
            self._send(status, body)
            return
        self._refuse()

    do_PUT = do_PATCH = do_DELETE = _refuse

    def do_GET(self) -> None:
        sandbox = self.server.sandbox
        parts = urlsplit(self.path)
        path, query = parts.path, {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        status, body, headers, truncate = 200, b"", {}, False
        try:
            route, args = self._route(path)
            scope_needed = sandbox.check_auth(self.headers.get("Authorization"), route)
            del scope_needed
            allowed, headers = sandbox.rate_limits.take(bucket_of(path))
            dice = sandbox.dice
            if not allowed or dice.storm():
                headers["X-Rate-Limit-Remaining"] = "0"
                raise ApiError(429)
            if dice.roll(dice.faults.drop_connection_rate):
                sandbox.stats.record("GET", path, 0)
                self.close_connection = True
                self.connection.close()
                return
            if dice.roll(dice.faults.error_rate):
                status = int(dice.choice((500, 502, 503, 504)))  # type: ignore[arg-type]
                raise ApiError(status, "Internal Server Error" if status == 500 else "Service Unavailable")
            if dice.roll(dice.faults.slow_rate):
                time.sleep(dice.faults.slow_seconds)
            items, next_query = getattr(sandbox.api, route)(query, *args)
            if route == "logs" and items:
                items = self._mangle_events(items)
            if route in _ENVELOPED:
                links = {"next": {"href": f"{sandbox.url}{path}?{urlencode(next_query)}"}} if next_query else {}
                body = orjson.dumps({_ENVELOPED[route]: items, "_links": links})
            else:
                body = orjson.dumps(items)
                if next_query is not None or route in _LIMITS or route == "logs":
                    header = [f'<{sandbox.url}{path}?{urlencode(query)}>; rel="self"']
                    if next_query is not None:
                        header.append(f'<{sandbox.url}{path}?{urlencode(next_query)}>; rel="next"')
                    headers["Link"] = ", ".join(header)
            if dice.broken(path) or dice.roll(dice.faults.malformed_rate):
                body = body[:-2] + b"{]" if len(body) > 2 else b"[{"
            elif dice.roll(dice.faults.invalid_utf8_rate):
                body = body[:1] + b'"\xff\xfe",' + body[1:] if body != b"[]" else b'["\xff\xfe"]'
            truncate = dice.roll(dice.faults.truncate_rate)
        except ApiError as exc:
            status = exc.status
            body = error_body(exc.status, exc.code, exc.summary)
        except FilterError as exc:
            status = 400
            body = error_body(400, "E0000031", f"Invalid search criteria: {exc}")
        sandbox.stats.record("GET", path, status)
        self._send(status, body, headers, truncate)

    def _route(self, path: str) -> tuple[str, tuple[str, ...]]:
        route = route_of(path)
        if route is None:
            raise ApiError(404, f"Not found: Resource not found: {path} (Route)")
        return route[0], route[1]

    def _mangle_events(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        dice = self.server.sandbox.dice
        if dice.roll(dice.faults.missing_fields_rate):
            items = [dict(e) for e in items]
            victim = items[0]
            victim.pop(dice.choice(("uuid", "published", "eventType")), None)  # type: ignore[arg-type]
        if dice.roll(dice.faults.huge_string_rate):
            items = [dict(e) for e in items]
            items[-1]["displayMessage"] = "x" * 1_000_000
        return items


def parse_limit(query: dict[str, str], route: str, default: int | None = None, maximum: int | None = None) -> int:
    dflt, mx = _LIMITS.get(route, (default or 100, maximum or 1000))
    raw = query.get("limit")
    if raw is None:
        return dflt
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, "Api validation failed: limit", "E0000001") from None
    if value < 1:
        raise ApiError(400, "Api validation failed: limit", "E0000001")
    return min(value, mx)


def parse_time_param(query: dict[str, str], name: str) -> int | None:
    if name not in query:
        return None
    try:
        return parse_iso_ms(query[name])
    except ValueError:
        raise ApiError(400, f"Api validation failed: {name}", "E0000001") from None


def compile_filter(text: str | None, allowed: set[str]):
    return parse_filter(text, allowed) if text else None
