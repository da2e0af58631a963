"""Browser end-to-end machinery shared by tests and benchmarks: Debian's chromium (driven by
playwright-core through ``driver.mjs``) loads pages from real host names (Chromium's
host-resolver rules map them to 127.0.0.1) over https with a self-signed certificate, the
snippet comes from the real collector (gunicorn, TLS), and events are read back from the real
Redis Streams event log."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import http.server
import json
import os
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

from bench.harness.engine import Engine, make_engine
from clicktrail import ports
from clicktrail.contract.record import LogRecord
from clicktrail.sites.model import Site
from clicktrail.sites.registry import edit_sites

ROOT = Path(__file__).parents[2]
CHROMIUM = "/usr/bin/chromium"
# example.test is the registrable domain of shop.example.test (no public-suffix entry makes it
# one), so other.example.test shares its cookies; other.test is another site for linking.
HOSTS = ("shop.example.test", "www.shop.example.test", "other.example.test", "other.test")
COLLECTOR_HOST = "collect.example.test"
SITE_PORT = ports.port("test_site")
COLLECTOR_PORT = ports.port("test_collector")
COLLECTOR = f"https://{COLLECTOR_HOST}:{COLLECTOR_PORT}"


def origin(host: str) -> str:
    return f"https://{host}:{SITE_PORT}"


def make_tls(folder: Path) -> tuple[Path, Path, str]:
    """A self-signed certificate for every test host, and its SPKI hash for Chromium."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    names = ",".join(f"DNS:{h}" for h in (*HOSTS, COLLECTOR_HOST))
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
        + ["-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2"]
        + ["-subj", "/CN=clicktrail-test", "-addext", f"subjectAltName={names}"],
        check=True,
        capture_output=True,
    )
    der = subprocess.run(
        ["openssl", "x509", "-in", str(cert), "-pubkey", "-noout"],
        check=True,
        capture_output=True,
    ).stdout
    spki = subprocess.run(
        ["openssl", "pkey", "-pubin", "-outform", "der"], input=der, check=True, capture_output=True
    ).stdout
    return cert, key, base64.b64encode(hashlib.sha256(spki).digest()).decode()


def make_e2e_engine(tmp_path: Path) -> Engine:
    """A fresh Redis Streams log and the test sites, on the test hosts' origins."""
    engine = make_engine(tmp_path, "redis", ack_timeout_ms=2000)
    origins = tuple(origin(h) for h in HOSTS)
    with edit_sites(engine.settings.sites_file) as sites:
        sites["shop"] = Site("shop", origins=origins)
        sites["strict"] = Site("strict", origins=origins, consent="opt_in")
    return engine


class Collector:
    """gunicorn serving the collector over https; stop() and start() for outage tests."""

    def __init__(self, engine: Engine, cert: Path, key: Path) -> None:
        self.env = {**os.environ, **engine.env()}
        self.env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        self.cert, self.key = cert, key
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "python:tracker.gunicorn_conf"]
            + ["--bind", f"127.0.0.1:{COLLECTOR_PORT}", "--workers", "1"]
            + ["--certfile", str(self.cert), "--keyfile", str(self.key), "tracker.wsgi:app"],
            env=self.env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        context = ssl._create_unverified_context()
        deadline = time.monotonic() + 30
        import urllib.request

        while True:
            try:
                url = f"https://127.0.0.1:{COLLECTOR_PORT}/healthz"
                urllib.request.urlopen(url, timeout=1, context=context).read()
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the collector did not start") from None
                time.sleep(0.1)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)


