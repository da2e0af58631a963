"""Two redis-server processes with opposite durability: state (never evicts) and profile (LRU)."""

from __future__ import annotations

import socket
from pathlib import Path

from clicktrail import ports
from clicktrail.services import process
from clicktrail.services.base import Service, write_if_changed

# Shared by both instances. The process is backgrounded by our launcher (not daemonized), so
# our pidfile is the only one; set-proc-title off keeps the config path on the command line,
# which is how a pidfile's pid is recognised as ours.
_COMMON = {
    "bind": "127.0.0.1",
    "protected-mode": "yes",
    "daemonize": "no",
    "set-proc-title": "no",
    "loglevel": "notice",
    "databases": "16",
    "tcp-keepalive": "300",
}

# Event streams and durable state: every write is in the AOF within a second, and a full
# memory makes writes fail loudly instead of silently evicting unacknowledged events.
_STATE = {
    "appendonly": "yes",
    "appendfsync": "everysec",
    "appenddirname": "appendonlydir",
    "aof-use-rdb-preamble": "yes",
    "save": '""',  # the AOF is the persistence; periodic RDB dumps would only double the I/O
    "maxmemory": "4gb",
    "maxmemory-policy": "noeviction",
}

# Visitor profiles and caches: bounded memory, least recently used keys go first, and an
# occasional RDB snapshot is enough, as everything here can be rebuilt.
_PROFILE = {
    "appendonly": "no",
    "save": "3600 1 300 100 60 10000",
    "dbfilename": "dump.rdb",
    "maxmemory": "512mb",
    "maxmemory-policy": "allkeys-lru",
}


class RedisService(Service):
    start_timeout = 30.0
    port_name: str
    settings: dict[str, str]

    @property
    def port(self) -> int:
        return ports.port(self.port_name)

    @property
    def config_file(self) -> Path:
        return self.folder / "redis.conf"

    def apt_packages(self) -> list[str]:
        return ["redis-server"]

    def prepare(self) -> None:
        values = {
            **_COMMON,
            "port": str(self.port),
            "dir": str(self.data_dir),
            "logfile": str(self.log_dir / "redis.log"),
            **self.settings,
        }
        lines = [f"# Written by clicktrail.services ({self.name}); edits are overwritten."]
        lines += [f"{key} {value}" for key, value in values.items()]
        write_if_changed(self.config_file, "\n".join(lines) + "\n")

    def command(self) -> list[str]:
        return ["redis-server", str(self.config_file)]

    def ready(self) -> bool:
        # -LOADING while the AOF is replayed; only +PONG means commands are served.
        return ping(self.port)

    def logs(self) -> list[Path]:
        return [self.log_dir / "redis.log", self.stdout_log]


class RedisState(RedisService):
    name = "redis-state"
    port_name = "redis_state"
    settings = _STATE


class RedisProfile(RedisService):
    name = "redis-profile"
    port_name = "redis_profile"
    settings = _PROFILE


def ping(port: int, host: str = process.HOST, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False
