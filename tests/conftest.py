"""Test-wide rules.

- A test marked ``redis``, ``kafka`` or ``clickhouse`` gets the real service, started once per
  test run (idempotent: a running one is reused). If it cannot be started the test skips
  locally, but fails under ``CI=true``: in CI a missing service is a failure, never a skip.
- An unmarked test that opens a connection to a service port fails loudly, so no test talks
  to a real service without saying so.
"""

from __future__ import annotations

import os
import socket

import pytest

from clicktrail import ports
from tests.geoip_db import shared_small_geoip_db, small_geoip_db  # noqa: F401 - fixtures

SERVICES_BY_MARK = {
    "redis": ("redis-state", "redis-profile"),
    "kafka": ("kafka",),
    "clickhouse": ("clickhouse",),
}
SERVICE_PORTS = {
    ports.port(name)
    for name in (
        "redis_state",
        "redis_profile",
        "kafka",
        "kafka_controller",
        "clickhouse_native",
        "clickhouse_http",
    )
}
IN_CI = os.environ.get("CI", "").lower() == "true"

_started: dict[str, str | None] = {}  # service -> None when running, else why it is not


def _ensure(service: str) -> str | None:
    if service not in _started:
        from clicktrail import services

        try:
            services.start([service])
        except Exception as exc:  # noqa: BLE001 - any failure means the service is missing
            _started[service] = f"{service} could not be started: {exc}"
        else:
            _started[service] = None
            if service == "clickhouse":
                _drop_stale_test_databases()
    return _started[service]


STALE_AFTER_HOURS = 6  # far longer than any test run: an older ``t_`` database was left behind


def _drop_stale_test_databases() -> None:
    """Databases of killed test runs (their teardown never ran) pile up on the shared server
    and cost it memory and speed; each run clears those no run can still be using."""
    from clickhouse_driver import Client

    client = Client("127.0.0.1", port=ports.port("clickhouse_native"))
    try:
        stale = client.execute(
            "SELECT database FROM system.tables WHERE match(database, '^t_[0-9a-f]{10}$')"
            " GROUP BY database"
            f" HAVING max(metadata_modification_time) < now() - {STALE_AFTER_HOURS * 3600}"
        )
        for (database,) in stale:
            client.execute(f"DROP DATABASE IF EXISTS {database}")
    finally:
        client.disconnect()


@pytest.fixture(autouse=True)
def _real_services_or_guard(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):
    marks = {mark.name for mark in request.node.iter_markers()}
    needed = [s for mark in marks & SERVICES_BY_MARK.keys() for s in SERVICES_BY_MARK[mark]]
    for service in needed:
        problem = _ensure(service)
        if problem:
            if IN_CI:
                pytest.fail(problem)
            pytest.skip(problem)
    if needed or "services" in marks:
        yield
        return

    for method in ("connect", "connect_ex"):
        monkeypatch.setattr(socket.socket, method, _guarded(getattr(socket.socket, method)))
    yield


def _guarded(real):
    def connect(sock: socket.socket, address, *args):
        if isinstance(address, tuple) and address[1] in SERVICE_PORTS:
            raise AssertionError(
                f"unmarked test connects to service port {address[1]}: "
                "mark it redis, kafka or clickhouse"
            )
        return real(sock, address, *args)

    return connect
