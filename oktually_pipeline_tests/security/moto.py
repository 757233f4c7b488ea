"""moto's Secrets Manager over HTTP, for tests that read tenant secrets through boto3."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

REGION = "us-east-1"


@contextmanager
def moto_server() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def point_aws_at(monkeypatch: pytest.MonkeyPatch, endpoint: str, *, generic: bool = False) -> None:
    """Dummy credentials and region, and the Secrets Manager endpoint (service-specific or generic)."""
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SECRETS_MANAGER", "AWS_PROFILE", "AWS_REGION",
                 "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ENDPOINT_URL" if generic else "AWS_ENDPOINT_URL_SECRETS_MANAGER", endpoint)


def put_secret(endpoint: str, name: str, value: str) -> str:
    """Create or overwrite a secret; returns its ARN."""
    import boto3

    client = boto3.client("secretsmanager", region_name=REGION, endpoint_url=endpoint,
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    try:
        return client.create_secret(Name=name, SecretString=value)["ARN"]
    except client.exceptions.ResourceExistsException:
        return client.put_secret_value(SecretId=name, SecretString=value)["ARN"]
