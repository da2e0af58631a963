"""Sharing one chdb folder between processes.

chdb locks its folder to the process that opened it. The owner (the pipeline worker in
one-machine mode) runs ``ChdbHost``: a small server on a Unix socket next to the folder that
runs SQL for other processes (``clicktrail migrate``, profile rebuilds, reports, the
personalizer). They use ``ChdbRemote``, which speaks the same ``Warehouse`` interface and never
opens the folder itself.

Wire format, both ways: a 4-byte big-endian length, then the payload. A request is
``<kind byte><SQL text>`` with kind ``q`` (a read: answer in JSONCompact) or ``x`` (a statement:
no answer); a reply is ``<status byte><body>`` with status ``0`` (body: the answer) or ``1``/``2``
(body: the error message; ``2`` means the engine itself is unavailable).

In the owner, ``q`` runs on one of the warehouse's read sessions and ``x`` on its ingest
session, so a long read through the socket never holds up an insert. Each client connection
has a thread in the host, and carries one request at a time.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import socket
import socketserver
import struct
import threading
from pathlib import Path

from pipelines.warehouse.base import WarehouseError, WarehouseUnavailable
from pipelines.warehouse.embedded import ChdbStatements, ChdbWarehouse
from pipelines.warehouse.pool import Pool

log = logging.getLogger("clicktrail.warehouse")

_LENGTH = struct.Struct(">I")
MAX_MESSAGE = 256 * 1024 * 1024  # the default limit of a frame, each way
_SUN_PATH_MAX = 100  # AF_UNIX paths are limited to 108 bytes on Linux


class NoOwner(WarehouseUnavailable):
    """No process serves the chdb folder now (none owns it yet, or its owner stopped): retry
    later; the next call connects again."""


class MessageTooLarge(WarehouseError):
    """A frame announced more bytes than the receiver accepts (retrying gets the same)."""

    def __init__(self, length: int, limit: int) -> None:
        super().__init__(
            f"chdb host: a message of {length} bytes is over the limit of {limit} bytes "
            "(ask for fewer rows)"
        )
        self.length = length


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


def _receive(sock: socket.socket, limit: int) -> bytes | None:
    """One frame's payload; None when the peer closed the connection. Raises
    ``MessageTooLarge`` after reading only the header: the payload is still unread."""
    header = _read_exact(sock, _LENGTH.size)
    if header is None:
        return None
    (length,) = _LENGTH.unpack(header)
    if length > limit:
        raise MessageTooLarge(length, limit)
    return _read_exact(sock, length)


def _read_exact(sock: socket.socket, size: int) -> bytes | None:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(min(size - len(chunks), 1 << 20))
        if not chunk:
            return None
        chunks += chunk
    return bytes(chunks)


def _skip(sock: socket.socket, size: int) -> bool:
    """Read and drop ``size`` bytes; False when the peer closed the connection first."""
    while size > 0:
        chunk = sock.recv(min(size, 1 << 20))
        if not chunk:
            return False
        size -= len(chunk)
    return True


class ChdbHost:
    """Serves ``warehouse`` (owned by this process) to other processes until ``close()``.

    ``max_message``: the largest request accepted and answer sent, in bytes; a larger one gets
    an error reply and the connection stays usable."""

    def __init__(self, warehouse: ChdbWarehouse, max_message: int = MAX_MESSAGE) -> None:
        self.warehouse = warehouse
        self.path = socket_path(warehouse.path)
        self._max_message = max_message
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        if self.path.exists():  # left by an owner that died: we hold the folder lock now
            self.path.unlink()
        host = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                host._serve(self.request)

        self._server = socketserver.ThreadingUnixStreamServer(str(self.path), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="chdb-host", daemon=True
        )
        self._thread.start()

    def _serve(self, sock: socket.socket) -> None:
        """Answer one client's requests, one at a time, until it goes away."""
        with self._connections_lock:
            self._connections.add(sock)
        try:
            while True:
                try:
                    request = _receive(sock, self._max_message)
                except MessageTooLarge as exc:
                    # Drop the rest of that request, so the next one starts on a frame.
                    if not _skip(sock, exc.length):
                        return
                    _send(sock, b"1" + str(exc).encode())
                    continue
                if request is None:
                    return
                _send(sock, self._answer(request))
        except OSError as exc:  # the client went away mid-answer, or close() shut the socket
            log.debug("chdb host: a client connection ended: %r", exc)
        finally:
            with self._connections_lock:
                self._connections.discard(sock)

    def _answer(self, request: bytes) -> bytes:
        kind, sql = request[:1], request[1:].decode("utf-8", "replace")
        try:
            if kind == b"q":
                body = self.warehouse._select(sql)
            elif kind == b"x":
                self.warehouse._run(sql)
                body = b""
            else:
                return b"1" + f"chdb host: unknown request kind {kind!r}".encode()
        except WarehouseUnavailable as exc:
            return b"2" + str(exc).encode()
        except WarehouseError as exc:
            return b"1" + str(exc).encode()
        if len(body) + 1 > self._max_message:
            return b"1" + str(MessageTooLarge(len(body) + 1, self._max_message)).encode()
        return b"0" + body

    def close(self) -> None:
        """Stop serving: no new connections, and open ones are shut so their clients reconnect
        to the next owner. A statement still running finishes, its answer is dropped."""
        self._server.shutdown()
        self._server.server_close()
        with self._connections_lock:
            connections = list(self._connections)
        for sock in connections:
            with contextlib.suppress(OSError):  # already closed by its client
                sock.shutdown(socket.SHUT_RDWR)
        self.path.unlink(missing_ok=True)


