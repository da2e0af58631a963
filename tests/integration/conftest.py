"""Fixtures for tests that run Clicktrail against the real services."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bench.harness.engine import SHOP_ORIGINS, Engine, make_engine  # noqa: F401 - fixtures' API
from clicktrail import ports


@pytest.fixture
def redis_engine(tmp_path: Path) -> Engine:
    return make_engine(tmp_path, "redis")


@pytest.fixture
def kafka_engine(tmp_path: Path) -> Engine:
    return make_engine(tmp_path, "kafka")


# --- the warehouse, on both engines ---------------------------------------------------------

ENGINES = [pytest.param("server", marks=pytest.mark.clickhouse), pytest.param("chdb")]


@pytest.fixture(scope="session")
def chdb_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """chdb runs one embedded server per process, on one folder: every in-process chdb test
    of this run shares this folder, each in a database of its own."""
    return tmp_path_factory.mktemp("chdb")


# The server databases warehouse_target named in this run: dropped when the run ends (some
# tests hand theirs to a process of their own and cannot drop it themselves).
_SERVER_DATABASES: list[str] = []


def warehouse_target(engine: str, chdb_folder: Path):  # noqa: ANN201
    from clicktrail.settings import ChdbTarget, ClickHouseServerTarget

    database = f"t_{uuid.uuid4().hex[:10]}"
    if engine == "server":
        _SERVER_DATABASES.append(database)
        return ClickHouseServerTarget("127.0.0.1", ports.port("clickhouse_native"), database)
    return ChdbTarget(chdb_folder, database)


@pytest.fixture(scope="session", autouse=True)
def _drop_server_databases() -> Iterator[None]:
    yield
    if not _SERVER_DATABASES:
        return
    from clickhouse_driver import Client
    from clickhouse_driver.errors import Error

    client = Client("127.0.0.1", port=ports.port("clickhouse_native"), connect_timeout=5)
    try:
        for database in _SERVER_DATABASES:
            client.execute(f"DROP DATABASE IF EXISTS {database}")
    except (Error, OSError):  # the server is gone: nothing of this run is left to drop there
        pass
    finally:
        client.disconnect()


@pytest.fixture(params=ENGINES)
def warehouse(request: pytest.FixtureRequest, chdb_folder: Path):
    """A migrated, empty warehouse on the real engine (server 18.16 or chdb)."""
    from pipelines.warehouse.factory import open_warehouse
    from pipelines.warehouse.migrate import migrate

    target = warehouse_target(request.param, chdb_folder)
    with open_warehouse(target) as opened:
        migrate(opened)
        yield opened
        opened.execute(f"DROP DATABASE IF EXISTS {target.database}")


# --- a service of a test's own, to stop and start for real ------------------------------------

ROOT = Path(__file__).parents[2]


def own_service(tmp_path: Path, name: str, offset: int) -> Iterator[Callable[[str], None]]:
    """Start ``name`` at port ``offset`` in the test's folder, so stopping it disturbs no other
    test; yields ``control("stop" | "start")``, and stops it at the end."""
    env = {
        **os.environ,
        "CLICKTRAIL_PORT_OFFSET": str(offset),
        "CLICKTRAIL_SERVICES_DIR": str(tmp_path / "services"),
    }
    script = str(ROOT / "scripts" / "services")

    def control(command: str) -> None:
        subprocess.run([script, command, name], env=env, check=True, capture_output=True)

    control("start")
    try:
        yield control
    finally:
        subprocess.run([script, "stop", name], env=env, capture_output=True)


@pytest.fixture
def state_redis():
    """A client of the durable (state) Redis, built as the services build theirs."""
    from pipelines.profiles.clients import serving_client

    client = serving_client(
        f"redis://127.0.0.1:{ports.port('redis_state')}/0",
        connect_timeout_ms=1000,
        read_timeout_ms=1000,
        max_connections=4,
    )
    yield client
    client.close()
