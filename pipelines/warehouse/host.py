"""Sharing one chdb folder between processes.

chdb locks its folder to the process that opened it. The owner (the pipeline worker in
one-machine mode) runs ``ChdbHost``: a small server on a Unix socket next to the folder that
runs SQL for other processes (``clicktrail migrate``, profile rebuilds, reports, the
personalizer). They use ``ChdbRemote``, which speaks the same ``Warehouse`` interface.

Wire format, both ways: a 4-byte big-endian length, then the payload. A request is
``<kind byte><SQL text>`` with kind ``q`` (answer in JSONCompact) or ``x`` (no answer);
a reply is ``<status byte><body>`` with status ``0`` (body: the answer) or ``1``/``2``
(body: the error message; ``2`` means the engine itself is unavailable).
"""

from __future__ import annotations

import hashlib
import socket
import socketserver
import struct
import threading
from pathlib import Path

from pipelines.warehouse.base import WarehouseError, WarehouseUnavailable
from pipelines.warehouse.embedded import ChdbStatements, ChdbWarehouse

_LENGTH = struct.Struct(">I")
MAX_MESSAGE = 256 * 1024 * 1024
_SUN_PATH_MAX = 100  # AF_UNIX paths are limited to 108 bytes on Linux


def socket_path(folder: Path) -> Path:
    """Where the owner of ``folder`` listens (beside the folder, or under /tmp when long)."""
    folder = Path(folder).resolve()
    beside = folder.parent / f".{folder.name}.owner.sock"
    if len(str(beside)) <= _SUN_PATH_MAX:
        return beside
    digest = hashlib.sha1(str(folder).encode()).hexdigest()[:16]
    return Path("/tmp") / f"clicktrail-chdb-{digest}.sock"


def _send(sock: socket.socket, payload: bytes) -> None:
    sock.sendall(_LENGTH.pack(len(payload)) + payload)


def _receive(sock: socket.socket) -> bytes | None:
    header = _read_exact(sock, _LENGTH.size)
    if header is None:
        return None
    (length,) = _LENGTH.unpack(header)
    if length > MAX_MESSAGE:
        raise WarehouseError(f"chdb host: message of {length} bytes is over the limit")
    return _read_exact(sock, length)


def _read_exact(sock: socket.socket, size: int) -> bytes | None:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(min(size - len(chunks), 1 << 20))
        if not chunk:
            return None
        chunks += chunk
    return bytes(chunks)


class ChdbHost:
    """Serves ``warehouse`` (owned by this process) to other processes until ``close()``."""

    def __init__(self, warehouse: ChdbWarehouse) -> None:
        self.warehouse = warehouse
        self.path = socket_path(warehouse.path)
        if self.path.exists():  # left by an owner that died: we hold the folder lock now
            self.path.unlink()
        host = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                while (request := _receive(self.request)) is not None:
                    _send(self.request, host._answer(request))

        self._server = socketserver.ThreadingUnixStreamServer(str(self.path), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="chdb-host", daemon=True
        )
        self._thread.start()

    def _answer(self, request: bytes) -> bytes:
        kind, sql = request[:1], request[1:].decode("utf-8", "replace")
        try:
            body = self.warehouse._run(sql, "JSONCompact" if kind == b"q" else None)
        except WarehouseUnavailable as exc:
            return b"2" + str(exc).encode()
        except WarehouseError as exc:
            return b"1" + str(exc).encode()
        return b"0" + body

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self.path.unlink(missing_ok=True)


class ChdbRemote(ChdbStatements):
    """The ``Warehouse`` of a chdb folder another process owns."""

    def __init__(self, folder: Path, database: str, timeout: float = 30.0) -> None:
        self.path = Path(folder)
        self.database = database
        self._socket_path = socket_path(self.path)
        self._timeout = timeout
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()

    def _connect(self) -> socket.socket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self._timeout)
        try:
            sock.connect(str(self._socket_path))
        except OSError as exc:
            sock.close()
            raise WarehouseUnavailable(
                f"chdb folder {self.path}: its owner does not answer on {self._socket_path} "
                f"({exc.strerror or exc})"
            ) from None
        return sock

    def _run(self, sql: str, output_format: str | None) -> bytes:
        request = (b"q" if output_format else b"x") + sql.encode()
        with self._lock:
            try:
                if self._sock is None:
                    self._sock = self._connect()
                _send(self._sock, request)
                reply = _receive(self._sock)
            except OSError as exc:
                self._drop()
                raise WarehouseUnavailable(f"chdb host {self._socket_path}: {exc!r}") from None
            if reply is None:
                self._drop()
                raise WarehouseUnavailable(f"chdb host {self._socket_path} closed the connection")
        status, body = reply[:1], reply[1:]
        if status == b"0":
            return body
        if status == b"2":
            raise WarehouseUnavailable(body.decode())
        raise WarehouseError(body.decode())

    def _drop(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def ping(self) -> bool:
        try:
            self._run("SELECT 1", "JSONCompact")
        except (WarehouseError, WarehouseUnavailable):
            return False
        return True

    def close(self) -> None:
        with self._lock:
            self._drop()
