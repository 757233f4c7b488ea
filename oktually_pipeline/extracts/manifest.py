"""The per-tenant manifest, `tenant=<id>/_manifest.json`: the one object a reader starts from.

It is written last, after every file it names, so following it never meets a half-written
extract. Example (abridged):

```json
{"format_version": 1, "tenant": "acme", "publish_id": "20260315T101500Z-1a2b3c4d",
 "snapshot_time": "2026-03-15T10:15:00.123456+00:00",
 "log_events_mark": "2026-03-15T10:14:58.000000+00:00",
 "tables": {
   "users": {"rows": 120, "partitioning": null,
             "schema": [{"name": "id", "type": "string", "nullable": false, "pg_type": "text"}, ...],
             "files": [{"key": "users/part-20260315T101500Z-1a2b3c4d-00000.parquet",
                        "rows": 120, "bytes": 20480, "date": null}],
             "days": null},
   "log_events": {"partitioning": "date", "days": {"2026-03-14": {"rows": 900, "checksum": "…"}},
                  "files": [{"key": "log_events/date=2026-03-14/part-….parquet", "date": "2026-03-14", ...}], ...}}}
```

File keys are relative to the folder that holds the manifest. `snapshot_time` is the start of the
one REPEATABLE READ transaction every table was read in; `log_events_mark` is the System Log
high-water mark (`ingest_marks.mark` for stream `log_events`) in that same snapshot.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import orjson

from oktually_pipeline.extracts.stores import ExtractStore
from oktually_pipeline.tenants import validate_tenant_id

FORMAT_VERSION = 1
MANIFEST_NAME = "_manifest.json"


class ManifestError(ValueError):
    """A manifest this code cannot read (unknown format version, or not a manifest)."""


@dataclass(frozen=True)
class FileEntry:
    key: str
    rows: int
    bytes: int
    date: str | None = None


@dataclass(frozen=True)
class DayStats:
    """Rows and an order-independent checksum of the uuids of one UTC day of the System Log."""

    rows: int
    checksum: str


@dataclass(frozen=True)
class TableEntry:
    schema: list[dict[str, Any]]
    rows: int
    files: list[FileEntry]
    partitioning: str | None = None
    days: dict[str, DayStats] | None = None


@dataclass(frozen=True)
class Manifest:
    tenant: str
    publish_id: str
    snapshot_time: str
    log_events_mark: str | None
    tables: dict[str, TableEntry] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION

    def file_keys(self) -> set[str]:
        """Every file the manifest names, as store keys (`tenant=<id>/...`)."""
        folder = tenant_folder(self.tenant)
        return {f"{folder}/{f.key}" for t in self.tables.values() for f in t.files}

    def to_json(self) -> bytes:
        return orjson.dumps(asdict(self), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)

    @classmethod
    def from_json(cls, data: bytes) -> Manifest:
        raw = orjson.loads(data)
        if not isinstance(raw, dict) or raw.get("format_version") != FORMAT_VERSION:
            version = raw.get("format_version") if isinstance(raw, dict) else None
            raise ManifestError(f"unsupported extract manifest format version {version!r}")
        tables = {
            name: TableEntry(
                schema=t["schema"],
                rows=t["rows"],
                files=[FileEntry(**f) for f in t["files"]],
                partitioning=t.get("partitioning"),
                days={d: DayStats(**s) for d, s in t["days"].items()} if t.get("days") is not None else None,
            )
            for name, t in raw["tables"].items()
        }
        return cls(raw["tenant"], raw["publish_id"], raw["snapshot_time"], raw.get("log_events_mark"), tables)


def tenant_folder(tenant_id: str) -> str:
    return f"tenant={validate_tenant_id(tenant_id)}"


def manifest_key(tenant_id: str) -> str:
    return f"{tenant_folder(tenant_id)}/{MANIFEST_NAME}"


def read_manifest(store: ExtractStore, tenant_id: str) -> Manifest | None:
    """The tenant's live manifest, or None when nothing was published yet."""
    data = store.get_bytes(manifest_key(tenant_id))
    if data is None:
        return None
    manifest = Manifest.from_json(data)
    if manifest.tenant != tenant_id:
        raise ManifestError(f"{manifest_key(tenant_id)} names tenant {manifest.tenant!r}")
    return manifest
