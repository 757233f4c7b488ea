"""Benchmark 6: Airbyte's Okta source (`airbyte-source-okta`) against the same sandbox, on the same work.

One sandbox org (its own process), two tools, the same work: every System Log event since the start
date and every user.

* Airbyte: the PyPI connector in its own venv (`bench/.venv-airbyte`, installed here when missing),
  `source-okta read` of the `logs` and `users` streams (full_refresh), its records counted off its
  stdout and thrown away: no destination, so it is measured doing less than we do.
* Oktually: the real `pull_polling` (System Log) and `load_state(USERS)` into a fresh Postgres
  database, in one child process.

The connector builds every URL as `https://{domain}.okta.com` (manifest.yaml, `url_base`), so it
cannot be given `http://127.0.0.1:<port>`. It runs unmodified with `domain: sandbox`; the bench
answers for `sandbox.okta.com` with a small TLS-terminating forward proxy (`HTTPS_PROXY`, a
throwaway certificate in `REQUESTS_CA_BUNDLE`; no root, no /etc/hosts) that relays to the sandbox.
Its cost is measured: the same page loop direct (HTTP) and through it (HTTPS), and its own CPU.

Each tool runs in a fresh child process: wall time, CPU seconds and peak RSS are its own; the
sandbox counts the API requests each one made.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from bench.common import (
    ROOT,
    CommandProcess,
    Figure,
    SandboxProcess,
    Section,
    bench_db,
    cpu_now,
    median,
    peak_rss_mb,
    run_child,
)

TENANT = "bench"
PACKAGE = "airbyte-source-okta"
VENV_NAME = "bench/.venv-airbyte"
VENV = ROOT / VENV_NAME
INSTALL_NOTE = VENV / "bench-install.json"
DOMAIN = "sandbox"  # the connector's `domain`: it asks for https://sandbox.okta.com
HOST = f"{DOMAIN}.okta.com"
DAYS = 7
# Users' lastUpdated in the sandbox reach back ~19 days; Airbyte's users stream filters on
# `lastUpdated gt start_date`, so the start date must come before all of them for the same work.
LOOKBACK = timedelta(days=30)
# Page sizes each tool asks for (Airbyte: manifest.yaml `page_size: 200` for every stream;
# Oktually: 1000 for the System Log, 200 for users). The proxy-cost loop uses Airbyte's.
AIRBYTE_PAGE = 200


# -- the Airbyte venv ------------------------------------------------------------------------


def _venv_python() -> Path:
    return VENV / "bin" / "python"


def ensure_airbyte() -> dict[str, Any]:
    """Install the connector into its own venv when missing; report version and install time."""
    info: dict[str, Any] = {}
    if not (VENV / "bin" / "source-okta").exists():
        base = shutil.which("python3.11") or shutil.which("python3") or "python3"
        t0 = time.perf_counter()
        try:
            subprocess.run([base, "-m", "venv", str(VENV)], check=True, capture_output=True, text=True, timeout=300)
            # Newest release whose Requires-Python this interpreter meets: pip's own choice.
            subprocess.run([str(VENV / "bin" / "pip"), "install", "--quiet", PACKAGE], check=True,
                           capture_output=True, text=True, timeout=1800)
        except (OSError, subprocess.SubprocessError) as exc:
            err = getattr(exc, "stderr", "") or str(exc)
            return {"error": f"installing {PACKAGE} into {VENV_NAME} failed: {err[-1500:]}"}
        note = {"install_s": round(time.perf_counter() - t0, 1), "python": base,
                "at": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}
        INSTALL_NOTE.write_text(json.dumps(note))
        info["installed_now"] = True
    with contextlib.suppress(OSError, ValueError):
        info.update(json.loads(INSTALL_NOTE.read_text()))
    probe = ("import importlib.metadata as m, platform; "
             f"print(m.version('{PACKAGE}'), m.version('airbyte-cdk'), platform.python_version())")
    out = subprocess.run([str(_venv_python()), "-c", probe], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        return {**info, "error": f"{VENV_NAME} is broken: {out.stderr[-800:]}"}
    info["version"], info["cdk"], info["venv_python"] = out.stdout.split()
    return info


# -- the TLS-terminating forward proxy (its own process) -------------------------------------


def make_cert(directory: Path) -> tuple[Path, Path]:
    """A throwaway self-signed certificate for HOST; the Airbyte process trusts only it."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)])
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(hours=1)).not_valid_after(now + timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(HOST)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "sandbox.pem", directory / "sandbox.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def child_proxy(sandbox_url: str, cert: str, key: str) -> None:
    """Answer `CONNECT sandbox.okta.com:443`, terminate TLS, relay each request to the sandbox.

    Two adaptations, both to make the sandbox answer as Okta does, never to change the connector:
    * The sandbox writes its own http://127.0.0.1:<port> into Link headers; Okta writes the org's
      https URL. They are rewritten, so the connector follows `next` back through this proxy.
    * The connector sends `since` again on every page, next to the `after` of Okta's next link.
      The sandbox refuses the pair (400 E0000001, "mutually exclusive"); Okta does not (its own
      next links carry both). Unless told `strict on`, `since` is dropped when `after` is there.
    Prints {"port"}, then answers `stats` and `strict on|off` on stdin until stdin closes.
    """
    import http.client
    import ssl
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from urllib.parse import parse_qsl, urlencode, urlsplit

    upstream = urlsplit(sandbox_url)
    public = f"https://{HOST}".encode()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    local = threading.local()
    lock = threading.Lock()
    state = {"requests": 0, "since_dropped": 0, "strict": False}

    def sandbox_conn() -> http.client.HTTPConnection:
        if getattr(local, "conn", None) is None:
            local.conn = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=120)
        return local.conn

    def upstream_path(path: str) -> str:
        parts = urlsplit(path)
        query = parse_qsl(parts.query, keep_blank_values=True)
        keys = {k for k, _ in query}
        if parts.path == "/api/v1/logs" and {"since", "after"} <= keys and not state["strict"]:
            with lock:
                state["since_dropped"] += 1
            return parts.path + "?" + urlencode([(k, v) for k, v in query if k != "since"])
        return path

    class Inner(BaseHTTPRequestHandler):
        """The decrypted side of one tunnel: keep-alive GETs, relayed over one upstream connection."""

        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            with lock:
                state["requests"] += 1
            headers = {k: v for k, v in self.headers.items() if k.lower() not in {"host", "connection", "proxy-connection"}}
            path = upstream_path(self.path)
            conn = sandbox_conn()
            try:
                conn.request("GET", path, headers=headers)
                resp = conn.getresponse()
            except (OSError, http.client.HTTPException):
                conn.close()  # a stale keep-alive connection: retry once on a fresh one
                local.conn = None
                conn = sandbox_conn()
                conn.request("GET", path, headers=headers)
                resp = conn.getresponse()
            body = resp.read()
            self.send_response(resp.status, resp.reason)
            for k, v in resp.getheaders():
                if k.lower() in {"content-length", "connection", "transfer-encoding", "server", "date"}:
                    continue
                if k.lower() == "link":
                    v = v.encode().replace(sandbox_url.encode(), public).decode()
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    class Tunnel(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, *args: Any) -> None:
            pass

        def do_CONNECT(self) -> None:
            if self.path.rsplit(":", 1)[0] != HOST:
                self.send_error(403, "this proxy only answers for " + HOST)
                return
            self.send_response(200, "Connection established")
            self.end_headers()
            # The client sends its ClientHello only after the 200, so nothing sits in rfile.
            tls = ctx.wrap_socket(self.connection, server_side=True)
            Inner(tls, self.client_address, self.server)
            self.close_connection = True

    server = ThreadingHTTPServer(("127.0.0.1", 0), Tunnel)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(json.dumps({"port": server.server_address[1]}), flush=True)
    for line in sys.stdin:  # until the parent closes our stdin
        cmd, *args = line.split()
        if cmd == "strict":
            state["strict"] = args[0] == "on"
        with lock:
            print(json.dumps(state), flush=True)
            state["requests"] = state["since_dropped"] = 0
    server.shutdown()


