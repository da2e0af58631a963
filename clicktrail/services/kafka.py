"""A single-node KRaft Kafka broker, run from the jars Maven copies out of Maven Central."""

from __future__ import annotations

import base64
import os
import shutil
import socket
import struct
import subprocess
import time
import uuid
from pathlib import Path

from clicktrail import ports
from clicktrail.services import process
from clicktrail.services.base import CACHE_DIR, SCRIPTS_DIR, Say, Service, render
from clicktrail.services.errors import ServiceError

# Pinned together: kafka-python 3.0.12 was checked against this broker for admin create and
# delete topics, produce with acks=all, consume the exact bytes, consumer-group commits and
# group listing/offsets (see docs/services.md). Change both only after re-running that check
# (tests/integration/test_smoke.py).
KAFKA_VERSION = "4.4.0"
KAFKA_PYTHON_VERSION = "3.0.12"

HEAP = "512m"
KAFKA_SCRIPTS = SCRIPTS_DIR / "kafka"
POM = KAFKA_SCRIPTS / "pom.xml"
LOG4J_CONFIG = KAFKA_SCRIPTS / "log4j2.properties"
SERVER_TEMPLATE = KAFKA_SCRIPTS / "server.properties.template"


def libs_dir(version: str = KAFKA_VERSION) -> Path:
    return CACHE_DIR / "kafka" / version / "libs"


class Kafka(Service):
    name = "kafka"
    start_timeout = 120.0

    @property
    def port(self) -> int:
        return ports.port("kafka")

    @property
    def controller_port(self) -> int:
        return ports.port("kafka_controller")

    @property
    def ports(self) -> tuple[int, ...]:
        return (self.port, self.controller_port)

    @property
    def config_file(self) -> Path:
        return self.folder / "server.properties"

    def apt_packages(self) -> list[str]:
        # Debian's Java 17 (the broker needs 17+) and Maven, unless some Java/Maven is on PATH.
        packages = []
        if shutil.which("java") is None:
            packages.append("openjdk-17-jre-headless")
        if shutil.which("mvn") is None and not libs_dir().is_dir():
            packages.append("maven")
        return packages

    def install_extra(self, say: Say) -> None:
        fetch_jars(say)

    def prepare(self) -> None:
        if not libs_dir().is_dir():
            raise ServiceError(f"kafka: no broker jars in {libs_dir()}; run `install kafka`")
        render(
            SERVER_TEMPLATE,
            self.config_file,
            {"PORT": self.port, "CONTROLLER_PORT": self.controller_port, "DATA_DIR": self.data_dir},
        )
        if not (self.data_dir / "meta.properties").exists():
            self._format()

    def _java(self, main: str, *args: str) -> list[str]:
        return [
            "java",
            f"-Xmx{HEAP}",
            f"-Xms{HEAP}",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-XX:+ExitOnOutOfMemoryError",  # a dead broker is found at once, a sick one is not
            "-Djava.awt.headless=true",
            # Every line is flushed as written (immediateFlush), so log4j's own shutdown hook adds
            # nothing but a "JVM is shutting down" warning on each stop.
            "-Dlog4j2.shutdownHookEnabled=false",
            f"-Dlog4j2.configurationFile={LOG4J_CONFIG}",
            f"-Dkafka.logs.dir={self.log_dir}",
            "-cp",
            f"{libs_dir()}/*",
            main,
            *args,
        ]

    def _format(self) -> None:
        # Done once per data folder: a KRaft log dir must carry a cluster id before the first
        # start, and formatting again would refuse (or wipe) an existing one.
        result = subprocess.run(
            self._java(
                "kafka.tools.StorageTool",
                "format",
                "--cluster-id",
                new_cluster_id(),
                "--config",
                str(self.config_file),
            ),
            cwd=self.folder,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if result.returncode != 0:
            output = (result.stdout + result.stderr).strip()
            raise ServiceError(f"kafka: formatting {self.data_dir} failed:\n{output}")

    def command(self) -> list[str]:
        return self._java("kafka.Kafka", str(self.config_file))

    def ready(self) -> bool:
        return api_versions_ok(self.port)

    def logs(self) -> list[Path]:
        return [self.log_dir / "server.log", self.stdout_log]


def new_cluster_id() -> str:
    # Kafka's own format: 16 random bytes, URL-safe base64 without padding; one starting with
    # "-" would read as a command-line option, which Kafka avoids too.
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cid.startswith("-"):
            return cid


def fetch_jars(say: Say, version: str = KAFKA_VERSION) -> None:
    """Copies the broker and its runtime dependencies into the cache, unless already there."""
    target = libs_dir(version)
    if target.is_dir():
        return
    if shutil.which("mvn") is None:
        raise ServiceError("kafka: mvn is not installed (apt-get install maven)")
    target.parent.mkdir(parents=True, exist_ok=True)
    with process.file_lock(target.parent / ".lock"):
        if target.is_dir():  # another run fetched them while we waited
            return
        # Copy into a scratch folder and rename at the end: a half-finished copy (network
        # error, ^C) is never taken for a complete one.
        scratch = target.with_name(f"libs.partial-{os.getpid()}")
        shutil.rmtree(scratch, ignore_errors=True)
        say(f"kafka: fetching Kafka {version} jars with Maven into {target}")
        started = time.monotonic()
        result = subprocess.run(
            [
                "mvn",
                "-q",
                "-B",
                "-f",
                str(POM),
                "dependency:copy-dependencies",
                f"-Dkafka.version={version}",
                f"-DoutputDirectory={scratch}",
            ],
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        jars = list(scratch.glob(f"kafka_2.13-{version}.jar")) if scratch.is_dir() else []
        if result.returncode != 0 or not jars:
            shutil.rmtree(scratch, ignore_errors=True)
            output = "\n".join((result.stdout + result.stderr).strip().splitlines()[-30:])
            raise ServiceError(f"kafka: Maven could not fetch Kafka {version}:\n{output}")
        scratch.rename(target)
        count = len(list(target.iterdir()))
        say(f"kafka: fetched {count} jars in {time.monotonic() - started:.1f}s")


def api_versions_ok(port: int, host: str = process.HOST, timeout: float = 2.0) -> bool:
    """True when the broker answers an ApiVersions request without error.

    The listener accepts connections a little before requests are served; ApiVersions v0 is
    the one request every broker version answers, and it is answered only once the broker
    processes requests.
    """
    client_id = b"clicktrail-services"
    header = struct.pack(">hhih", 18, 0, 1, len(client_id)) + client_id  # key 18, v0, corr 1
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(struct.pack(">i", len(header)) + header)
            size = struct.unpack(">i", _recv_exactly(sock, 4))[0]
            body = _recv_exactly(sock, size)
    except (OSError, struct.error, ConnectionError):
        return False
    correlation_id, error_code = struct.unpack(">ih", body[:6])
    return bool(correlation_id == 1 and error_code == 0)


def _recv_exactly(sock: socket.socket, n: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < n:
        chunk = sock.recv(n - len(chunks))
        if not chunk:
            raise ConnectionError("closed by the broker")
        chunks += chunk
    return bytes(chunks)
