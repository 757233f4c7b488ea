"""Throwaway keys for OAuth service-app tests (generated once per process, never real)."""

from __future__ import annotations

import json
from functools import cache

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa


@cache
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@cache
def other_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@cache
def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def pem(key) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def public_pem(key) -> str:
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def private_jwk(key, kid: str) -> str:
    """The key as Okta's Admin Console hands out a generated one: a private JWK with its kid."""
    algo = jwt.algorithms.RSAAlgorithm if isinstance(key, rsa.RSAPrivateKey) else jwt.algorithms.ECAlgorithm
    jwk = json.loads(algo.to_jwk(key))
    jwk["kid"] = kid
    return json.dumps(jwk)


def secret_fragments(key_text: str) -> list[str]:
    """Pieces of a private key's text that must never show up anywhere (PEM body lines, JWK d/p/q)."""
    text = key_text.strip()
    if text.startswith("{"):
        jwk = json.loads(text)
        return [jwk[k] for k in ("d", "p", "q", "dp", "dq", "qi") if k in jwk]
    lines = [ln for ln in text.splitlines() if ln and not ln.startswith("-----")]
    return [ln for ln in lines if len(ln) >= 40]
