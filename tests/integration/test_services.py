"""The services tool, run as a user runs it (``scripts/services``), on its own port offsets and
run folders, so the session's own services are never touched.

Each test uses a different offset, so they can run in parallel with each other.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from clicktrail.settings import Settings

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "services"
BASE_REDIS_STATE = 17379  # clicktrail.ports.BASE_PORTS, restated so a change there is noticed


def _env(offset: int, folder: Path) -> dict[str, str]:
    return {
        **os.environ,
        "CLICKTRAIL_PORT_OFFSET": str(offset),
        "CLICKTRAIL_SERVICES_DIR": str(folder),
    }


def run(offset: int, folder: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(SCRIPT), *args],
        env=_env(offset, folder),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def ok(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


def status_line(result: subprocess.CompletedProcess, name: str) -> list[str]:
    [line] = [ln for ln in result.stdout.splitlines() if ln.startswith(name + " ")]
    return line.split()


def ping(port: int) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
        sock.sendall(b"PING\r\n")
        return sock.recv(16)


@pytest.mark.services
@pytest.mark.redis
def test_redis_state_start_is_idempotent_and_stop_stops(tmp_path: Path) -> None:
    offset, port = 500, BASE_REDIS_STATE + 500
    pidfile = tmp_path / "redis-state" / "redis-state.pid"
    try:
        first = ok(run(offset, tmp_path, "start", "redis-state"))
        assert "redis-state: started (pid " in first.stderr
        pid = int(pidfile.read_text())
        assert alive(pid)
        assert ping(port) == b"+PONG\r\n"
        conf = (tmp_path / "redis-state" / "redis.conf").read_text()
        assert f"port {port}\n" in conf and "bind 127.0.0.1\n" in conf

        began = time.monotonic()
        again = ok(run(offset, tmp_path, "start", "redis-state"))
        assert time.monotonic() - began < 5
        assert f"redis-state: already running (pid {pid}, port {port})" in again.stderr
        assert int(pidfile.read_text()) == pid

        status = ok(run(offset, tmp_path, "status", "redis-state"))
        assert status_line(status, "redis-state") == [
            "redis-state",
            "up",
            f"pid={pid}",
            f"port={port}",
        ]
        assert str(tmp_path) in status.stdout

        held = ok(run(offset, tmp_path, "memory", "redis-state"))
        name, processes, rss, rss_unit, pss, pss_unit = status_line(held, "redis-state")
        assert (processes, rss_unit, pss_unit) == ("1", "MiB", "MiB")
        assert 0 < int(pss) <= int(rss) < 200
        assert status_line(held, "all")[1:3] == ["1", rss]
    finally:
        stopped = ok(run(offset, tmp_path, "stop", "redis-state"))
    assert f"redis-state: stopped (pid {pid})" in stopped.stderr
    assert not alive(pid)
    assert not pidfile.exists()

    again = ok(run(offset, tmp_path, "stop", "redis-state"))
    assert "redis-state: not running" in again.stderr
    down = run(offset, tmp_path, "status", "redis-state")
    assert down.returncode == 3
    assert status_line(down, "redis-state") == ["redis-state", "down", "pid=-", f"port={port}"]
    # The data survives a stop: the AOF is where the next start reads the state from.
    assert list((tmp_path / "redis-state" / "data" / "appendonlydir").glob("*.aof"))


@pytest.mark.services
@pytest.mark.redis
def test_stale_pidfile_is_cleaned_and_a_foreign_pid_is_never_signalled(tmp_path: Path) -> None:
    offset = 505
    folder = tmp_path / "redis-state"
    folder.mkdir()
    pidfile = folder / "redis-state.pid"

    # A pid that has exited: status reports down and removes the pidfile.
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    pidfile.write_text(f"{gone.pid}\n")
    down = run(offset, tmp_path, "status")
    assert status_line(down, "redis-state")[1:3] == ["down", "pid=-"]
    assert not pidfile.exists()

    # A live process that is not ours (this test): stop must leave it alone.
    pidfile.write_text(f"{os.getpid()}\n")
    stopped = ok(run(offset, tmp_path, "stop", "redis-state"))
    assert "redis-state: not running" in stopped.stderr
    assert not pidfile.exists()

    # A garbage pidfile does not stop a start.
    pidfile.write_text("not a pid\n")
    try:
        ok(run(offset, tmp_path, "start", "redis-state"))
        pid = int(pidfile.read_text())
        assert pid != os.getpid() and alive(pid)
    finally:
        ok(run(offset, tmp_path, "stop", "redis-state"))
    assert not alive(pid)


@pytest.mark.services
@pytest.mark.redis
def test_port_taken_by_someone_else_is_a_clear_error(tmp_path: Path) -> None:
    offset, port = 510, BASE_REDIS_STATE + 510
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        result = run(offset, tmp_path, "start", "redis-state")
    assert result.returncode == 1
    assert f"port {port} is already in use by pid {os.getpid()}" in result.stderr
    assert not (tmp_path / "redis-state" / "redis-state.pid").exists()


@pytest.mark.services
@pytest.mark.redis
def test_a_server_that_dies_at_startup_fails_with_its_log(tmp_path: Path) -> None:
    offset = 515
    aof = tmp_path / "redis-state" / "data" / "appendonlydir"
    aof.mkdir(parents=True)
    (aof / "appendonly.aof.manifest").write_text("this is not a manifest\n")
    began = time.monotonic()
    result = run(offset, tmp_path, "start", "redis-state")
    assert result.returncode == 1
    assert time.monotonic() - began < 20  # noticed when it exits, not at the timeout
    assert "redis-state exited during startup" in result.stderr
    assert "redis.log" in result.stderr and "manifest" in result.stderr.lower()
    assert not (tmp_path / "redis-state" / "redis-state.pid").exists()


@pytest.mark.services
@pytest.mark.clickhouse
def test_clickhouse_start_query_stop(tmp_path: Path) -> None:
    offset = 500
    http_port, native_port = 17123 + offset, 17900 + offset
    pidfile = tmp_path / "clickhouse" / "clickhouse.pid"
    try:
        ok(run(offset, tmp_path, "start", "clickhouse"))
        pid = int(pidfile.read_text())
        url = f"http://127.0.0.1:{http_port}/?query=SELECT%20version()%20FORMAT%20JSON"
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(url, timeout=10) as response:
            assert json.load(response)["data"][0]["version()"].startswith("18.16")
        again = ok(run(offset, tmp_path, "start", "clickhouse"))
        assert f"clickhouse: already running (pid {pid}, port {native_port})" in again.stderr
        # Its data, logs and temp files stay in its own folder.
        assert (tmp_path / "clickhouse" / "data" / "metadata").is_dir()
        assert (tmp_path / "clickhouse" / "log" / "clickhouse-server.log").exists()
    finally:
        ok(run(offset, tmp_path, "stop", "clickhouse"))
    assert not alive(pid)


def test_urls_follow_the_port_offset(tmp_path: Path) -> None:
    result = ok(run(500, tmp_path, "urls"))
    urls = dict(line.split("=", 1) for line in result.stdout.splitlines())
    assert urls == {
        "CLICKTRAIL_EVENT_LOG_URL": "redis://127.0.0.1:17879/0?stream=events",
        "CLICKTRAIL_STATE_URL": "redis://127.0.0.1:17879/0",
        "CLICKTRAIL_PROFILE_URL": "redis://127.0.0.1:17880/0",
        "CLICKTRAIL_CLICKHOUSE_URL": "clickhouse://127.0.0.1:18400/clicktrail",
    }
    kafka = ok(run(500, tmp_path, "urls", "--kafka"))
    with_kafka = dict(line.split("=", 1) for line in kafka.stdout.splitlines())
    assert with_kafka["CLICKTRAIL_EVENT_LOG_URL"] == "kafka://127.0.0.1:17592/events"
    for printed in (urls, with_kafka):  # every line is a setting the services accept
        Settings.from_env({**printed, "CLICKTRAIL_PORT_OFFSET": "500"})


def test_unknown_service_and_command_are_usage_errors(tmp_path: Path) -> None:
    unknown = run(500, tmp_path, "start", "postgres")
    assert unknown.returncode == 2
    assert "unknown service postgres" in unknown.stderr
    assert run(500, tmp_path, "restart").returncode == 2
    assert not (tmp_path / "redis-state").exists()


@pytest.mark.services
def test_engine_status_marks_what_the_settings_do_not_use(tmp_path: Path) -> None:
    stores = ("CLICKTRAIL_CLICKHOUSE_URL", "CLICKTRAIL_EVENT_LOG_URL")
    env = {k: v for k, v in _env(520, tmp_path).items() if k not in stores}

    def engine_status(**settings: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(SCRIPT), "status", "--engine"],
            env={**env, **settings},
            capture_output=True,
            text=True,
            check=False,
        )

    # On the defaults, with nothing running in this folder: every needed part is down.
    defaults = engine_status()
    assert defaults.returncode == 3
    assert status_line(defaults, "kafka")[1:3] == ["not", "needed"]
    assert status_line(defaults, "clickhouse")[1:3] == ["not", "needed"]
    assert status_line(defaults, "redis-state")[1] == "down"
    assert status_line(defaults, "reports")[1] == "down"
    assert "needed and not up: redis-state, redis-profile, collector" in defaults.stderr
    assert "kafka" not in defaults.stderr and "clickhouse" not in defaults.stderr

    server = engine_status(CLICKTRAIL_CLICKHOUSE_URL="clickhouse://127.0.0.1:1/x")
    assert status_line(server, "clickhouse")[1] == "down"
    assert "clickhouse" in server.stderr
    assert status_line(server, "kafka")[1:3] == ["not", "needed"]

    assert run(520, tmp_path, "status", "--engine", "kafka").returncode == 2


def test_demo_clean_takes_back_the_demo_account_site_and_secrets(tmp_path: Path) -> None:
    from clicktrail.accounts.model import new_account
    from clicktrail.accounts.registry import edit_accounts, read_accounts
    from clicktrail.sites.model import Site
    from clicktrail.sites.registry import edit_sites, read_sites

    settings = Settings.from_env({}, data_dir=tmp_path)
    with edit_sites(settings.sites_file) as sites:
        sites["demo"] = Site("demo", origins=("http://127.0.0.1:17082",))
        sites["mine"] = Site("mine", origins=("https://mine.example.test",))
    with edit_accounts(settings.accounts_file) as accounts:
        accounts["demo"] = new_account("demo", "a demo password", "marketer", ("demo",), 0)
        accounts["me"] = new_account("me", "my own password", "admin", ("*",), 0)
    record = tmp_path / "demo" / "seed.json"
    record.parent.mkdir()
    record.write_text(
        json.dumps({"write_key": "k", "account": "demo", "password": "p", "traffic": 9})
    )

    def clean() -> str:
        env = {**os.environ, "CLICKTRAIL_DATA_DIR": str(tmp_path)}
        for name in ("CLICKTRAIL_SITES_FILE", "CLICKTRAIL_ACCOUNTS_FILE"):
            env.pop(name, None)
        done = subprocess.run(
            [sys.executable, "-m", "clicktrail.services.demo", "clean"],
            env=env, cwd=REPO, capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return done.stdout

    out = clean()
    assert "account 'demo'" in out and "site 'demo'" in out
    assert set(read_sites(settings.sites_file)) == {"mine"}
    assert set(read_accounts(settings.accounts_file)) == {"me"}
    # Only that the traffic was sent stays: a later DEMO=1 make up does not send it twice.
    assert json.loads(record.read_text()) == {"traffic": 9}
    assert "nothing of the demo found" in clean()
