"""Shared plumbing: the machine, a sandbox in its own process, throwaway databases, measurements."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN = os.environ.get("OKTUALLY_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
PY = sys.executable


def machine() -> dict[str, Any]:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    ram = 0
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram = int(line.split()[1]) // 1024
    try:
        with psycopg.connect(PG_ADMIN) as conn:
            pg = conn.execute("SHOW server_version").fetchone()[0]
    except psycopg.Error:
        pg = "unavailable"
    load = os.getloadavg()
    return {"cpu": cpu, "cores": os.cpu_count(), "ram_mb": ram, "python": platform.python_version(),
            "postgres": pg, "os": platform.platform(), "load_at_start": [round(x, 2) for x in load]}


# -- sandbox in its own process ---------------------------------------------------------------


class CommandProcess:
    """A bench child that prints one JSON line when ready, then answers each command line on
    stdin with one JSON line, and stops when its stdin closes. Its CPU is counted apart from ours."""

    def __init__(self, argv: list[str], what: str) -> None:
        self.proc = subprocess.Popen([PY, *argv], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, bufsize=1)
        first = self.proc.stdout.readline()
        if not first:
            raise RuntimeError(f"{what} process did not start (exit code {self.proc.wait()})")
        self.hello: dict[str, Any] = json.loads(first)

    def cmd(self, line: str) -> dict[str, Any]:
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def cpu_seconds(self) -> float:
        import psutil

        t = psutil.Process(self.proc.pid).cpu_times()
        return t.user + t.system

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SandboxProcess(CommandProcess):
    """`bench.sandbox_proc` in a child process; `.url`, `.token`, `.cmd("stats")`."""

    def __init__(self, **config: Any) -> None:
        if hasattr(config.get("now"), "isoformat"):
            config["now"] = config["now"].isoformat()
        super().__init__(["-m", "bench.sandbox_proc", json.dumps(config)], "sandbox")
        self.url, self.token = self.hello["url"], self.hello["token"]


# -- databases -------------------------------------------------------------------------------


@contextlib.contextmanager
def bench_db(tag: str) -> Iterator[str]:
    name = f"bench_{tag}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# -- measuring -------------------------------------------------------------------------------


def cpu_now() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def postgres_cpu_seconds() -> float | None:
    """CPU used so far by the local Postgres server's processes, exited backends included (the
    postmaster collects theirs); None when no server runs on this machine."""
    import psutil

    total, found = 0.0, False
    for proc in psutil.process_iter(["name"]):
        if proc.info["name"] in {"postgres", "postmaster"}:
            with contextlib.suppress(psutil.Error):
                t = proc.cpu_times()
                total += t.user + t.system + t.children_user + t.children_system
                found = True
    return total if found else None


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_child(module: str, *args: str, timeout: float = 1800) -> dict[str, Any]:
    """Run `python -m module args...` in a fresh process (clean peak RSS); it prints one JSON line last."""
    out = subprocess.run([PY, "-m", module, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"{module} {' '.join(args)} failed:\n{out.stderr[-4000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


@dataclass
class Figure:
    """One reported figure, against its goal."""

    name: str
    value: str
    goal: str = ""
    met: bool | None = None
    note: str = ""


@dataclass
class Section:
    title: str
    figures: list[Figure] = field(default_factory=list)
    text: str = ""
    raw: dict[str, Any] = field(default_factory=dict)
