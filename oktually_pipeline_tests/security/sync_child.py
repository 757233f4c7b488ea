"""Runs tenants through Dagster in a process of its own, logging everything at DEBUG to stderr, so a
test can search every byte the run wrote: `python -m ... acme:sync globex:backfill` (a full sync:
System Log, state, models, extract; or a re-read of yesterday and today's System Log)."""

from __future__ import annotations

import logging
import sys
from datetime import timedelta


def main(tenants: list[str]) -> int:
    logging.basicConfig(level=logging.DEBUG, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from oktually_pipeline.partitions import today_utc
    from oktually_pipeline.runs import backfill_tenant, sync_tenant

    failed = 0
    for spec in tenants:
        tenant, _, how = spec.partition(":")
        today = today_utc()
        outcomes = (backfill_tenant(tenant, today - timedelta(days=1), today) if how == "backfill"
                    else sync_tenant(tenant, days=2))
        for outcome in outcomes:
            print(f"{tenant} {outcome.job} {'ok' if outcome.success else 'FAILED: ' + (outcome.error or '')}",
                  flush=True)
            failed += not outcome.success
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
