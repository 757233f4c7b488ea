"""A real pull in its own process, for tests that SIGKILL it (`python -m ... '<json spec>'`).

The spec names the sandbox (url, token), the warehouse (database URL), the tenant, what to pull
(`log`: the System Log by polling; `state`: every state endpoint in order) and where to die:

* `{"point": "fetch", "at": n, "stream": s}`: right after the n-th page of stream `s` (any stream
  when omitted) arrived and parsed, before the rows it holds are committed;
* `{"point": "copy", "at": n, "stream": s}`: inside a COPY, as the n-th row is written to it;
* `{"point": "commit", "at": n, "stream": s}`: right after the n-th committed batch;
* no `kill`: run to the end (the test may kill it after a random delay).

It prints `ready` once everything is imported, just before the pull starts.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from datetime import datetime, timedelta
from typing import Any


def main(argv: list[str]) -> int:
    spec = json.loads(argv[1])
    import psycopg

    from oktually_pipeline.ingest.log_events import pull_polling
    from oktually_pipeline.ingest.state import LoadOptions, load_state
    from oktually_pipeline.okta.auth import Secret, SswsAuth
    from oktually_pipeline.okta.client import OktaClient
    from oktually_pipeline.warehouse.engine import create_engine
    from oktually_pipeline_tests.faults.helpers import (
        LOG_LIMIT,
        endpoints,
        small_batches,
    )

    kill: dict[str, Any] | None = spec.get("kill")
    current = {"stream": "log_events" if spec["what"] == "log" else None}
    counts = {"fetch": 0, "copy": 0, "commit": 0}

    def die() -> None:
        sys.stdout.flush()
        os.kill(os.getpid(), signal.SIGKILL)

    def hit(point: str) -> None:
        if not kill or kill["point"] != point:
            return
        if kill.get("stream") not in (None, current["stream"]):
            return
        counts[point] += 1
        if counts[point] == kill["at"]:
            die()

    real_get_page = OktaClient.get_page

    def get_page(self: OktaClient, *args: Any, **kw: Any) -> Any:
        page = real_get_page(self, *args, **kw)
        hit("fetch")
        return page

    OktaClient.get_page = get_page  # type: ignore[method-assign]
    real_write_row = psycopg.Copy.write_row

    def write_row(self: Any, row: Any) -> None:
        real_write_row(self, row)
        hit("copy")

    psycopg.Copy.write_row = write_row  # type: ignore[method-assign]

    engine = create_engine(spec["database_url"])
    client = OktaClient(spec["url"], SswsAuth(Secret(spec["token"])), tenant_id=spec["tenant"],
                        max_backoff=0.05)
    print("ready", flush=True)
    if spec["what"] == "log":
        pull_polling(client, engine, spec["tenant"], start=datetime.fromisoformat(spec["start"]),
                     limit=LOG_LIMIT, on_page=lambda _r: hit("commit"))
    else:
        options = LoadOptions(events_settle=timedelta(0), workers=2, on_commit=lambda _s, _n: hit("commit"),
                              **small_batches(LoadOptions))
        for ep in endpoints():
            current["stream"] = ep.table
            load_state(client, engine, spec["tenant"], ep, options)
    client.close()
    engine.dispose()
    print("done", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
