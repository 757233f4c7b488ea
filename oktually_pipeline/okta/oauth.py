"""OAuth 2.0 for an Okta API service app: client credentials with a `private_key_jwt` assertion.

`ServiceAppAuth` is an `httpx.Auth` for the read-only Okta client. Before a request it makes sure
it holds an access token: it signs a short-lived assertion with the app's private key (RS256 for an
RSA key, ES256/384/512 for an EC key; `iss` = `sub` = client id, `aud` = the org's token URL,
`iat`, `exp` five minutes ahead (Okta allows at most an hour), a fresh `jti`, and the `kid` of the
registered key), and POSTs it with the wanted scopes to `<org>/oauth2/v1/token`.

That POST goes through its own small httpx client, which refuses every request except a POST to
exactly that URL; the API client stays GET-only. Both follow the same egress rules (okta/egress.py).
The token is cached (per process, per app, key and scopes) until a minute before it expires, and
fetched again if Okta answers 401 to a request made with it. Keys, assertions and tokens never
appear in reprs, logs or errors.
"""

from __future__ import annotations

import hashlib
import logging
import random
import threading
import time
import uuid
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from oktually_pipeline import settings
from oktually_pipeline.okta.auth import Secret
from oktually_pipeline.okta.egress import client_settings, is_tls_verification_error
from oktually_pipeline.okta.errors import (
    OktaAuthError,
    OktaUnavailableError,
    ReadOnlyViolation,
)

log = logging.getLogger(__name__)

TOKEN_PATH = "/oauth2/v1/token"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_LIFETIME = 300  # seconds; Okta refuses assertions that live longer than an hour
_EC_ALGORITHMS = {"secp256r1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512"}


class PrivateKeyError(ValueError):
    """The configured private key cannot be read. The message never contains the key."""


@dataclass(frozen=True)
class SigningKey:
    key: Any  # a cryptography private key
    algorithm: str
    kid: str | None
    fingerprint: str  # sha256 of the public key: a cache key that reveals nothing

    def __repr__(self) -> str:
        return f"SigningKey(algorithm={self.algorithm!r}, kid={self.kid!r})"


