"""Install, start, stop and inspect the real services Clicktrail needs, on 127.0.0.1 only.

``redis-state`` and ``redis-profile`` (Debian's redis-server), ``clickhouse`` (Debian's
clickhouse-server 18.16) and ``kafka`` (the Apache broker's jars from Maven Central, KRaft, one
node). Each keeps its config, data, logs and pidfile in ``<run dir>/<name>/``; the run dir is
``var/run/<port offset>/`` in the repo unless ``CLICKTRAIL_SERVICES_DIR`` says otherwise, and
every port comes from ``clicktrail.ports``. Everything is idempotent: ``start`` leaves a running
service alone, ``stop`` on a stopped one is fine. Stdlib only, so it runs before ``pip install``.

CLI: ``python -m clicktrail.services {install,start,stop,status,urls} [service ...]``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence

from clicktrail import ports
from clicktrail.services import apt, process
from clicktrail.services.apps import Collector, Personalizer, Pipeline, Reports
from clicktrail.services.base import Say, Service, ServiceStatus, run_dir
from clicktrail.services.base import names_in as _names_in
from clicktrail.services.clickhouse import ClickHouse
from clicktrail.services.errors import ServiceError
from clicktrail.services.kafka import KAFKA_PYTHON_VERSION, KAFKA_VERSION, Kafka
from clicktrail.services.redis import RedisProfile, RedisState

__all__ = [
    "APP_NAMES",
    "KAFKA_PYTHON_VERSION",
    "KAFKA_VERSION",
    "SERVICE_NAMES",
    "ServiceError",
    "ServiceStatus",
    "install",
    "run_dir",
    "start",
    "status",
    "stop",
    "urls",
]

# Start order; stop goes the other way round.
_CLASSES: tuple[type[Service], ...] = (RedisState, RedisProfile, ClickHouse, Kafka)
SERVICE_NAMES: tuple[str, ...] = tuple(c.name for c in _CLASSES)
# Clicktrail's own processes: started only when named (``make up``), never by default.
_APP_CLASSES: tuple[type[Service], ...] = (Collector, Pipeline, Personalizer, Reports)
APP_NAMES: tuple[str, ...] = tuple(c.name for c in _APP_CLASSES)


def _stderr(message: str) -> None:
    print(f"services: {message}", file=sys.stderr, flush=True)


def _services(names: Sequence[str] | None) -> list[Service]:
    if isinstance(names, str):  # start("kafka") would otherwise mean k, a, f, k, a
        names = [names]
    chosen = _names_in(names, SERVICE_NAMES + APP_NAMES) if names else list(SERVICE_NAMES)
    root = run_dir()
    return [cls(root) for cls in _CLASSES + _APP_CLASSES if cls.name in chosen]


def _install(services: Sequence[Service], say: Say) -> None:
    apt.ensure([p for s in services for p in s.apt_packages()], say)
    for service in services:
        service.install_extra(say)


def install(names: Sequence[str] | None = None, *, say: Say = _stderr) -> None:
    """Installs what the services need (apt packages, Kafka jars) without starting them."""
    services = _services(names)
    with process.file_lock(run_dir() / ".lock"):
        _install(services, say)


def start(names: Sequence[str] | None = None, *, say: Say = _stderr) -> None:
    """Installs what is missing, starts what is not running, and waits until all answer.

    Raises ``ServiceError`` (with the tail of the service's log) when one does not come up.
    """
    services = _services(names)
    with process.file_lock(run_dir() / ".lock"):
        # A service that already runs needs nothing installed: keeps a warm start fast.
        down = [s for s in services if s.running_pid() is None]
        _install(down, say)
        launched: list[tuple[Service, int, float]] = []
        for service in services:
            began = time.monotonic()
            pid = service.launch(say)
            if pid is None:
                _already_running(service, say)
            else:
                launched.append((service, pid, began))

        # All are launched before any is waited for, so the slow ones start side by side.
        def all_started() -> bool:
            for entry in list(launched):
                service, pid, began = entry
                if service.started(pid, began):
                    took = time.monotonic() - began
                    say(f"{service.name}: started (pid {pid}, port {service.port}) in {took:.1f}s")
                    launched.remove(entry)
            return not launched

        process.wait_until(all_started, max((s.start_timeout for s in services), default=0) + 5)


def _already_running(service: Service, say: Say) -> None:
    pid = service.running_pid()
    if pid is None:  # died between the two looks
        raise ServiceError(f"{service.name}: stopped while being checked; run start again")
    if not service.ready():
        # Ours but not answering yet, e.g. a start that another run began a moment ago.
        service.wait_ready(pid)
    say(f"{service.name}: already running (pid {pid}, port {service.port})")


def stop(names: Sequence[str] | None = None, *, say: Say = _stderr) -> None:
    """Stops the services (SIGTERM, then SIGKILL after a bounded wait); stopped ones are fine."""
    services = _services(names)
    with process.file_lock(run_dir() / ".lock"):
        for service in reversed(services):
            if not service.stop(say):
                say(f"{service.name}: not running")


def status(names: Sequence[str] | None = None) -> dict[str, ServiceStatus]:
    """Each service's state (``up``, ``unready`` or ``down``), pid and main port."""
    return {s.name: s.status() for s in _services(names)}


def urls(kafka: bool = False) -> dict[str, str]:
    """Connection URLs of the services at the current port offset, as ``CLICKTRAIL_*`` settings
    (each one a variable the services accept). ``kafka``: the event log on the broker."""
    state = ports.port("redis_state")
    log = (
        f"kafka://{process.HOST}:{ports.port('kafka')}/events"
        if kafka
        else f"redis://{process.HOST}:{state}/0?stream=events"
    )
    return {
        "CLICKTRAIL_EVENT_LOG_URL": log,
        "CLICKTRAIL_STATE_URL": f"redis://{process.HOST}:{state}/0",
        "CLICKTRAIL_PROFILE_URL": f"redis://{process.HOST}:{ports.port('redis_profile')}/0",
        "CLICKTRAIL_CLICKHOUSE_URL": (
            f"clickhouse://{process.HOST}:{ports.port('clickhouse_native')}/clicktrail"
        ),
    }