class ProxyProcess(CommandProcess):
    """`child_proxy` in a process of its own, so its CPU is counted apart from both tools.

    Commands: `stats` (requests relayed and `since` dropped since the last command), `strict on|off`.
    """

    def __init__(self, sandbox_url: str, cert: Path, key: Path) -> None:
        super().__init__(["-m", "bench.airbyte", "proxy", sandbox_url, str(cert), str(key)], "proxy")
        self.url = f"http://127.0.0.1:{self.hello['port']}"


# -- child: the proxy's cost -----------------------------------------------------------------


def child_pages(base: str, token: str, since: str, proxy: str, ca: str) -> dict:
    """Every System Log page at Airbyte's page size with `requests` (Airbyte's HTTP library), either
    straight to the sandbox or through the proxy; the difference is what the proxy costs."""
    import requests

    session = requests.Session()
    session.trust_env = False
    if proxy:
        session.proxies = {"https": proxy}
        session.verify = ca
    session.headers.update({"Authorization": f"SSWS {token}", "Accept": "application/json"})
    t0, c0 = time.perf_counter(), cpu_now()
    pages = events = 0
    url = f"{base}/api/v1/logs"
    params: dict | None = {"since": since, "limit": AIRBYTE_PAGE}
    while url:
        r = session.get(url, params=params, timeout=120)
        r.raise_for_status()
        params = None
        pages += 1
        n = r.content.count(b'"uuid":')  # the sandbox writes one "uuid" key per event
        events += n
        if n < AIRBYTE_PAGE:
            break
        url = r.links.get("next", {}).get("url")
    return {"wall": time.perf_counter() - t0, "cpu": cpu_now() - c0, "pages": pages, "events": events}