class EventLogReader:
    def __init__(self, reader) -> None:
        self.reader = reader
        self.records: list[LogRecord] = []

    def events(self, until, timeout: float = 10.0) -> list[tuple[LogRecord, dict]]:
        """(record, event) pairs read so far, once ``until(pairs)`` is true; fails on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            self.records += [LogRecord.decode(m.payload) for m in self.reader.read(100, 0.2)]
            pairs = [(r, e) for r in self.records for e in r.events]
            if until(pairs):
                return pairs
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"timed out; the log has {[e['event_type'] for _, e in pairs]}"
                )


# The embed code of docs/snippet.md; {g} is the global's name (`ct` unless the page says).
PAGE = """<!doctype html><html><head><title>{title}</title><script>{own}
window.{g}=window.{g}||function(){{({g}.q={g}.q||[]).push(arguments)}};
{g}('init',{config});{script}</script>
{loader}</head><body>
<a id="other" href="https://other.test:{port}/landing">other site</a>
<a id="out" href="https://example.org/away">away</a>
<button id="spa" onclick="history.pushState({{}},'','/spa/2')">next</button>
<button id="buy" data-ct-event="signup" data-ct-plan="pro" data-ct-plan-id="p-7">sign up</button>
<p id="status">ok</p></body></html>"""

LOADER = f'<script async src="{COLLECTOR}/v1/clicktrail.js"{{attributes}}></script>'
PRODUCT = (
    "ct('product_view',{sku:'SKU-1',product_name:'Shoe',price:4999,currency:'EUR',"
    "category:['Shoes','Running']});"
)
SCRIPTS = {
    "/product": PRODUCT,
    "/purchase": PRODUCT
    + (
        "ct('purchase',{order_id:'O-1',items:[{sku:'SKU-1',name:'Shoe',price:4999,quantity:2}],"
        "total:9998,currency:'EUR',properties:{coupon:'WINTER',first:true}});"
    ),
    "/broken": (
        "var o={};o.self=o;ct('custom',{name:'cyclic',properties:o});ct(undefined);"
        "ct('init',{site:'shop'});ct('custom',{name:'fine'});"
        "window.afterSnippetCalls=1;"
    ),
}
# ?own=...: the page has a `ct` of its own before the embed code runs.
OWN = {
    "function": "window.ct=function(){window.ownCalls=(window.ownCalls||0)+1;return 'own'};",
    "object": "window.ct={own:true};",
}


class SiteHandler(http.server.BaseHTTPRequestHandler):
    requests: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        SiteHandler.requests.append(f"{self.headers['Host']}{self.path}")
        config = {
            "site": query.get("site", "shop"),
            "collector": COLLECTOR,
            "domains": ["other.test", "shop.example.test"],
        }
        if "consent" in query:
            config["consent"] = query["consent"]
        name = query.get("global", "ct")  # ?global=<name>: the snippet's global is named so
        attributes = f' data-global="{name}"' if "global" in query else ""
        body = PAGE.format(
            title=f"Page {url.path}",
            own=OWN.get(query.get("own", ""), ""),
            g=name,
            config=json.dumps(config),
            script=SCRIPTS.get(url.path, "").replace("ct(", f"{name}("),
            # ?bare=1: the host page's own part only (the stub and its calls), for comparisons
            loader="" if "bare" in query else LOADER.format(attributes=attributes),
            port=SITE_PORT,
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@contextlib.contextmanager
def serve_site(tls: tuple[Path, Path, str]) -> Iterator[type[SiteHandler]]:
    """The test pages over https on every test host (SITE_PORT), in a thread."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", SITE_PORT), SiteHandler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tls[0], tls[1])
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield SiteHandler
    server.shutdown()
    server.server_close()


class Driver:
    """A node driver process (playwright-core over Debian's Chromium): one JSON command a
    line in, one JSON answer a line out; ``driver.op(*args)`` sends ``op``."""

    def __init__(self, command: list[str]) -> None:
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    def __getattr__(self, op: str):  # noqa: ANN204
        def call(*args):  # noqa: ANN002, ANN202
            assert self.process.stdin and self.process.stdout
            self.process.stdin.write(json.dumps({"op": op, "args": list(args)}) + "\n")
            self.process.stdin.flush()
            answer = json.loads(self.process.stdout.readline() or '{"error": "driver exited"}')
            if "error" in answer:
                raise AssertionError(f"browser {op}{args}: {answer['error']}")
            return answer["ok"]

        return call

    def close(self) -> None:
        if self.process.stdin:
            self.process.stdin.close()
        self.process.wait(timeout=30)
        if self.process.stdout:
            self.process.stdout.close()


class Browser(Driver):
    """One Chromium trusting the test site's certificate; each call is a command of
    driver.mjs."""

    def __init__(self, spki: str) -> None:
        driver = str(Path(__file__).with_name("driver.mjs"))
        super().__init__(["node", driver, spki, ",".join(HOSTS + (COLLECTOR_HOST,))])
