"""`oktually sandbox`: serve one sandbox org until interrupted."""

from __future__ import annotations

import signal
import threading

from oktually_pipeline.sandbox import Sandbox, SandboxConfig


def serve_forever(config: SandboxConfig, host: str = "127.0.0.1", port: int = 8010) -> None:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    sandbox = Sandbox(config)
    url = sandbox.start(host, port)
    print(f"Okta sandbox org (seed {config.seed}, {config.tenants} tenants, {config.users} users, "
          f"{config.events} events) at {url}", flush=True)
    print(f"SSWS token: {sandbox.token}   (sandbox only; stop with Ctrl-C)", flush=True)
    try:
        stop.wait()
    finally:
        sandbox.stop()