# -- child: Airbyte --------------------------------------------------------------------------


def _catalog() -> dict:
    def stream(name: str, cursor: str) -> dict:
        return {"stream": {"name": name, "json_schema": {}, "supported_sync_modes": ["full_refresh", "incremental"],
                           "source_defined_cursor": True, "default_cursor_field": [cursor]},
                "sync_mode": "full_refresh", "destination_sync_mode": "overwrite"}

    return {"streams": [stream("logs", "published"), stream("users", "lastUpdated")]}


def child_airbyte(token: str, start_date: str, proxy: str, ca: str, workdir: str) -> dict:
    """`source-okta read`; count RECORD lines per stream off its stdout, keep nothing.

    Run inside a wrapper process so RUSAGE_CHILDREN gives the connector's own CPU and peak RSS.
    """
    wd = Path(workdir)
    (wd / "config.json").write_text(json.dumps({
        "domain": DOMAIN, "start_date": start_date,
        "credentials": {"auth_type": "api_token", "api_token": token}}))
    (wd / "catalog.json").write_text(json.dumps(_catalog()))
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env.update(HTTPS_PROXY=proxy, REQUESTS_CA_BUNDLE=ca, PYTHONUNBUFFERED="1")
    cmd = [str(VENV / "bin" / "source-okta"), "read", "--config", str(wd / "config.json"),
           "--catalog", str(wd / "catalog.json")]
    counts: dict[str, int] = {}
    other: dict[str, int] = {}
    problems: list[str] = []
    t0 = time.perf_counter()
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=wd) as proc:
        err: list[bytes] = []
        drain = threading.Thread(target=lambda: err.append(proc.stderr.read()), daemon=True)
        drain.start()
        for line in proc.stdout:
            # A RECORD line starts {"type":"RECORD","record":{"stream":"<name>",...: no JSON decoding.
            if line.startswith(b'{"type":"RECORD"'):
                at = line.find(b'"stream":"', 0, 120) + 10
                name = line[at:line.index(b'"', at)].decode()
                counts[name] = counts.get(name, 0) + 1
                continue
            msg = json.loads(line)
            kind = msg.get("type", "?")
            other[kind] = other.get(kind, 0) + 1
            if kind == "TRACE" and msg["trace"].get("type") == "ERROR":
                problems.append(msg["trace"]["error"].get("message", "")[:500])
            elif kind == "LOG" and msg["log"].get("level") in {"ERROR", "WARN", "FATAL"}:
                problems.append(f"{msg['log']['level']}: {msg['log']['message'][:300]}")
        proc.wait()
        drain.join()
    wall = time.perf_counter() - t0
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"wall": wall, "cpu": ru.ru_utime + ru.ru_stime, "rss_mb": ru.ru_maxrss / 1024,
            "returncode": proc.returncode, "records": counts, "messages": other, "problems": problems[:20],
            "stderr": b"".join(err).decode(errors="replace")[-1500:]}