def load_signing_key(text: Secret | str, key_id: str | None = None) -> SigningKey:
    """An RSA or EC private key from PEM (PKCS#1, PKCS#8 or SEC1) or from a JWK as Okta's Admin
    Console generates it. `key_id` wins over the JWK's own `kid`."""
    raw = text.reveal() if isinstance(text, Secret) else text
    kid = key_id
    try:
        if raw.lstrip().startswith("{"):
            jwk = orjson.loads(raw)
            if not isinstance(jwk, dict) or jwk.get("kty") not in ("RSA", "EC") or "d" not in jwk:
                raise PrivateKeyError("the JWK is not an RSA or EC private key")
            algo = jwt.algorithms.RSAAlgorithm if jwk["kty"] == "RSA" else jwt.algorithms.ECAlgorithm
            key = algo.from_jwk(jwk)
            kid = kid or (jwk.get("kid") if isinstance(jwk.get("kid"), str) else None)
        else:
            key = serialization.load_pem_private_key(raw.strip().encode(), password=None)
    except PrivateKeyError:
        raise
    except Exception as exc:  # any parse failure: say what kind, never show the text
        raise PrivateKeyError(f"not a readable PEM or JWK private key ({type(exc).__name__})") from None
    if isinstance(key, rsa.RSAPrivateKey):
        if key.key_size < 2048:
            raise PrivateKeyError(f"RSA keys must have at least 2048 bits (this one has {key.key_size})")
        algorithm = "RS256"
    elif isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name in _EC_ALGORITHMS:
        algorithm = _EC_ALGORITHMS[key.curve.name]
    else:
        raise PrivateKeyError("only RSA and EC (P-256, P-384, P-521) private keys are supported")
    public = key.public_key().public_bytes(serialization.Encoding.DER,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return SigningKey(key, algorithm, kid, hashlib.sha256(public).hexdigest())


@dataclass
class _Token:
    value: Secret
    refresh_at: float  # monotonic


# Access tokens shared by every client of one app in this process (a run opens several clients).
_cache: dict[tuple[str, str, str, tuple[str, ...]], _Token] = {}
_cache_lock = threading.Lock()


def clear_token_cache() -> None:
    with _cache_lock:
        _cache.clear()


class ServiceAppAuth(httpx.Auth):
    """Bearer tokens for an Okta service app, fetched with a signed client assertion."""

    def __init__(
        self,
        org_url: str,
        client_id: str,
        signing_key: SigningKey,
        scopes: Sequence[str],
        *,
        tenant_id: str,
        proxy: str | None = None,
        timeout: float = 30.0,
        max_attempts: int = 4,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.org_url = org_url.rstrip("/")
        self.token_url = self.org_url + TOKEN_PATH
        self.client_id = client_id
        self.scopes = tuple(scopes)
        self.tenant_id = tenant_id
        self._key = signing_key
        self._max_attempts = max_attempts
        self._sleep = sleep
        self._clock = clock
        self._lock = threading.Lock()
        self._cache_key = (self.token_url, client_id, signing_key.fingerprint, self.scopes)
        self._timeout = timeout
        self._proxy = proxy
        self.token_requests = 0

    def __repr__(self) -> str:
        return f"ServiceAppAuth(client_id={self.client_id!r}, token_url={self.token_url!r}, token=***)"

    def token_client(self) -> httpx.Client:
        """The small client for the token endpoint (one per fetch: a fetch happens about hourly)."""
        return httpx.Client(
            timeout=self._timeout,
            headers={"Accept": "application/json", "User-Agent": settings.USER_AGENT},
            event_hooks={"request": [self._only_the_token_endpoint]},
            follow_redirects=False,
            **client_settings(self.org_url, self._proxy),
        )

    # -- httpx.Auth ------------------------------------------------------------------------------

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self._access_token()
        request.headers["Authorization"] = f"Bearer {token.reveal()}"
        response = yield request
        if response.status_code == 401:
            # Revoked, or expired early: one fresh token, one retry; a second 401 is the answer.
            self._forget(token)
            request.headers["Authorization"] = f"Bearer {self._access_token().reveal()}"
            yield request

    # -- tokens ----------------------------------------------------------------------------------

    def _only_the_token_endpoint(self, request: httpx.Request) -> None:
        if request.method != "POST" or request.url != httpx.URL(self.token_url):
            raise ReadOnlyViolation(
                f"the OAuth token client only POSTs to {self.token_url}; refused "
                f"{request.method} {request.url.copy_with(query=None)}"
            )

    def _forget(self, token: Secret) -> None:
        with _cache_lock:
            cached = _cache.get(self._cache_key)
            if cached is not None and cached.value == token:
                del _cache[self._cache_key]

    def _access_token(self) -> Secret:
        with self._lock:
            now = self._clock()
            with _cache_lock:
                cached = _cache.get(self._cache_key)
            if cached is not None and now < cached.refresh_at:
                return cached.value
            token, lifetime = self._fetch()
            margin = 60.0 if lifetime > 120 else lifetime / 2
            with _cache_lock:
                _cache[self._cache_key] = _Token(token, self._clock() + lifetime - margin)
            return token

    def assertion(self) -> str:
        """A freshly signed client assertion (public so tests can inspect one)."""
        now = int(time.time())
        claims = {"iss": self.client_id, "sub": self.client_id, "aud": self.token_url,
                  "iat": now, "exp": now + ASSERTION_LIFETIME, "jti": uuid.uuid4().hex}
        headers = {"kid": self._key.kid} if self._key.kid else None
        return jwt.encode(claims, self._key.key, algorithm=self._key.algorithm, headers=headers)

    def _error(self, cls: type, message: str, status: int | None = None, code: str | None = None) -> Exception:
        return cls(message, tenant=self.tenant_id, endpoint=TOKEN_PATH, status=status, error_code=code)

    def _fetch(self) -> tuple[Secret, float]:
        problem = "no attempt made"
        for attempt in range(self._max_attempts):
            if attempt:
                self._sleep(random.uniform(0, min(10.0, 0.5 * 2**attempt)))
            self.token_requests += 1
            form = {"grant_type": "client_credentials", "scope": " ".join(self.scopes),
                    "client_assertion_type": ASSERTION_TYPE, "client_assertion": self.assertion()}
            try:
                with self.token_client() as http:
                    response = http.post(self.token_url, data=form)
            except ReadOnlyViolation:
                raise
            except httpx.TransportError as exc:
                if is_tls_verification_error(exc):
                    raise self._error(OktaUnavailableError, "TLS certificate verification failed for "
                                      f"{httpx.URL(self.token_url).host}") from None
                problem = f"connection error ({type(exc).__name__})"
                continue
            body: Any = None
            try:
                body = orjson.loads(response.content)
            except orjson.JSONDecodeError:
                pass
            if response.status_code == 200:
                token = body.get("access_token") if isinstance(body, dict) else None
                lifetime = body.get("expires_in") if isinstance(body, dict) else None
                if isinstance(token, str) and token and str(body.get("token_type", "")).lower() == "bearer":
                    life = float(lifetime) if isinstance(lifetime, (int, float)) and lifetime > 0 else 3600.0
                    log.info("tenant %s: new OAuth access token for client %s (%d s)", self.tenant_id,
                             self.client_id, life)
                    return Secret(token), life
                problem = "malformed token response"
                continue
            if response.status_code == 429 or response.status_code >= 500:
                problem = f"HTTP {response.status_code}"
                continue
            error = body.get("error") if isinstance(body, dict) else None
            description = body.get("error_description") if isinstance(body, dict) else None
            detail = ": ".join(str(x)[:200] for x in (error, description) if x) or f"HTTP {response.status_code}"
            raise self._error(OktaAuthError, f"Okta refused the service app's token request ({detail})",
                              status=response.status_code, code=error if isinstance(error, str) else None)
        raise self._error(OktaUnavailableError,
                          f"no OAuth access token after {self._max_attempts} attempts: {problem}")
