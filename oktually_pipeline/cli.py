"""`oktually`: sync a tenant, backfill its System Log, serve the sandbox, run the demo or the dev UI."""

from __future__ import annotations

import argparse
import logging
import sys
import warnings
from datetime import date

from oktually_pipeline.tenants import TenantConfigError


def _print_outcomes(outcomes) -> int:
    failed = [o for o in outcomes if not o.success]
    for o in outcomes:
        status = "ok" if o.success else "FAILED"
        print(f"  {o.job} [{o.partition}] run {o.run_id}: {status}" + (f"\n    {o.error}" if o.error else ""))
    return 1 if failed else 0


def cmd_sync(args: argparse.Namespace) -> int:
    from oktually_pipeline.runs import sync_tenant

    print(f"Syncing tenant {args.tenant} through Dagster ...")
    return _print_outcomes(sync_tenant(args.tenant, days=args.days))


def cmd_backfill(args: argparse.Namespace) -> int:
    from oktually_pipeline.runs import backfill_tenant

    print(f"Backfilling the System Log of {args.tenant} from {args.start} to {args.end} ...")
    return _print_outcomes(backfill_tenant(args.tenant, args.start, args.end, days_per_run=args.days_per_run))


def cmd_sandbox(args: argparse.Namespace) -> int:
    from oktually_pipeline.sandbox import SandboxConfig
    from oktually_pipeline.sandbox.serve import serve_forever

    config = SandboxConfig(seed=args.seed, tenants=args.tenants, users=args.users, events=args.events,
                           days=args.days)
    serve_forever(config, host=args.host, port=args.port)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from oktually_pipeline.demo import run_demo

    return run_demo(events=args.events, users=args.users)


def cmd_dev(args: argparse.Namespace) -> int:
    from oktually_pipeline.dev import run_dev

    return run_dev(host=args.host, port=args.port, events=args.events, users=args.users)


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date (YYYY-MM-DD)") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="oktually", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("sync", help="materialise all of a tenant's assets now, through Dagster")
    p.add_argument("--tenant", required=True)
    p.add_argument("--days", type=int, default=1, help="System Log history for a tenant never read before")
    p.set_defaults(func=cmd_sync)

    p = sub.add_parser("backfill", help="re-read a tenant's System Log over a range of days")
    p.add_argument("--tenant", required=True)
    p.add_argument("--start", type=_day, required=True, help="first day, YYYY-MM-DD (UTC)")
    p.add_argument("--end", type=_day, required=True, help="last day, YYYY-MM-DD (UTC), inclusive")
    p.add_argument("--days-per-run", type=int, default=7)
    p.set_defaults(func=cmd_backfill)

    p = sub.add_parser("sandbox", help="serve the Okta sandbox org over HTTP")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8010)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--events", type=int, default=20_000)
    p.add_argument("--users", type=int, default=400)
    p.add_argument("--tenants", type=int, default=6, help="okta-dac customer tenants inside the org")
    p.add_argument("--days", type=int, default=7, help="days of System Log history")
    p.set_defaults(func=cmd_sandbox)

    p = sub.add_parser("demo", help="sandbox + embedded Postgres + every asset, then a summary")
    p.add_argument("--events", type=int, default=20_000)
    p.add_argument("--users", type=int, default=400)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("dev", help="the demo's sandbox orgs + `dagster dev` (UI, daemon), until Ctrl-C")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=3000)
    p.add_argument("--events", type=int, default=20_000)
    p.add_argument("--users", type=int, default=400)
    p.set_defaults(func=cmd_dev)
    return parser


def _quiet_library_warnings() -> None:
    # Beta/preview notices about Dagster APIs we chose on purpose are noise on a terminal.
    import dagster as dg

    for category in (dg.BetaWarning, dg.PreviewWarning):
        warnings.filterwarnings("ignore", category=category)
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    _quiet_library_warnings()
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (TenantConfigError, ValueError) as exc:
        print(f"oktually {args.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