# -- child: Oktually -------------------------------------------------------------------------


def child_oktually(url: str, token: str, start_iso: str, db_url: str) -> dict:
    """The real System Log pull, then the real users load (the USERS endpoint only), one client."""
    from oktually_pipeline.ingest.log_events import pull_polling
    from oktually_pipeline.ingest.state import load_state
    from oktually_pipeline.okta.auth import Secret, SswsAuth
    from oktually_pipeline.okta.client import OktaClient
    from oktually_pipeline.okta.endpoints import USERS
    from oktually_pipeline.warehouse.engine import create_engine
    from oktually_pipeline.warehouse.schema import ensure_tenant_schema

    engine = create_engine(db_url)
    ensure_tenant_schema(engine, TENANT)
    t0, c0 = time.perf_counter(), cpu_now()
    with OktaClient(url, SswsAuth(Secret(token)), tenant_id=TENANT) as client:
        logs = pull_polling(client, engine, TENANT, start=datetime.fromisoformat(start_iso))
        t_logs = time.perf_counter() - t0
        users = load_state(client, engine, TENANT, USERS)
        calls = client.requests_sent
    wall, cpu = time.perf_counter() - t0, cpu_now() - c0
    with engine.connect() as conn:
        stored = {t: conn.exec_driver_sql(f"SELECT count(*) FROM okta_{TENANT}.{t}").scalar()
                  for t in ("log_events", "users")}
    engine.dispose()
    return {"wall": wall, "cpu": cpu, "rss_mb": peak_rss_mb(), "logs_wall": t_logs, "api_calls": calls,
            "records": {"logs": logs.fetched, "users": users.fetched}, "stored": stored,
            "users_mode": users.mode}


# -- the section -----------------------------------------------------------------------------


def _requests(sb: SandboxProcess) -> dict[str, int]:
    """API requests the sandbox answered since the last reset, by endpoint; then reset."""
    s = sb.cmd("stats")
    sb.cmd("reset")
    return {"total": s["total"], **s["by_template"],
            "non_200": sum(v for k, v in s["by_status"].items() if k != "200")}


def _startup() -> float:
    """Wall time of `source-okta spec`: the connector's process start, included in its read."""
    t0 = time.perf_counter()
    subprocess.run([str(VENV / "bin" / "source-okta"), "spec"], capture_output=True, check=True)
    return time.perf_counter() - t0


def _oktually(sb: SandboxProcess, start: datetime) -> dict:
    with bench_db("airbyte") as db:
        out = run_child("bench.airbyte", "oktually", sb.url, sb.token, start.isoformat(), db)
    out["requests"] = _requests(sb)
    return out


def _airbyte(sb: SandboxProcess, proxy: ProxyProcess, start_date: str, cert: Path, tmp: str) -> dict:
    p0 = proxy.cpu_seconds()
    out = run_child("bench.airbyte", "airbyte", sb.token, start_date, proxy.url, str(cert), tmp)
    out["proxy_cpu"] = proxy.cpu_seconds() - p0
    out["proxy"] = proxy.cmd("stats")
    out["requests"] = _requests(sb)
    return out


def measure(events: int, users: int, repeats: int) -> dict:
    now = datetime.now(timezone.utc).replace(microsecond=0)
    start = now - LOOKBACK
    start_date = start.strftime("%Y-%m-%dT%H:%M:%SZ")  # the connector's spec pattern
    runs: dict[str, list] = {"airbyte": [], "oktually": []}
    with tempfile.TemporaryDirectory(prefix="bench-airbyte-") as tmp, \
            SandboxProcess(seed=7, tenants=4, users=users, events=events, days=DAYS, now=now) as sb:
        cert, key = make_cert(Path(tmp))
        with ProxyProcess(sb.url, cert, key) as proxy:
            sb.cmd("reset")
            for i in range(repeats):
                # Alternate which tool goes first, so neither always gets the quieter machine.
                pair = [("oktually", lambda: _oktually(sb, start)),
                        ("airbyte", lambda: _airbyte(sb, proxy, start_date, cert, tmp))]
                for name, fn in pair[::-1] if i % 2 else pair:
                    runs[name].append(fn())
            # The connector as the sandbox answers it unadapted: `since` left next to `after`.
            proxy.cmd("strict on")
            strict = _airbyte(sb, proxy, start_date, cert, tmp)
            proxy.cmd("strict off")
            # The proxy's cost: the same page loop direct over HTTP and through it over HTTPS.
            direct = run_child("bench.airbyte", "pages", sb.url, sb.token, start_date, "", "")
            p0 = proxy.cpu_seconds()
            proxied = run_child("bench.airbyte", "pages", f"https://{HOST}", sb.token, start_date, proxy.url, str(cert))
            proxied["proxy_cpu"] = proxy.cpu_seconds() - p0
            sb.cmd("reset")
    return {"events": events, "users": users, "start_date": start_date, "repeats": repeats, "runs": runs,
            "strict": strict, "direct": direct, "proxied": proxied, "startup_s": _startup()}


