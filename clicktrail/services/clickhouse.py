"""Debian's clickhouse-server (18.16) with Clicktrail's own config, ports and folders."""

from __future__ import annotations

import shutil
import urllib.error
import urllib.request
from pathlib import Path

from clicktrail import ports
from clicktrail.services import process
from clicktrail.services.base import SCRIPTS_DIR, Service, render

TEMPLATES = SCRIPTS_DIR / "clickhouse"
# Never through an http_proxy from the environment: the server is on loopback.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class ClickHouse(Service):
    name = "clickhouse"
    start_timeout = 60.0

    @property
    def port(self) -> int:
        return ports.port("clickhouse_native")

    @property
    def http_port(self) -> int:
        return ports.port("clickhouse_http")

    @property
    def ports(self) -> tuple[int, ...]:
        return (self.port, self.http_port)

    @property
    def config_file(self) -> Path:
        return self.folder / "config.xml"

    def apt_packages(self) -> list[str]:
        return ["clickhouse-server", "clickhouse-client"]

    def prepare(self) -> None:
        tmp_dir = self.folder / "tmp"
        user_files = self.folder / "user_files"
        for folder in (tmp_dir, user_files):
            folder.mkdir(parents=True, exist_ok=True)
        render(
            TEMPLATES / "config.xml",
            self.config_file,
            {
                "HTTP_PORT": self.http_port,
                "NATIVE_PORT": self.port,
                "DATA_DIR": self.data_dir,
                "TMP_DIR": tmp_dir,
                "USER_FILES_DIR": user_files,
                "LOG_DIR": self.log_dir,
            },
        )
        # users.xml is found next to config.xml (users_config is relative).
        render(TEMPLATES / "users.xml", self.folder / "users.xml", {})

    def command(self) -> list[str]:
        # 18.16 runs as root without complaint (checked); it runs in the foreground, so our
        # launcher's pid is the server's pid.
        return [_server_binary(), f"--config-file={self.config_file}"]

    def ready(self) -> bool:
        # The native port is checked without connecting: 18.16 logs a warning for every
        # connection that sends nothing, which would bury real errors in its error log.
        return process.listening(self.port) and http_select_one(self.http_port)

    def logs(self) -> list[Path]:
        return [
            self.log_dir / "clickhouse-server.err.log",
            self.log_dir / "clickhouse-server.log",
            self.stdout_log,
        ]


def _server_binary() -> str:
    return shutil.which("clickhouse-server") or "/usr/sbin/clickhouse-server"


def http_select_one(port: int, host: str = process.HOST, timeout: float = 2.0) -> bool:
    url = f"http://{host}:{port}/?query=SELECT%201"
    try:
        with _OPENER.open(url, timeout=timeout) as response:
            return bool(response.status == 200 and response.read().strip() == b"1")
    except (OSError, urllib.error.URLError, ValueError):
        return False
