"""Process plumbing shared by every service: pidfiles, detached spawning, ports, waiting, logs.

Stdlib only: this runs before the project's pip dependencies are installed.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

from clicktrail.services.errors import ServiceError

HOST = "127.0.0.1"

# The launcher is a short-lived middle process: the service becomes its child in a new session
# and is re-parented to init when the launcher exits. So the service is never a child of the
# caller (a long pytest run, say), which then never has a zombie or a Popen to reap or warn about.
_LAUNCHER = """
import subprocess, sys
cwd, log, *cmd = sys.argv[1:]
with open(log, "ab") as out:
    proc = subprocess.Popen(cmd, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out,
                            stderr=subprocess.STDOUT, start_new_session=True)
print(proc.pid)
proc.returncode = 0  # the launcher exits now; the service lives on, re-parented to init
"""


class ProcessError(ServiceError):
    """A service process could not be started, found or stopped; the message says why."""


def read_pid(pidfile: Path) -> int | None:
    try:
        text = pidfile.read_text().strip()
    except FileNotFoundError:
        return None
    return int(text) if text.isdigit() else None


def write_pid(pidfile: Path, pid: int) -> None:
    # Write then rename, so a reader never sees a half-written pid.
    tmp = pidfile.with_name(pidfile.name + ".tmp")
    tmp.write_text(f"{pid}\n")
    tmp.replace(pidfile)


def remove_pid(pidfile: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        pidfile.unlink()


def is_alive(pid: int) -> bool:
    """True when ``pid`` runs; a zombie counts as dead, as it can never answer again."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by another user
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc: trust kill(0)
    # The state letter follows the ")" that ends the command name (which may hold spaces).
    return stat[stat.rindex(")") + 2] not in "ZX"


def cmdline(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()


def owns(pid: int, marker: str) -> bool:
    """True when ``pid`` is alive and its command line holds ``marker``.

    The marker is a path unique to one service's run folder (its config file), so a pid that
    the system recycled for some other program after a crash is never mistaken for ours.
    """
    return is_alive(pid) and marker in cmdline(pid)


def port_open(port: int, host: str = HOST, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _listening_inodes(port: int) -> set[str] | None:
    """Socket inodes listening on ``port`` (any address); None when /proc cannot tell."""
    inodes: set[str] = set()
    readable = False
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        readable = True
        for line in lines:
            fields = line.split()
            # local_address is HEXIP:HEXPORT; state 0A is LISTEN.
            if len(fields) > 9 and fields[3] == "0A" and int(fields[1].split(":")[1], 16) == port:
                inodes.add(fields[9])
    return inodes if readable else None


def listening(port: int) -> bool:
    """True when something listens on ``port``, checked without connecting to it.

    Used for servers that log every connection that closes without a request (ClickHouse's
    native port), so polling them does not fill their error log.
    """
    inodes = _listening_inodes(port)
    return port_open(port) if inodes is None else bool(inodes)


def port_owner(port: int) -> str | None:
    """``"pid N (command)"`` of the process listening on ``port``, when /proc can tell."""
    inodes = _listening_inodes(port)
    if not inodes:
        return None
    wanted = {f"socket:[{inode}]" for inode in inodes}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            fds = list((proc / "fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(fd) in wanted:
                    command = " ".join(cmdline(int(proc.name)).split())
                    return f"pid {proc.name} ({command[:80]})"
            except OSError:
                continue
    return None


def spawn_detached(
    cmd: Sequence[str], *, cwd: Path, log: Path, env: Mapping[str, str] | None = None
) -> int:
    """Start ``cmd`` in its own session, output appended to ``log``; returns its pid."""
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", _LAUNCHER, str(cwd), str(log), *cmd],
        env=dict(env) if env is not None else None,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if result.returncode != 0 or not result.stdout.strip().isdigit():
        raise ProcessError(
            f"could not start {cmd[0]}: {result.stderr.strip() or result.stdout.strip()}"
        )
    return int(result.stdout.strip())


def terminate(pid: int, timeout: float = 30.0) -> bool:
    """SIGTERM, wait up to ``timeout`` s, then SIGKILL. True if it had to be killed."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    if wait_until(lambda: not is_alive(pid), timeout):
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not is_alive(pid), 10.0)
    return True


def wait_until(
    predicate: Callable[[], bool], timeout: float, *, abort: Callable[[], bool] | None = None
) -> bool:
    """Poll ``predicate`` until true (True) or ``timeout`` s pass or ``abort`` is true (False)."""
    deadline = time.monotonic() + timeout
    delay = 0.02
    while True:
        if predicate():
            return True
        if abort is not None and abort():
            return False
        if time.monotonic() >= deadline:
            return False
        time.sleep(delay)
        delay = min(delay * 1.5, 0.25)  # quick for fast services, gentle for slow ones


def tail(path: Path, lines: int = 25) -> str:
    try:
        with path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 64 * 1024))
            text = f.read().decode(errors="replace")
    except OSError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:]) or f"(empty log {path})"


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Exclusive lock on ``path``: two concurrent start/stop runs on one folder take turns."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