def _unavailable(info: dict) -> Section:
    return Section("6. Against Airbyte's Okta source", raw={"install": info}, text=(
        f"Not measured: `{PACKAGE}` could not be installed into its own venv (`bench/.venv-airbyte`, "
        "git-ignored; never into `.venv`), so there was nothing to run against the sandbox. "
        "The section installs it with pip when the venv is missing; this run's attempt failed:\n\n"
        f"```\n{info['error']}\n```"))


def run(quick: bool) -> Section:
    info = ensure_airbyte()
    if "error" in info:
        return _unavailable(info)
    events, users, repeats = (20_000, 2_000, 1) if quick else (200_000, 10_000, 2)
    m = measure(events, users, repeats)
    m["install"] = info
    return _section(m, info)


def _med(runs: list[dict], key: str) -> float:
    return median([r[key] for r in runs])


def _section(m: dict, info: dict) -> Section:
    ab, ok = m["runs"]["airbyte"], m["runs"]["oktually"]
    a_wall, o_wall = _med(ab, "wall"), _med(ok, "wall")
    a_cpu, o_cpu = _med(ab, "cpu"), _med(ok, "cpu")
    a_req, o_req = ab[0]["requests"]["total"], ok[0]["requests"]["total"]
    a_rec, o_rec = ab[0]["records"], ok[0]["records"]
    direct, proxied = m["direct"], m["proxied"]
    tag = f"{m['events']:,} events + {m['users']:,} users"
    sec = Section(f"6. Against Airbyte's Okta source (`{PACKAGE}` {info['version']})", raw=m)
    sec.figures = [
        Figure(f"{tag}: records read, Airbyte / Oktually",
               f"logs {a_rec.get('logs', 0):,} / {o_rec['logs']:,}; users {a_rec.get('users', 0):,} / {o_rec['users']:,}",
               note=f"Airbyte unadapted (sandbox refuses `since`+`after`): logs {m['strict']['records'].get('logs', 0):,}"),
        Figure(f"{tag}: wall time Airbyte / Oktually", f"{a_wall / o_wall:.1f}× ({a_wall:.1f} s / {o_wall:.1f} s)",
               note="Airbyte writes nowhere (its stdout is counted and dropped); Oktually writes to Postgres"),
        Figure(f"{tag}: API requests Airbyte / Oktually",
               f"{a_req / o_req:.1f}× ({a_req:,} / {o_req:,})", note="Airbyte pages the System Log 200 at a time, Oktually 1000"),
        Figure(f"{tag}: CPU seconds Airbyte / Oktually", f"{a_cpu / o_cpu:.1f}× ({a_cpu:.1f} s / {o_cpu:.1f} s)"),
        Figure(f"{tag}: peak RSS Airbyte / Oktually",
               f"{max(r['rss_mb'] for r in ab):.0f} MB / {max(r['rss_mb'] for r in ok):.0f} MB"),
        Figure("TLS proxy cost (same page loop via proxy vs direct)",
               f"+{proxied['wall'] - direct['wall']:.2f} s ({proxied['wall']:.2f} s vs {direct['wall']:.2f} s, "
               f"{direct['pages']:,} pages); proxy CPU {_med(ab, 'proxy_cpu'):.1f} s during Airbyte's read"),
    ]
    sec.text = _text(m, info)
    return sec


