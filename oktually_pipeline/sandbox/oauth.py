"""The sandbox's org authorization server: Okta's client-credentials flow for API service apps.

`POST /oauth2/v1/token` with `grant_type=client_credentials`, the requested `scope`s and a
`client_assertion` (a JWT signed with the service app's private key, `private_key_jwt`). The
assertion is checked as Okta checks it: a registered client, an asymmetric algorithm (RS256/384/512,
ES256/384/512; never `none` or HMAC), a valid signature with the client's public key (chosen by
`kid` when the client has several), `iss` = `sub` = client id, `aud` = this org's token URL, `exp`
in the future and at most an hour ahead, a `jti` never seen before, and scopes the client was
granted. The answer is an opaque Bearer token valid for `token_lifetime` seconds (Okta: 1 hour);
`Sandbox.check_auth` then asks `scopes_of(token)` and answers 403 for a route outside its scopes.

```python
Sandbox(SandboxConfig(oauth_clients={
    "0oaservice1": {"public_key": pem_or_jwk, "scopes": ["okta.logs.read", ...], "kid": "k1"},
    "0oaservice2": public_pem,            # shorthand: every okta.*.read scope
}))
sb.oauth.issued, sb.oauth.assertions    # for tests: tokens handed out, decoded assertions seen
sb.oauth.revoke()                       # every token answers 401 from now on
sb.oauth.fail_next(2, 503)              # the next token requests fail
```
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

import jwt
import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

if TYPE_CHECKING:
    from oktually_pipeline.sandbox import Sandbox

TOKEN_PATH = "/oauth2/v1/token"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ALL_READ_SCOPES = frozenset({
    "okta.logs.read", "okta.users.read", "okta.groups.read", "okta.apps.read", "okta.idps.read",
    "okta.policies.read", "okta.roles.read",
})
_RSA_ALGS = ("RS256", "RS384", "RS512")
_EC_ALGS = {"secp256r1": ("ES256",), "secp384r1": ("ES384",), "secp521r1": ("ES512",)}
MAX_ASSERTION_LIFETIME = 3600
LEEWAY = 30


@dataclass
class Client:
    client_id: str
    keys: dict[str | None, Any]  # kid (None: unnamed) -> public key
    scopes: frozenset[str]
    token_lifetime: int = 3600


@dataclass
class _Issued:
    scopes: frozenset[str]
    expires: float
    client_id: str


@dataclass
class OAuthStats:
    requests: int = 0
    granted: int = 0
    refused: dict[str, int] = field(default_factory=dict)


def _public_key(value: Any) -> Any:
    """A public key from PEM text/bytes, a JWK (dict or JSON), or a cryptography key object."""
    if isinstance(value, (rsa.RSAPublicKey, ec.EllipticCurvePublicKey)):
        return value
    if isinstance(value, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
        return value.public_key()
    if isinstance(value, Mapping):
        value = orjson.dumps(dict(value)).decode()
    if isinstance(value, bytes):
        value = value.decode()
    if isinstance(value, str) and value.lstrip().startswith("{"):
        jwk = orjson.loads(value)
        algo = jwt.algorithms.RSAAlgorithm if jwk.get("kty") == "RSA" else jwt.algorithms.ECAlgorithm
        key = algo.from_jwk(value)
        return key.public_key() if hasattr(key, "private_numbers") else key
    if isinstance(value, str):
        return serialization.load_pem_public_key(value.encode())
    raise TypeError(f"unsupported public key type {type(value).__name__}")


def _client(client_id: str, spec: Any) -> Client:
    if not isinstance(spec, Mapping) or not ({"public_key", "jwks"} & set(spec)):
        spec = {"public_key": spec}
    keys: dict[str | None, Any] = {}
    if "jwks" in spec:
        for jwk in spec["jwks"]:
            keys[jwk.get("kid")] = _public_key(jwk)
    if spec.get("public_key") is not None:
        keys[spec.get("kid")] = _public_key(spec["public_key"])
    scopes = frozenset(spec.get("scopes") or ALL_READ_SCOPES)
    return Client(client_id, keys, scopes, int(spec.get("token_lifetime", 3600)))


def _algorithms_for(key: Any) -> tuple[str, ...]:
    if isinstance(key, rsa.RSAPublicKey):
        return _RSA_ALGS
    if isinstance(key, ec.EllipticCurvePublicKey):
        return _EC_ALGS.get(key.curve.name, ())
    return ()


class _Refused(Exception):
    def __init__(self, status: int, error: str, description: str) -> None:
        self.status, self.error, self.description = status, error, description


class OAuthServer:
    """Issues and checks Bearer tokens for the sandbox's registered service apps."""

    def __init__(self, sandbox: Sandbox, clients: Mapping[str, Any]) -> None:
        self.sb = sandbox
        self.clients = {cid: _client(cid, spec) for cid, spec in clients.items()}
        self._tokens: dict[str, _Issued] = {}
        self._jtis: set[str] = set()
        self._lock = threading.Lock()
        self._fail: list[int] = []
        self.stats = OAuthStats()
        self.issued: list[str] = []
        self.assertions: list[tuple[dict[str, Any], dict[str, Any]]] = []  # (header, claims) seen
        self.raw_assertions: list[str] = []

    @property
    def token_url(self) -> str:
        return f"{self.sb.url}{TOKEN_PATH}"

    # -- test controls ---------------------------------------------------------------------------

    def revoke(self, token: str | None = None) -> None:
        """Forget one issued token, or all of them: the API answers 401 for them from now on."""
        with self._lock:
            if token is None:
                self._tokens.clear()
            else:
                self._tokens.pop(token, None)

    def fail_next(self, n: int, status: int = 503) -> None:
        """Answer the next `n` token requests with `status` (a 5xx outage, a 429)."""
        with self._lock:
            self._fail.extend([status] * n)

    # -- the two calls the sandbox makes -------------------------------------------------------

    def scopes_of(self, access_token: str) -> set[str] | None:
        """The scopes of a live token; None for an unknown, revoked or expired one."""
        with self._lock:
            issued = self._tokens.get(access_token)
            if issued is None:
                return None
            if issued.expires <= time.time():
                del self._tokens[access_token]
                return None
            return set(issued.scopes)

    def token(self, headers: Mapping[str, str], body: bytes) -> tuple[int, bytes]:
        """Answer one request to /oauth2/v1/token (any method reaches here; only POST can work)."""
        with self._lock:
            self.stats.requests += 1
            forced = self._fail.pop(0) if self._fail else None
        try:
            if forced is not None:
                raise _Refused(forced, "temporarily_unavailable" if forced >= 500 else "slow_down",
                               "The authorization server is unavailable")
            status, answer = 200, self._grant(headers, body)
            with self._lock:
                self.stats.granted += 1
        except _Refused as exc:
            status, answer = exc.status, {"error": exc.error, "error_description": exc.description}
            with self._lock:
                self.stats.refused[exc.error] = self.stats.refused.get(exc.error, 0) + 1
        return status, orjson.dumps(answer)

    # -- checks ------------------------------------------------------------------------------------

    def _grant(self, headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
        content_type = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if content_type != "application/x-www-form-urlencoded":
            raise _Refused(400, "invalid_request", "Content-Type must be application/x-www-form-urlencoded")
        try:
            form = {k: v[-1] for k, v in parse_qs(body.decode("utf-8"), strict_parsing=bool(body)).items()}
        except (UnicodeDecodeError, ValueError):
            raise _Refused(400, "invalid_request", "The request body is not a valid form") from None
        if form.get("grant_type") != "client_credentials":
            raise _Refused(400, "unsupported_grant_type", "Only client_credentials is supported here")
        if form.get("client_assertion_type") != ASSERTION_TYPE or not form.get("client_assertion"):
            raise _Refused(401, "invalid_client", "A private_key_jwt client assertion is required")
        if form.get("client_secret") or "Authorization" in headers:
            raise _Refused(401, "invalid_client", "Only private_key_jwt client authentication is allowed")
        assertion = form["client_assertion"]
        client, claims, header = self._verify(assertion)
        requested = form.get("scope", "").split()
        if not requested:
            raise _Refused(400, "invalid_scope", "The authorization request must name at least one scope")
        refused = sorted(set(requested) - client.scopes)
        if refused:
            raise _Refused(400, "invalid_scope", f"The following scopes are not allowed: {' '.join(refused)}")
        access_token = secrets.token_urlsafe(32)
        with self._lock:
            self._tokens[access_token] = _Issued(frozenset(requested), time.time() + client.token_lifetime,
                                                 client.client_id)
            self.issued.append(access_token)
            self.assertions.append((header, claims))
            self.raw_assertions.append(assertion)
        return {"token_type": "Bearer", "expires_in": client.token_lifetime,
                "access_token": access_token, "scope": " ".join(requested)}

    def _verify(self, assertion: str) -> tuple[Client, dict[str, Any], dict[str, Any]]:
        try:
            header = jwt.get_unverified_header(assertion)
            unverified = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise _Refused(401, "invalid_client", "The client_assertion is not a JWT") from None
        client = self.clients.get(str(unverified.get("iss")))
        if client is None:
            raise _Refused(401, "invalid_client", "The client is not registered")
        kid = header.get("kid")
        if kid in client.keys:
            key = client.keys[kid]
        elif len(client.keys) == 1 and (kid is None or None in client.keys):
            key = next(iter(client.keys.values()))  # one key: a missing or unregistered kid is fine
        else:
            key = None
        if key is None:
            raise _Refused(401, "invalid_client", "No key with this kid is registered for the client")
        algorithms = _algorithms_for(key)
        if header.get("alg") not in algorithms:
            raise _Refused(401, "invalid_client", "The assertion's algorithm is not allowed for this key")
        try:
            claims = jwt.decode(
                assertion, key, algorithms=list(algorithms), audience=self.token_url,
                issuer=client.client_id, leeway=LEEWAY,
                options={"require": ["exp", "iss", "sub", "aud"]},
            )
        except jwt.InvalidSignatureError:
            raise _Refused(401, "invalid_client", "The client_assertion signature is invalid") from None
        except jwt.ExpiredSignatureError:
            raise _Refused(401, "invalid_client", "The client_assertion has expired") from None
        except jwt.InvalidAudienceError:
            raise _Refused(401, "invalid_client", "The audience of the client_assertion is not this token endpoint") from None
        except jwt.PyJWTError as exc:
            raise _Refused(401, "invalid_client", f"The client_assertion is invalid ({type(exc).__name__})") from None
        if claims.get("sub") != client.client_id:
            raise _Refused(401, "invalid_client", "The client_assertion's sub must be the client id")
        now = time.time()
        if claims["exp"] > now + MAX_ASSERTION_LIFETIME + LEEWAY:
            raise _Refused(401, "invalid_client", "The client_assertion expires more than an hour from now")
        if isinstance(claims.get("iat"), (int, float)) and claims["iat"] > now + LEEWAY:
            raise _Refused(401, "invalid_client", "The client_assertion was issued in the future")
        jti = claims.get("jti")
        if jti is not None:
            with self._lock:
                if jti in self._jtis:
                    raise _Refused(401, "invalid_client", "The client_assertion's jti was already used")
                self._jtis.add(jti)
        return client, claims, header
