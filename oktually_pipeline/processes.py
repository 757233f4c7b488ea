"""Child processes that each lead a process group of their own, and stopping such groups.

`dagster dev`, the webserver and the daemon start processes of their own (code servers, run
workers, steps); signalling the group reaches all of them, where signalling the child would
leave its children behind. Used by `oktually dev`, the end-to-end tests and the benchmarks.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx

T = TypeVar("T")


class ProcessExited(RuntimeError):
    """A child that should still be running has exited."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now, for a child server to take."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(check: Callable[[], T], *, timeout: float, what: str, interval: float = 1.0) -> T:
    """Poll `check` until it returns something truthy; TimeoutError naming `what` after `timeout` s.

    Connection errors count as "not yet": the server being waited for may still be starting.
    """
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except (httpx.HTTPError, OSError) as exc:
            last = exc
        else:
            if last:
                return last
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_process_group(proc: subprocess.Popen, *, grace: float = 20.0, term_grace: float = 10.0) -> None:
    """Stop a process started with start_new_session=True and everything it started.

    SIGINT first (what Ctrl-C sends to `dagster dev` in a terminal), then SIGTERM, then SIGKILL,
    each to the group, after `grace` and `term_grace` seconds (or a second Ctrl-C) of waiting.
    """
    _escalate([proc], ((signal.SIGINT, grace), (signal.SIGTERM, term_grace), (signal.SIGKILL, 5.0)))


def _escalate(procs: list[subprocess.Popen], steps: Iterable[tuple[signal.Signals, float]]) -> None:
    """Send each step's signal to every group still alive, all at once, and wait up to its grace
    (a Ctrl-C cuts a wait short) before the next; then reap the leaders."""
    for sig, grace in steps:
        alive = [p for p in procs if group_alive(p.pid)]
        if not alive:
            break
        for proc in alive:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, sig)
        deadline = time.monotonic() + grace
        try:
            while any(group_alive(p.pid) for p in alive) and time.monotonic() < deadline:
                for proc in alive:
                    proc.poll()
                time.sleep(0.2)
        except KeyboardInterrupt:
            continue
    for proc in procs:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)


@dataclass
class Processes:
    """Named children, each the leader of its own process group, with their output in `log_dir`."""

    log_dir: Path
    cwd: Path | None = None
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)

    def start(self, name: str, cmd: list[str], env: Mapping[str, str], cwd: Path | None = None) -> subprocess.Popen:
        # The child writes to its own copy of the descriptor; ours is closed straight away.
        with (self.log_dir / f"{name}.log").open("wb") as log:
            proc = subprocess.Popen(cmd, cwd=cwd or self.cwd, env=dict(env), stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
        self.procs[name] = proc
        return proc

    def log(self, name: str, tail: int = 4000) -> str:
        """The last `tail` characters a child wrote."""
        path = self.log_dir / f"{name}.log"
        return path.read_text(errors="replace")[-tail:] if path.exists() else ""

    def check_alive(self, *, may_exit: Iterable[str] = ()) -> None:
        """Raise ProcessExited, with its output, for the first child that has exited unexpectedly."""
        for name, proc in self.procs.items():
            if proc.poll() is not None and name not in may_exit:
                raise ProcessExited(f"{name} exited with {proc.returncode}:\n{self.log(name)}")

    def stop_all(self) -> None:
        """Stop every group at once: SIGTERM, a short grace, then SIGKILL.

        All together rather than one after another (stop_process_group): dagster-webserver lets
        SIGTERM pass unanswered, and waiting out its grace once is enough.
        """
        _escalate(list(self.procs.values()), ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)))
