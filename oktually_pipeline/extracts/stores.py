"""Where extracts go: a local folder or an S3 prefix, behind one small interface.

Keys are relative, `/`-separated paths such as `tenant=acme/users/part-….parquet`; every part is
checked before it touches a filesystem path or an object key. `store_from_url` picks the store
from `OKTUALLY_EXTRACTS_URL`-style values: `s3://bucket/prefix`, `file:///path` or a plain path.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

_KEY_PART_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.=-]{0,199}$")
S3_DELETE_BATCH = 1000  # DeleteObjects' limit per request


class UnsafeKeyError(ValueError):
    """A key that is not a relative path of plain parts (no `..`, no absolute paths)."""


def check_key(key: str) -> str:
    """Return `key` if every `/`-separated part is a plain name, else raise UnsafeKeyError."""
    parts = key.split("/") if isinstance(key, str) else [None]
    if not all(isinstance(p, str) and _KEY_PART_RE.fullmatch(p) and p not in (".", "..") for p in parts):
        raise UnsafeKeyError(f"unsafe extract key {key!r}")
    return key


class ExtractStore(Protocol):
    """The operations publishing needs; keys are relative to the store's root or prefix."""

    def put_file(self, key: str, path: Path) -> None: ...
    def put_bytes(self, key: str, data: bytes) -> None: ...
    def get_bytes(self, key: str) -> bytes | None: ...
    def list(self, prefix: str) -> list[str]: ...
    def delete(self, keys: Iterable[str]) -> None: ...
    def location(self, key: str = "") -> str: ...


class LocalStore:
    """Extracts in a local folder. Every write lands under a hidden temporary name, is fsynced,
    then renamed into place, so a key is either absent or complete."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).resolve()

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def _atomic_write(self, key: str, fill: Callable[[Path], None]) -> None:
        dest = self._path(key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        # A leading dot keeps the partial file out of pyarrow.dataset's directory discovery.
        tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex}.tmp")
        try:
            fill(tmp)
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, dest)
        finally:
            tmp.unlink(missing_ok=True)
        dir_fd = os.open(dest.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)  # the rename itself survives a crash only once the folder is synced
        finally:
            os.close(dir_fd)

    def put_file(self, key: str, path: Path) -> None:
        self._atomic_write(key, lambda tmp: shutil.copyfile(path, tmp))

    def put_bytes(self, key: str, data: bytes) -> None:
        self._atomic_write(key, lambda tmp: tmp.write_bytes(data))

    def get_bytes(self, key: str) -> bytes | None:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            return None

    def list(self, prefix: str) -> list[str]:
        base = self._path(prefix.rstrip("/")) if prefix.strip("/") else self.root
        if not base.is_dir():
            return []
        keys = (p.relative_to(self.root).as_posix() for p in base.rglob("*") if p.is_file())
        # Hidden names are writes in progress (or left by a crash), never extract files.
        return sorted(k for k in keys if not any(part.startswith(".") for part in k.split("/")))

    def delete(self, keys: Iterable[str]) -> None:
        for key in keys:
            self._path(key).unlink(missing_ok=True)

    def location(self, key: str = "") -> str:
        return str(self._path(key)) if key else str(self.root)


class S3Store:
    """Extracts under `s3://bucket/prefix`, through a boto3 S3 client (e.g. dagster-aws's
    `S3Resource.get_client()`). Every object is written with server-side encryption: SSE-S3
    (`AES256`) by default, or `aws:kms` with `kms_key_id`."""

    def __init__(self, client: Any, bucket: str, prefix: str = "", *, sse: str = "AES256",
                 kms_key_id: str | None = None) -> None:
        if sse not in ("AES256", "aws:kms"):
            raise ValueError(f"sse must be 'AES256' or 'aws:kms', not {sse!r}")
        if kms_key_id and sse != "aws:kms":
            raise ValueError("kms_key_id needs sse='aws:kms'")
        self.client, self.bucket = client, bucket
        self.prefix = check_key(prefix.strip("/")) + "/" if prefix.strip("/") else ""
        self._sse: dict[str, str] = {"ServerSideEncryption": sse}
        if kms_key_id:
            self._sse["SSEKMSKeyId"] = kms_key_id

    def _key(self, key: str) -> str:
        return self.prefix + check_key(key)

    def put_file(self, key: str, path: Path) -> None:
        # upload_file switches to multipart for large files; ExtraArgs reach every part's request.
        self.client.upload_file(str(path), self.bucket, self._key(key), ExtraArgs=dict(self._sse))

    def put_bytes(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data, **self._sse)

    def get_bytes(self, key: str) -> bytes | None:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()
        except self.client.exceptions.NoSuchKey:
            return None

    def list(self, prefix: str) -> list[str]:
        full = self.prefix + (check_key(prefix.rstrip("/")) + "/" if prefix.strip("/") else "")
        keys: list[str] = []
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=full):
            keys.extend(obj["Key"][len(self.prefix):] for obj in page.get("Contents", ()))
        return sorted(keys)

    def delete(self, keys: Iterable[str]) -> None:
        full = [self._key(k) for k in keys]
        for i in range(0, len(full), S3_DELETE_BATCH):
            batch = [{"Key": k} for k in full[i:i + S3_DELETE_BATCH]]
            answer = self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})
            if answer.get("Errors"):
                first = answer["Errors"][0]
                raise OSError(f"S3 delete failed for {len(answer['Errors'])} key(s), first "
                              f"{first.get('Key')!r}: {first.get('Code')}")

    def location(self, key: str = "") -> str:
        return f"s3://{self.bucket}/{self._key(key) if key else self.prefix}"


def store_from_url(url: str, s3_client_factory: Callable[[], Any] | None = None, *,
                   sse: str = "AES256", kms_key_id: str | None = None) -> ExtractStore:
    """The store for an extracts URL: `s3://bucket/prefix` (the client comes from
    `s3_client_factory`, called only for S3), `file:///path`, or a plain local path."""
    parts = urlsplit(url)
    if parts.scheme == "s3":
        if parts.username or parts.password or parts.query or parts.fragment:
            # Never carry credentials or options in the URL: they would end up in logs and metadata.
            raise ValueError("the extracts URL must be s3://bucket/prefix, without credentials or query")
        if not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", parts.hostname or ""):
            raise ValueError(f"{url!r}: not a valid S3 bucket name")
        if s3_client_factory is None:
            raise ValueError("an s3:// extracts URL needs an S3 client factory")
        return S3Store(s3_client_factory(), parts.hostname, parts.path, sse=sse, kms_key_id=kms_key_id)
    if parts.scheme == "file":
        return LocalStore(parts.path)
    if parts.scheme and len(parts.scheme) > 1:  # one letter: a Windows drive, still a path
        raise ValueError(f"unsupported extracts URL scheme {parts.scheme!r} (use s3:// or a folder)")
    return LocalStore(url)
