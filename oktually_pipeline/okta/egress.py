"""How requests to Okta leave the process: through the customer's egress proxy, always over verified TLS.

* `HTTPS_PROXY` (or `https_proxy`, else `ALL_PROXY`) is honoured for https org URLs, so a customer
  can allow-list one address; `NO_PROXY` exempts hosts as usual. A loopback URL (the sandbox) never
  goes through a proxy.
* TLS certificates are always verified (`verify` is never False). `SSL_CERT_FILE` names an extra CA
  bundle to trust instead of certifi's, for a TLS-inspecting proxy; it cannot turn checking off.
* Nothing else is taken from the environment (`trust_env=False`): the proxy is resolved here,
  explicitly, so the tests can prove which way each request goes.
"""

from __future__ import annotations

import os
import ssl
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from oktually_pipeline.tenants import is_loopback_url

CA_BUNDLE_ENV = "SSL_CERT_FILE"


def proxy_for(url: str) -> str | None:
    """The egress proxy for `url` from the environment, or None (loopback, NO_PROXY, none set)."""
    if is_loopback_url(url):
        return None
    parts = urlsplit(url)
    proxies = urllib.request.getproxies_environment()
    if proxies.get("no") and urllib.request.proxy_bypass_environment(parts.hostname or "", proxies):
        return None
    return proxies.get(parts.scheme) or proxies.get("all") or None


def tls_verify() -> ssl.SSLContext | bool:
    """Certificate verification for httpx: certifi's roots, or the bundle in $SSL_CERT_FILE."""
    bundle = os.environ.get(CA_BUNDLE_ENV)
    if bundle:
        context = ssl.create_default_context(cafile=bundle)
        context.check_hostname = True
        context.verify_mode = ssl.CERT_REQUIRED
        return context
    return True


def client_settings(url: str, proxy: str | None = None) -> dict[str, Any]:
    """httpx.Client keyword arguments for talking to the org at `url` (an explicit proxy wins)."""
    if proxy is None or is_loopback_url(url):
        proxy = proxy_for(url)
    return {"proxy": proxy, "verify": tls_verify(), "trust_env": False}


def is_tls_verification_error(exc: BaseException) -> bool:
    """Whether a transport error was a certificate that failed verification."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(current):
            return True
        current = current.__cause__ or current.__context__
    return False
