"""A sandbox org in its own process, so it never shares the GIL with the pipeline under test.

Started by `SandboxProcess`; prints one JSON line {"url", "token"} and then answers one-line
commands on stdin with one JSON line on stdout:
  stats | reset | rate <bucket> <n> | append <n> | quit
"""

from __future__ import annotations

import json
import sys
from datetime import datetime


def main() -> None:
    from oktually_pipeline.sandbox import Sandbox, SandboxConfig

    cfg = json.loads(sys.argv[1])
    if cfg.get("now"):
        cfg["now"] = datetime.fromisoformat(cfg["now"])
    if "tokens" in cfg:
        cfg["tokens"] = tuple(cfg["tokens"])
    sb = Sandbox(SandboxConfig(**cfg))
    sb.start()
    print(json.dumps({"url": sb.url, "token": sb.token}), flush=True)
    for line in sys.stdin:
        cmd, *args = line.split()
        if cmd == "stats":
            s = sb.stats
            out = {"total": s.total, "429": s.requests_429, "by_status": {str(k): v for k, v in s.by_status.items()},
                   "by_template": dict(s.by_template)}
        elif cmd == "reset":
            sb.stats.reset()
            out = {"ok": True}
        elif cmd == "rate":
            sb.rate_limits.set(args[0], int(args[1]))
            out = {"ok": True}
        elif cmd == "append":
            sb.events.append(int(args[0]))
            out = {"ok": True}
        elif cmd == "quit":
            break
        else:
            out = {"error": cmd}
        print(json.dumps(out), flush=True)
    sb.stop()


if __name__ == "__main__":
    main()
