"""Credentials for Okta: SSWS API tokens and OAuth service-app access tokens, never printed."""

from __future__ import annotations

from collections.abc import Generator

import httpx


class Secret:
    """A string that does not show itself in reprs, f-strings, logs or tracebacks."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str) or not value.strip():
            raise ValueError("a secret must be a non-empty string")
        self._value = value.strip()

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


class SswsAuth(httpx.Auth):
    """`Authorization: SSWS <token>`, added per request so the token never sits in client state."""

    def __init__(self, token: Secret) -> None:
        self._token = token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"SSWS {self._token.reveal()}"
        yield request

    def __repr__(self) -> str:
        return "SswsAuth(token=***)"