def _install_note(info: dict) -> str:
    if info.get("installed_now"):
        return f"installed by this run in {info['install_s']:.0f} s (not part of any figure)"
    if "install_s" in info:
        return f"installed by an earlier run ({info['at']}) in {info['install_s']:.0f} s"
    return "installed before this run"


def _intro(m: dict, info: dict) -> str:
    return (
        f"`{PACKAGE}` {info['version']} (airbyte-cdk {info['cdk']}, Python {info['venv_python']}), the newest "
        f"release on PyPI when installed, in its own venv `bench/.venv-airbyte` (git-ignored; never `.venv`), "
        f"{_install_note(info)}. Org: seed 7, {m['events']:,} System Log events over {DAYS} days, {m['users']:,} "
        f"users; both tools start from {m['start_date']} (30 days back: the connector filters users on "
        "`lastUpdated gt start_date`, and the sandbox's users were last updated up to ~19 days ago). "
        f"{m['repeats']} run(s) of each tool, alternating which goes first; medians in the summary."
    )


# Where the connector fixes its URL; line numbers are those of 0.3.26, the release measured.
POINTING = (
    "**How it was pointed at the sandbox.** It cannot be given `http://127.0.0.1:<port>`: every stream's "
    "`url_base` in the connector's `source_okta/manifest.yaml` is `https://{{ config['domain'] }}.okta.com` "
    "(0.3.26: lines 66, 160, 472, 573, 887, 1034, 1427, 1552, 1699; the OAuth token URL likewise, line 12 and "
    "`components.py` lines 94, 102), and the legacy `base_url` setting is cut down to its first label "
    "(`config_migration.py`: `config[\"base_url\"].split(\"https://\")[1].split(\".\")[0]`). A `domain` such as "
    "`127.0.0.1:<port>/x#` would smuggle a port in, but the scheme stays `https` and the sandbox speaks HTTP "
    "only. So the connector runs unmodified (`source-okta read`, `domain: sandbox`, `auth_type: api_token` with "
    "the sandbox's token), asking for `https://sandbox.okta.com`; its process gets `HTTPS_PROXY` pointing at a "
    "small forward proxy in `bench/airbyte.py` (`child_proxy`, a process of its own) and `REQUESTS_CA_BUNDLE` "
    "holding a throwaway self-signed certificate for `sandbox.okta.com` (the CDK merges both from the "
    "environment, `merge_environment_settings` in `airbyte_cdk/sources/streams/http/http_client.py`). The proxy "
    "answers `CONNECT sandbox.okta.com:443`, terminates TLS and relays each request to the sandbox over HTTP. "
    "No root, no /etc/hosts, no change to the connector or the CDK."
)


def _adaptations(m: dict) -> str:
    strict, first = m["strict"], m["runs"]["airbyte"][0]
    return (
        "The proxy also makes two changes on the sandbox's side of the conversation:\n\n"
        "1. `Link` headers: the sandbox writes its own `http://127.0.0.1:<port>` into them, Okta writes the org's "
        "`https://` URL; they are rewritten, so the connector follows `next` back through the proxy.\n"
        "2. `since` next to `after`. The `logs` stream sends `since` on every request (manifest line 1038), and the "
        "CDK adds it to Okta's next link, which already carries `after`. The sandbox answers that pair "
        "400 E0000001 \"since and after are mutually exclusive\", as Okta's System Log reference states; yet the "
        "same reference's example next link carries both `after` and `since`, so whether a real org refuses it is "
        "not settled here. The connector ignores exactly that error on `logs` (lines 1049-1056: "
        "`action: IGNORE`, `errorCode == 'E0000001'`, `http_codes: [400]`), so unadapted its logs stream ends "
        f"after its first page, without an error: **{strict['records'].get('logs', 0):,} of {m['events']:,} "
        f"events, exit code {strict['returncode']}** (the `unadapted` row). For the comparison the proxy drops "
        f"`since` from a logs request that also has `after` ({first['proxy']['since_dropped']:,} requests in a run)."
    )


def _row(run: str, tool: str, r: dict, extra: str = "") -> str:
    q = r["requests"]
    return (f"| {run} | {tool} | {r['records'].get('logs', 0):,} | {r['records'].get('users', 0):,} | "
            f"{r['wall']:.1f} | {r['cpu']:.1f} | {r['rss_mb']:.0f} | "
            f"{q['total']:,} ({q.get('/api/v1/logs', 0):,} + {q.get('/api/v1/users', 0):,}){extra} |")


