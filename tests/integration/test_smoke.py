"""Smoke tests of the services as scripts/services sets them up: loopback only, the settings
Clicktrail relies on (durability, eviction), the server version. Round trips through
Clicktrail's own code live with that code (test_eventlog, test_warehouse).

tests/conftest.py starts the services a test's marks name (once per run, reusing running ones).
"""

from __future__ import annotations

import datetime
import uuid
from pathlib import Path
from typing import Any, cast

import pytest
import redis
from clickhouse_driver import Client
from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType

import clicktrail.services
from clicktrail import ports

HOST = "127.0.0.1"


def _bootstrap() -> str:
    return f"{HOST}:{ports.port('kafka')}"


def _listening_addresses(port: int) -> set[str]:
    """Local addresses with a listening TCP socket on ``port``, from /proc (no tools needed)."""
    found: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            address, hex_port = fields[1].split(":")
            if fields[3] == "0A" and int(hex_port, 16) == port:
                found.add(address)
    return found


# --- all servers -------------------------------------------------------------------------------


@pytest.mark.services
@pytest.mark.redis
@pytest.mark.kafka
@pytest.mark.clickhouse
def test_every_server_listens_on_loopback_only() -> None:
    # 127.0.0.1 as /proc/net/tcp writes it (little-endian hex), and as tcp6 writes the
    # IPv4-mapped ::ffff:127.0.0.1 that Java binds.
    loopback = {"0100007F", "0000000000000000FFFF00000100007F"}
    names = ["redis_state", "redis_profile", "kafka", "kafka_controller"]
    names += ["clickhouse_native", "clickhouse_http"]
    for name in names:
        found = _listening_addresses(ports.port(name))
        assert found and found <= loopback, (name, found)
    statuses = clicktrail.services.status()
    assert {n: s.state for n, s in statuses.items()} == dict.fromkeys(
        clicktrail.services.SERVICE_NAMES, "up"
    )


# --- Kafka -------------------------------------------------------------------------------------


@pytest.mark.kafka
def test_kafka_broker_settings() -> None:
    admin = KafkaAdminClient(bootstrap_servers=_bootstrap(), client_id="smoke-admin")
    try:
        wanted = {
            "auto.create.topics.enable": "false",
            "num.partitions": "4",
            "offsets.topic.replication.factor": "1",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            "log.retention.hours": "168",
        }
        resource = ConfigResource(ConfigResourceType.BROKER, "1", dict.fromkeys(wanted))
        found = admin.describe_configs([resource], config_filter="all")["broker"]["1"]
    finally:
        admin.close()
    assert {key: found[key]["value"] for key in wanted} == wanted


# --- Redis -------------------------------------------------------------------------------------


@pytest.mark.redis
def test_redis_state_stream_and_durability_settings() -> None:
    r = redis.Redis.from_url(clicktrail.services.urls()["CLICKTRAIL_STATE_URL"])
    stream = f"smoke:{uuid.uuid4().hex[:8]}"
    try:
        ids = [r.xadd(stream, {"n": str(i), "blob": bytes([i, 0, 255])}) for i in range(5)]
        r.xgroup_create(stream, "workers", id="0")
        batches = cast(list[Any], r.xreadgroup("workers", "w1", {stream: ">"}, count=10))
        [(name, entries)] = batches
        assert name == stream.encode()
        assert [e[0] for e in entries] == ids
        assert [e[1][b"blob"] for e in entries] == [bytes([i, 0, 255]) for i in range(5)]
        assert r.xpending(stream, "workers")["pending"] == 5
        assert r.xack(stream, "workers", *ids) == 5
        assert r.xpending(stream, "workers")["pending"] == 0
        config = r.config_get("*")
    finally:
        r.delete(stream)
        r.close()
    assert config["appendonly"] == "yes"
    assert config["appendfsync"] == "everysec"
    assert config["maxmemory-policy"] == "noeviction"
    assert config["bind"] == "127.0.0.1"


@pytest.mark.redis
def test_redis_profile_evicts() -> None:
    r = redis.Redis.from_url(clicktrail.services.urls()["CLICKTRAIL_PROFILE_URL"])
    try:
        key = f"smoke:{uuid.uuid4().hex[:8]}"
        r.set(key, b"\x00profile", ex=60)
        assert r.get(key) == b"\x00profile"
        r.delete(key)
        config = r.config_get("*")
    finally:
        r.close()
    assert config["maxmemory-policy"] == "allkeys-lru"
    assert config["maxmemory"] == str(512 * 1024 * 1024)
    assert config["appendonly"] == "no"
    assert config["bind"] == "127.0.0.1"


# --- ClickHouse --------------------------------------------------------------------------------


@pytest.mark.clickhouse
def test_clickhouse_server_mergetree_columnar_round_trip() -> None:
    client = Client(host=HOST, port=ports.port("clickhouse_native"))
    table = f"smoke_{uuid.uuid4().hex[:8]}"
    try:
        assert client.execute("SELECT version()")[0][0].startswith("18.16")
        client.execute("CREATE DATABASE IF NOT EXISTS clicktrail")
        client.execute(
            f"CREATE TABLE clicktrail.{table} (day Date, id UInt64, url String, ms Float64) "
            "ENGINE = MergeTree() PARTITION BY toYYYYMM(day) ORDER BY (day, id)"
        )
        n = 1000
        days = [datetime.date(2024, 1, 1) + datetime.timedelta(days=i % 40) for i in range(n)]
        columns = [
            days,
            list(range(n)),
            [f"/p/{i}?q=é" for i in range(n)],
            [i / 4 for i in range(n)],
        ]
        client.execute(f"INSERT INTO clicktrail.{table} VALUES", columns, columnar=True)
        back = client.execute(
            f"SELECT day, id, url, ms FROM clicktrail.{table} ORDER BY id", columnar=True
        )
        totals = client.execute(
            f"SELECT count(), sum(id), uniqExact(toYYYYMM(day)) FROM clicktrail.{table}"
        )
    finally:
        client.execute(f"DROP TABLE IF EXISTS clicktrail.{table}")
        client.disconnect()
    assert [list(c) for c in back] == columns
    assert totals == [(n, n * (n - 1) // 2, 2)]
