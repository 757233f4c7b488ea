"""Errors from Okta calls. Each names the tenant, the endpoint and the cursor; none carries a token."""

from __future__ import annotations


class OktaError(Exception):
    """A call to Okta failed. `str()` says what failed, where, and from which cursor."""

    def __init__(
        self,
        message: str,
        *,
        tenant: str | None = None,
        endpoint: str | None = None,
        cursor: str | None = None,
        status: int | None = None,
        error_code: str | None = None,
    ) -> None:
        self.message = message
        self.tenant = tenant
        self.endpoint = endpoint
        self.cursor = cursor
        self.status = status
        self.error_code = error_code
        super().__init__(self._render())

    def _render(self) -> str:
        where = [f"tenant {self.tenant!r}" if self.tenant else None,
                 f"endpoint {self.endpoint}" if self.endpoint else None,
                 f"cursor {self.cursor!r}" if self.cursor else None]
        code = f" [{self.status}{' ' + self.error_code if self.error_code else ''}]" if self.status else ""
        context = ", ".join(w for w in where if w)
        return f"{self.message}{code}" + (f" ({context})" if context else "")


class OktaAuthError(OktaError):
    """401/403: the token is invalid, expired, or lacks the admin role or scope."""


class OktaNotFoundError(OktaError):
    """404: the object no longer exists."""


class OktaRequestError(OktaError):
    """Another 4xx: Okta rejected the request itself (a bad filter, an expired cursor)."""


class OktaUnavailableError(OktaError):
    """429s, 5xx or connection errors persisted past the retry bound."""


class OktaMalformedPageError(OktaError):
    """A response that never parsed as the JSON Okta documents, even after retries."""


class ReadOnlyViolation(RuntimeError):
    """Something tried to send a request other than GET through the read-only Okta client."""