def _table(m: dict) -> str:
    rows = ["| run | tool | logs read | users read | wall s | CPU s | peak RSS MB | requests (logs + users) |",
            "|---|---|---|---|---|---|---|---|"]
    for i, (a, o) in enumerate(zip(m["runs"]["airbyte"], m["runs"]["oktually"]), 1):
        rows += [_row(str(i), "Airbyte", a), _row(str(i), "Oktually", o)]
    s = m["strict"]
    rows.append(_row("unadapted", "Airbyte", s, f"; {s['requests']['non_200']} answered 400; exit code {s['returncode']}"))
    return "\n".join(rows)


def _notes(m: dict) -> str:
    ab, ok = m["runs"]["airbyte"], m["runs"]["oktually"]
    logs_a, logs_o = ab[0]["requests"].get("/api/v1/logs", 0), ok[0]["requests"].get("/api/v1/logs", 0)
    # The page loop makes the connector's System Log requests; what the proxy adds to it, it adds to Airbyte.
    extra = max(m["proxied"]["wall"] - m["direct"]["wall"], 0.0)
    return (
        "The work is not quite equal, in the connector's favour: its records go to stdout as JSON lines, which "
        "the bench counts and drops (no destination, no database), while Oktually COPYs into Postgres, upserts "
        "and advances its marks. Airbyte's wall time includes its process start "
        f"(`source-okta spec` takes {m['startup_s']:.1f} s); Oktually's is timed inside its child after imports "
        "and schema creation. Airbyte's CPU and peak RSS are its process's (`RUSAGE_CHILDREN` of a wrapper); "
        "Oktually's CPU is its own process's, not the Postgres server's. Requests are counted by the sandbox.\n\n"
        "Requests: the connector asks for 200 events a page on every stream (manifest line 41, `page_size: 200`), "
        f"Oktually for 1000 on `/api/v1/logs` (Okta's maximum): {logs_a:,} System Log requests against "
        f"{logs_o:,}. At a Workforce org's 120 System Log requests a minute (§2), that is at least "
        f"{logs_a / 120:.1f} min of rate-limit budget against {logs_o / 120:.1f} min for the same events. "
        "Users cost the same on both sides (200 a page, Okta's maximum).\n\n"
        "Proxy cost: the same `requests` page loop over the System Log at 200 a page, straight to the sandbox "
        f"over HTTP in {m['direct']['wall']:.2f} s and through the proxy over HTTPS in {m['proxied']['wall']:.2f} s "
        f"({m['direct']['pages']:,} pages; the proxy used {m['proxied']['proxy_cpu']:.2f} s CPU): at most "
        f"{extra:.1f} s, {extra / _med(ab, 'wall'):.0%} of Airbyte's median wall time, is the proxy's. During "
        f"Airbyte's reads the proxy used {_med(ab, 'proxy_cpu'):.1f} s CPU, against the connector's "
        f"{_med(ab, 'cpu'):.1f} s."
    )


def _failures(m: dict) -> str:
    """The connector's own complaints in the measured runs (exit code, ERROR traces), if any."""
    bad = [r for r in m["runs"]["airbyte"] if r["returncode"] or any(not p.startswith("WARN") for p in r["problems"])]
    if not bad:
        return ""
    return ("**The connector reported errors in a measured run** (exit code "
            f"{bad[0]['returncode']}):\n\n```\n" + "\n".join(bad[0]["problems"][:5]) + f"\n{bad[0]['stderr'][-800:]}\n```")


def _text(m: dict, info: dict) -> str:
    parts = [_intro(m, info), POINTING, _adaptations(m), _table(m), _failures(m), _notes(m)]
    return "\n\n".join(p for p in parts if p)


if __name__ == "__main__":
    mode, *args = sys.argv[1:]
    if mode == "proxy":
        child_proxy(*args)
    elif mode == "install":
        # `make bench` installs the connector before the suite starts, as it does `.venv`.
        print(json.dumps(ensure_airbyte()))
    else:
        fn = {"airbyte": child_airbyte, "oktually": child_oktually, "pages": child_pages}[mode]
        print(json.dumps(fn(*args)))
