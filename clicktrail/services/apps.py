"""Clicktrail's own long-running processes, run like the services: the collector and a
pipeline worker (and, as its issue lands, the personalizer). ``make up`` starts them after
the services they need."""

from __future__ import annotations

import ipaddress
import os
import sys
import urllib.request
from pathlib import Path

from clicktrail import ports
from clicktrail.services.base import REPO_ROOT, Service
from clicktrail.settings import Settings


class App(Service):
    """A Clicktrail process run like a service: answered over HTTP on its port once ready."""

    port_name: str
    ready_path: str

    @property
    def port(self) -> int:
        return ports.port(self.port_name)

    @property
    def config_file(self) -> Path:
        # No file of its own: the path is only a marker on the command line, which is how the
        # pidfile's pid is recognised as this instance.
        return self.folder / f"{self.name}.instance"

    def prepare(self) -> None:
        self.config_file.touch()

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        # The launcher runs it in its own folder: relative paths must not move with it.
        env["CLICKTRAIL_DATA_DIR"] = str(
            Path(env.get("CLICKTRAIL_DATA_DIR", REPO_ROOT / "var")).resolve()
        )
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        return env

    bind_variable: str | None = None  # where gunicorn's config reads its address, if set

    @property
    def address(self) -> str:
        """host:port to probe for readiness: what the bind variable says (its config reads
        the settings; a wildcard address is probed on loopback), else the port map's."""
        bind = os.environ.get(self.bind_variable) if self.bind_variable else None
        if not bind:
            return f"127.0.0.1:{self.port}"
        host, _, port = bind.rpartition(":")
        if host in ("", "0.0.0.0", "::", "[::]"):
            host = "127.0.0.1"
        return f"{host}:{port}"

    def ready(self) -> bool:
        url = f"http://{self.address}{self.ready_path}"
        try:
            with urllib.request.urlopen(url, timeout=1):
                return True
        except OSError:
            return False


class GunicornApp(App):
    """A Flask service under gunicorn, configured by its ``gunicorn_conf`` module."""

    config_module: str  # e.g. "tracker.gunicorn_conf"
    wsgi: str  # e.g. "tracker.wsgi:app"
    ready_path = "/readyz"
    start_timeout = 30.0

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            f"python:{self.config_module}",
            "--name",
            str(self.config_file),
            self.wsgi,
        ]


class Collector(GunicornApp):
    """The collector. With ``CLICKTRAIL_DEMO`` on it also believes the demo shop's front
    (``CLICKTRAIL_DEMO_FRONT_ADDRESS``, one loopback address) when it states a visitor's
    address: nothing else is added to its trusted proxies (docs/demo.md)."""

    name = "collector"
    port_name = "collector"
    bind_variable = "CLICKTRAIL_COLLECTOR_BIND"
    config_module = "tracker.gunicorn_conf"
    wsgi = "tracker.wsgi:app"

    def environment(self) -> dict[str, str]:
        env = super().environment()
        settings = Settings.from_env(env)
        if settings.demo:
            front = ipaddress.ip_network(settings.demo_front_address)
            trusted = [*(str(n) for n in settings.trusted_proxies), str(front)]
            env["CLICKTRAIL_TRUSTED_PROXIES"] = ",".join(dict.fromkeys(trusted))
        return env


class Personalizer(GunicornApp):
    """The decision service; ready once the durable Redis answers. It reads the warehouse
    through the pipeline worker that owns chdb.

    Browsers reach it through the collector's relay (docs/personalizer.md, "Deploying behind
    one origin"), so unless told otherwise it believes the address the relay forwards from
    loopback, and signs links under the collector's origin."""

    name = "personalizer"
    port_name = "personalizer"
    bind_variable = "CLICKTRAIL_PERSONALIZER_BIND"
    config_module = "personalizer.gunicorn_conf"
    wsgi = "personalizer.wsgi:app"

    def environment(self) -> dict[str, str]:
        env = super().environment()
        env.setdefault("CLICKTRAIL_TRUSTED_PROXIES", "127.0.0.1/32,::1/128")
        collector = Collector(self.folder.parent).address
        env.setdefault("CLICKTRAIL_PERSONALIZER_PUBLIC_URL", f"http://{collector}")
        return env


class Reports(GunicornApp):
    """The reports API; ready once the warehouse answers (on chdb, through the pipeline
    worker that owns the folder: start the pipeline first)."""

    name = "reports"
    port_name = "reports"
    bind_variable = "CLICKTRAIL_REPORTS_BIND"
    config_module = "reports.gunicorn_conf"
    wsgi = "reports.wsgi:app"


class Pipeline(App):
    """One pipeline worker (``clicktrail pipeline``); ready once its /readyz answers 200: its
    migrations ran, it joined its group and its reads of the log answer."""

    name = "pipeline"
    port_name = "pipeline_metrics"
    ready_path = "/readyz"
    start_timeout = 90.0  # first start: chdb opens its folder, migrations run

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "clicktrail.cli",
            "pipeline",
            "--metrics-port",
            str(self.port),
            "--instance",
            str(self.config_file),
        ]
