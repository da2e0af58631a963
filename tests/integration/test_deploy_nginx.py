"""The shipped nginx configuration (deploy/nginx/clicktrail.conf), run by a real nginx over TLS
in front of three stand-in upstreams that echo what reached them: which service gets each path,
and which client address it is told."""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

CONF = Path(__file__).parents[2] / "deploy" / "nginx" / "clicktrail.conf"
COLLECT = "collect.shop.example"
REPORTS = "reports.shop.example"

pytestmark = pytest.mark.skipif(
    shutil.which("nginx") is None or shutil.which("openssl") is None,
    reason="nginx or openssl is not installed (Debian packages nginx, openssl)",
)


def _echo_server(name: str) -> ThreadingHTTPServer:
    class Echo(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            body = json.dumps(
                {
                    "upstream": name,
                    "path": self.path,
                    "forwarded_for": self.headers.get("X-Forwarded-For"),
                    "proto": self.headers.get("X-Forwarded-Proto"),
                    "host": self.headers.get("Host"),
                }
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer  # noqa: N815 - the standard library's names

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    folder = tmp_path_factory.mktemp("nginx")
    cert, key = folder / "test.pem", folder / "test.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
        + ["-nodes", "-days", "1", "-subj", f"/CN={COLLECT}"]
        + ["-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    upstreams = {name: _echo_server(name) for name in ("collector", "personalizer", "reports")}
    ports = {"https": _free_port(), "http": _free_port()}
    site = CONF.read_text()
    site = re.sub(r"/etc/ssl/clicktrail/\S+\.pem", str(cert), site)
    site = re.sub(r"/etc/ssl/clicktrail/\S+\.key", str(key), site)
    site = site.replace("/var/log/nginx/", f"{folder}/")
    site = re.sub(r"\n\s*listen \[::\]:\d+[^;]*;", "", site)  # no IPv6 needed here
    site = site.replace("listen 443 ssl", f"listen 127.0.0.1:{ports['https']} ssl")
    site = site.replace("listen 80;", f"listen 127.0.0.1:{ports['http']};")
    for name, port in (("collector", 17080), ("personalizer", 17081), ("reports", 17082)):
        site = site.replace(
            f"server 127.0.0.1:{port};", f"server 127.0.0.1:{upstreams[name].server_port};"
        )
    (folder / "site.conf").write_text(site)
    temp = "".join(
        f"    {kind}_temp_path {folder}/{kind}_temp;\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    # As root, nginx's workers would run as nobody, who cannot write a request body to disk in
    # the test's private folder (production's temp folder belongs to www-data).
    user = "user root;\n" if os.geteuid() == 0 else ""
    (folder / "nginx.conf").write_text(
        f"{user}pid {folder}/nginx.pid;\nerror_log {folder}/error.log;\ndaemon off;\n"
        "worker_processes 1;\nevents {}\n"
        f"http {{\n{temp}    access_log {folder}/access.log;\n    include {folder}/site.conf;\n}}\n"
    )
    nginx = subprocess.Popen(
        [
            "nginx",
            "-p",
            str(folder),
            "-e",
            str(folder / "error.log"),
            "-c",
            str(folder / "nginx.conf"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", ports["https"]), timeout=0.2).close()
                break
            except OSError:
                if nginx.poll() is not None or time.monotonic() > deadline:
                    log = folder / "error.log"
                    problem = log.read_text() if log.exists() else "(no error log)"
                    raise AssertionError(f"nginx did not start: {problem}") from None
                time.sleep(0.05)
        yield {**ports, "folder": folder}  # type: ignore[dict-item]
    finally:
        nginx.terminate()
        nginx.wait(timeout=10)
        for server in upstreams.values():
            server.shutdown()


def _request(
    port: int, host: str, path: str, method: str = "GET", headers: dict[str, str] | None = None,
    tls: bool = True, body: bytes | None = None,
) -> tuple[int, dict[str, str], bytes]:  # fmt: skip
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    connection = (
        http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=10)
        if tls
        else http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    )
    try:
        body = body if body is not None else b"{}" if method == "POST" else None
        connection.request(method, path, body=body, headers={"Host": host, **(headers or {})})
        answer = connection.getresponse()
        return answer.status, dict(answer.getheaders()), answer.read()
    finally:
        connection.close()


@pytest.mark.parametrize(
    ("path", "method", "upstream"),
    [
        ("/v1/decide", "POST", "personalizer"),
        ("/v1/pz/i?d=abc&s=sig", "GET", "personalizer"),
        ("/v1/pz/c?d=abc&s=sig", "GET", "personalizer"),
        ("/v1/events", "POST", "collector"),
        ("/v1/clicktrail.js", "GET", "collector"),
        ("/v1/pixel.gif?e=page_view", "GET", "collector"),
        ("/v1/decided", "GET", "collector"),  # only the exact path is the personalizer's
    ],
)
def test_the_collectors_host_routes_by_path(edge, path: str, method: str, upstream: str):
    status, _, body = _request(edge["https"], COLLECT, path, method)
    assert status == 200
    seen = json.loads(body)
    assert seen["upstream"] == upstream
    assert seen["path"] == path
    assert seen["host"] == COLLECT
    assert seen["proto"] == "https"


def test_the_reports_host_goes_to_the_reports(edge):
    status, _, body = _request(edge["https"], REPORTS, "/dashboard/")
    assert status == 200
    assert json.loads(body)["upstream"] == "reports"


@pytest.mark.parametrize("path", ["/v1/decide", "/v1/events"])
def test_a_forged_forwarded_for_is_replaced_by_the_peer(edge, path: str):
    _, _, body = _request(
        edge["https"], COLLECT, path, "POST", {"X-Forwarded-For": "203.0.113.9, 198.51.100.7"}
    )
    # The services trust 127.0.0.1 only and read the header from the right: nginx's word.
    assert json.loads(body)["forwarded_for"] == "127.0.0.1"


@pytest.mark.parametrize("host", [COLLECT, REPORTS])
def test_metrics_are_not_served_outside(edge, host: str):
    status, _, _ = _request(edge["https"], host, "/metrics")
    assert status == 404


def test_plain_http_redirects_to_https(edge):
    status, headers, _ = _request(edge["http"], COLLECT, "/v1/events?x=1", tls=False)
    assert status == 301
    assert headers["Location"] == f"https://{COLLECT}/v1/events?x=1"


def test_tls_answers_carry_hsts(edge):
    _, headers, _ = _request(edge["https"], COLLECT, "/v1/clicktrail.js")
    assert headers["Strict-Transport-Security"] == "max-age=31536000"


def test_no_log_holds_the_clients_address(edge):
    """Routine requests on every server, a body large enough to be buffered to disk (a warn
    line naming the client, below the error level) included: the access logs have the
    client's network, never its address; the collector's host logs no access; no log of the
    folder (the host's default access log of the test's nginx.conf included) names 127.0.0.1."""
    big = {"Content-Type": "application/json"}
    for port, host, path, method, tls in (
        (edge["https"], COLLECT, "/v1/events", "POST", True),
        (edge["https"], COLLECT, "/v1/clicktrail.js?vid=abc", "GET", True),
        (edge["https"], REPORTS, "/dashboard/?site=shop", "GET", True),
        (edge["http"], COLLECT, "/v1/events?x=1", "GET", False),
    ):
        status, _, _ = _request(port, host, path, method, big, tls=tls)
        assert status in (200, 301)
    _request(edge["https"], COLLECT, "/v1/events", "POST", big, body=b"x" * 40_000)
    folder = edge["folder"]
    deadline = time.monotonic() + 5  # nginx writes the access line after the answer
    access = folder / "clicktrail-access.log"
    while access.read_text().count("\n") < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    lines = access.read_text().splitlines()
    assert any(line.startswith("127.0.0.0 ") and "GET /dashboard/ " in line for line in lines)
    assert any(line.startswith("127.0.0.0 ") and " 301 " in line for line in lines)
    assert not any("/v1/events" in line and " 200 " in line for line in lines)  # collector: none
    assert not any("site=shop" in line or "x=1" in line for line in lines)  # no query
    for log in folder.glob("*.log"):
        assert "127.0.0.1" not in log.read_text(), log.name