class ChdbRemote(ChdbStatements):
    """The ``Warehouse`` of a chdb folder another process owns; safe to share between threads.

    Up to ``connections`` sockets to the owner, one statement each at a time; a statement
    waits up to ``timeout`` seconds for a free socket and up to ``timeout`` seconds for its
    answer. A socket that failed in any way (timeout, closed, a frame over ``max_message``) is
    discarded, never reused. Never opens the folder itself: while no process owns it every call
    raises ``NoOwner``, and the next call tries again."""

    def __init__(
        self,
        folder: Path,
        database: str,
        timeout: float = 30.0,
        connections: int = 4,
        max_message: int = MAX_MESSAGE,
    ) -> None:
        self.path = Path(folder)
        self.database = database
        self._socket_path = socket_path(self.path)
        self._timeout = timeout
        self._max_message = max_message
        self._sockets: Pool[socket.socket] = Pool(
            self._connect,
            _close_socket,
            size=connections,
            wait=timeout,
            name=f"connections to the chdb owner on {self._socket_path}",
        )

    def _connect(self) -> socket.socket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self._timeout)
        try:
            sock.connect(str(self._socket_path))
        except (FileNotFoundError, ConnectionRefusedError):
            sock.close()
            raise NoOwner(
                f"chdb folder {self.path} has no owner now: the pipeline worker serves it "
                f"(nothing answers on {self._socket_path})"
            ) from None
        except OSError as exc:
            sock.close()
            raise WarehouseUnavailable(
                f"chdb folder {self.path}: its owner does not answer on {self._socket_path} "
                f"({exc.strerror or exc})"
            ) from None
        return sock

    def _exchange(self, kind: bytes, sql: str) -> bytes:
        # Any error inside the lease discards the socket: it may hold part of an answer.
        with self._sockets.lease() as sock:
            try:
                _send(sock, kind + sql.encode())
                reply = _receive(sock, self._max_message)
            except OSError as exc:
                raise WarehouseUnavailable(f"chdb host {self._socket_path}: {exc!r}") from None
            if reply is None:
                raise WarehouseUnavailable(f"chdb host {self._socket_path} closed the connection")
        status, body = reply[:1], reply[1:]
        if status == b"0":
            return body
        if status == b"2":
            raise WarehouseUnavailable(body.decode())
        raise WarehouseError(body.decode())

    def _run(self, sql: str) -> None:
        self._exchange(b"x", sql)

    def _select(self, sql: str) -> bytes:
        return self._exchange(b"q", sql)

    def close(self) -> None:
        """Close idle sockets now, busy ones when their statement ends."""
        self._sockets.close()


def _close_socket(sock: socket.socket) -> None:
    sock.close()
