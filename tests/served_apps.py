"""The collector, the personalizer and the reports as real gunicorn processes on ports of a
test's own, with an engine's settings: what the routing, browser and fuzz tests talk to over
HTTP."""

from __future__ import annotations

import http.client
import os
import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from bench.harness.engine import Engine

ROOT = Path(__file__).parents[1]
APPS = {
    "collector": ("tracker.gunicorn_conf", "tracker.wsgi:app"),
    "personalizer": ("personalizer.gunicorn_conf", "personalizer.wsgi:app"),
    "reports": ("reports.gunicorn_conf", "reports.wsgi:app"),
}


class ServedApp:
    """``python -m gunicorn`` for one app on ``port``, one worker; https with ``tls``."""

    def __init__(
        self, app: str, engine: Engine, port: int, tls: tuple[Path, Path] | None = None
    ) -> None:
        self.app, self.port, self.tls = app, port, tls
        self.env = {**os.environ, **engine.env()}
        self.env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def start(self, ready: str = "/healthz", timeout: float = 30.0) -> None:
        config, wsgi = APPS[self.app]
        tls = ["--certfile", str(self.tls[0]), "--keyfile", str(self.tls[1])] if self.tls else []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", f"python:{config}"]
            + ["--bind", f"127.0.0.1:{self.port}", "--workers", "1", *tls, wsgi]
            # kept-alive connections (a browser's, the relay's pool) would hold a stop for the
            # production grace of 10 s; a test's server has nothing left to finish by then
            + ["--graceful-timeout", "2"],
            env=self.env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        context = ssl._create_unverified_context() if self.tls else None
        deadline = time.monotonic() + timeout
        while True:
            try:
                urllib.request.urlopen(f"{self.url}{ready}", timeout=1, context=context).read()
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"the {self.app} did not start on {self.port}") from None
                time.sleep(0.1)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)


def call(port: int, method: str, target: str, body: bytes | None = None, **headers: str):  # noqa: ANN201
    """(status, headers, body) of one request to a served app on ``port``; redirects are not
    followed. Header names as keywords, ``_`` for ``-``."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        named = {name.replace("_", "-"): value for name, value in headers.items()}
        connection.request(method, target, body=body, headers=named)
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()
