"""Reading a published extract the safe way: through its manifest.

```python
from oktually_pipeline.extracts.reader import open_table
events = open_table("/srv/extracts", "acme", "log_events").to_table()        # local folder
import pyarrow.fs as pafs
s3 = pafs.S3FileSystem(region="eu-west-1")
users = open_table("my-bucket/extracts", "acme", "users", filesystem=s3).to_table()
```

Listing a table's folder (`ds.dataset(".../tenant=acme/log_events", partitioning="hive")`) also
works once a publish has finished, but only the manifest excludes files of a publish in progress.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pafs

from oktually_pipeline.extracts.manifest import MANIFEST_NAME, Manifest, tenant_folder

DATE_PARTITIONING = ds.partitioning(pa.schema([("date", pa.date32())]), flavor="hive")


def load_manifest(root: str, tenant_id: str, filesystem: pafs.FileSystem | None = None) -> Manifest:
    """The tenant's manifest under `root` (a folder, or `bucket/prefix` with an S3 filesystem)."""
    fs = filesystem or pafs.LocalFileSystem()
    with fs.open_input_stream(f"{root.rstrip('/')}/{tenant_folder(tenant_id)}/{MANIFEST_NAME}") as f:
        return Manifest.from_json(f.read())


def open_table(root: str, tenant_id: str, table: str, filesystem: pafs.FileSystem | None = None,
               manifest: Manifest | None = None) -> ds.Dataset:
    """A pyarrow dataset of exactly the files the manifest names for `table`.

    The System Log gets a `date` (date32) column from its `date=YYYY-MM-DD` folders.
    """
    fs = filesystem or pafs.LocalFileSystem()
    manifest = manifest or load_manifest(root, tenant_id, fs)
    entry = manifest.tables[table]
    base = f"{root.rstrip('/')}/{tenant_folder(tenant_id)}"
    paths = [f"{base}/{f.key}" for f in entry.files]
    if entry.partitioning:
        return ds.dataset(paths, format="parquet", filesystem=fs, partitioning=DATE_PARTITIONING,
                          partition_base_dir=f"{base}/{table}")
    return ds.dataset(paths, format="parquet", filesystem=fs)
