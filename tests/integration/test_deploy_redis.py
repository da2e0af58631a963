"""The two Redis configurations in deploy/redis run under the real redis-server with the roles
docs/deploy.md gives them: the state one never evicts and keeps an append-only file, the
profile one evicts least recently used keys and keeps snapshots."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

FOLDER = Path(__file__).parents[2] / "deploy" / "redis"

pytestmark = pytest.mark.skipif(
    shutil.which("redis-server") is None,
    reason="redis-server is not installed (Debian redis-server)",
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _run(name: str, tmp_path: Path) -> Iterator[redis.Redis]:
    """The shipped file with only its port, paths and password changed, under redis-server."""
    port = _free_port()
    text = (FOLDER / name).read_text()
    text = re.sub(r"(?m)^port \d+$", f"port {port}", text)
    text = re.sub(r"(?m)^bind .*$", "bind 127.0.0.1", text)
    text = re.sub(r"(?m)^pidfile .*$", f"pidfile {tmp_path}/redis.pid", text)
    text = re.sub(r"(?m)^logfile .*$", f"logfile {tmp_path}/redis.log", text)
    text = re.sub(r"(?m)^dir .*$", f"dir {tmp_path}", text)
    text = re.sub(r"(?m)^requirepass .*$", "requirepass test-password", text)
    config = tmp_path / name
    config.write_text(text)
    server = subprocess.Popen(
        ["redis-server", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    client = redis.Redis(port=port, password="test-password", socket_timeout=5)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                log = tmp_path / "redis.log"
                if server.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(log.read_text() if log.exists() else "no log") from None
                time.sleep(0.05)
        yield client
    finally:
        client.close()
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture
def state(tmp_path: Path) -> Iterator[redis.Redis]:
    yield from _run("redis-state.conf", tmp_path)


@pytest.fixture
def profile(tmp_path: Path) -> Iterator[redis.Redis]:
    yield from _run("redis-profile.conf", tmp_path)


def _config(client: redis.Redis, name: str) -> str:
    return str(client.config_get(name)[name])


def test_the_state_redis_never_evicts_and_keeps_an_append_only_file(state: redis.Redis):
    assert _config(state, "maxmemory-policy") == "noeviction"
    assert _config(state, "appendonly") == "yes"
    assert _config(state, "appendfsync") == "everysec"
    assert _config(state, "save") == ""
    assert state.info("persistence")["aof_enabled"] == 1
    # Full: a write is refused, nothing is evicted.
    state.set("salt", "x" * 1000)
    state.config_set("maxmemory", state.info("memory")["used_memory"])
    with pytest.raises(redis.ResponseError, match="maxmemory"):
        state.set("another", "y" * 100_000)
    assert state.get("salt") == b"x" * 1000


def test_the_profile_redis_evicts_and_snapshots(profile: redis.Redis):
    assert _config(profile, "maxmemory-policy") == "allkeys-lru"
    assert _config(profile, "appendonly") == "no"
    assert _config(profile, "save") == "3600 1 300 100 60 10000"
    profile.config_set("maxmemory", profile.info("memory")["used_memory"] + 200_000)
    for n in range(100):
        profile.set(f"profile:{n}", "z" * 10_000)  # 1 MB into 200 kB: evicts, never refuses
    assert profile.dbsize() < 100
    assert profile.info("stats")["evicted_keys"] > 0


def test_a_client_without_the_password_is_refused(state: redis.Redis):
    port = state.connection_pool.connection_kwargs["port"]
    with socket.create_connection(("127.0.0.1", port), timeout=5) as anonymous:
        anonymous.sendall(b"GET salt\r\n")
        assert anonymous.recv(100).startswith(b"-NOAUTH")
