"""What every service has in common: its folder, pidfile, start/stop/status and readiness."""

from __future__ import annotations

import os
import re
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from clicktrail import ports
from clicktrail.services import process
from clicktrail.services.errors import ServiceError

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPTS_DIR = REPO_ROOT / "scripts"
CACHE_DIR = REPO_ROOT / ".cache"
DIR_VARIABLE = "CLICKTRAIL_SERVICES_DIR"

Say = Callable[[str], None]
_PLACEHOLDER = re.compile(r"@[A-Z][A-Z0-9_]*@")


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    state: str  # "up" (ours and answering), "unready" (ours, not answering yet), "down"
    pid: int | None
    port: int
    folder: Path

    @property
    def up(self) -> bool:
        return self.state == "up"


def run_dir() -> Path:
    """The folder holding every service's config, data, logs and pidfile."""
    override = os.environ.get(DIR_VARIABLE)
    if override:
        return Path(override).resolve()
    return REPO_ROOT / "var" / "run" / str(ports.port_offset())


class Service(ABC):
    """One server process, kept in ``<run dir>/<name>/``."""

    name: str
    start_timeout: float = 60.0
    stop_timeout: float = 30.0

    def __init__(self, root: Path) -> None:
        self.folder = root / self.name
        self.pidfile = self.folder / f"{self.name}.pid"
        self.log_dir = self.folder / "log"
        self.data_dir = self.folder / "data"
        # Everything the process itself prints (crashes, JVM errors) lands here.
        self.stdout_log = self.log_dir / "stdout.log"

    # --- what each service defines --------------------------------------------------------

    @property
    @abstractmethod
    def port(self) -> int:
        """The main client port (shown by status)."""

    @property
    def ports(self) -> tuple[int, ...]:
        """Every port the service listens on; all must be free before it starts."""
        return (self.port,)

    @property
    @abstractmethod
    def config_file(self) -> Path:
        """A file unique to this instance; its path is on the process's command line."""

    def apt_packages(self) -> list[str]:
        return []

    def install_extra(self, say: Say) -> None:  # noqa: B027 - most services need nothing more
        """Installs what apt does not provide (called after the apt packages are in)."""

    @abstractmethod
    def prepare(self) -> None:
        """Writes the config and creates folders; runs before every start."""

    @abstractmethod
    def command(self) -> list[str]: ...

    def environment(self) -> dict[str, str]:
        return dict(os.environ)

    @abstractmethod
    def ready(self) -> bool:
        """True when the service answers a real request (not just an open port)."""

    def logs(self) -> list[Path]:
        """Logs whose tail explains a failed start, most telling first."""
        return [self.stdout_log]

    # --- shared behaviour -----------------------------------------------------------------

    def running_pid(self) -> int | None:
        """Our live pid, or None; a pidfile naming a dead or foreign process is removed."""
        pid = process.read_pid(self.pidfile)
        if pid is None:
            return None
        if process.owns(pid, str(self.config_file)):
            return pid
        process.remove_pid(self.pidfile)
        return None

    def status(self) -> ServiceStatus:
        pid = self.running_pid()
        state = "down" if pid is None else "up" if self.ready() else "unready"
        return ServiceStatus(self.name, state, pid, self.port, self.folder)

    def launch(self, say: Say) -> int | None:
        """Starts the process unless it already runs; returns the new pid or None if it ran."""
        pid = self.running_pid()
        if pid is not None:
            return None
        for port in self.ports:
            if process.port_open(port):
                owner = process.port_owner(port)
                raise ServiceError(
                    f"{self.name}: port {port} is already in use by "
                    f"{owner or 'another process'}, which this tool did not start "
                    f"(from {self.folder}); stop it or choose another CLICKTRAIL_PORT_OFFSET"
                )
        for folder in (self.folder, self.log_dir, self.data_dir):
            folder.mkdir(parents=True, exist_ok=True)
        self.prepare()
        pid = process.spawn_detached(
            self.command(), cwd=self.folder, log=self.stdout_log, env=self.environment()
        )
        process.write_pid(self.pidfile, pid)
        return pid

    def wait_ready(self, pid: int) -> None:
        began = time.monotonic()
        process.wait_until(lambda: self.started(pid, began), self.start_timeout + 1)

    def started(self, pid: int, began: float) -> bool:
        """True once ready; raises with the log's tail if the process died or took too long."""
        if self.ready():
            return True
        if not process.is_alive(pid):
            process.remove_pid(self.pidfile)
            why = f"exited during startup (pid {pid})"
        elif time.monotonic() - began > self.start_timeout:
            why = f"did not answer within {self.start_timeout:.0f}s (pid {pid} still runs)"
        else:
            return False
        raise ServiceError(f"{self.name} {why}.\n{self.log_tails()}")

    def stop(self, say: Say) -> bool:
        """Stops the process if it runs; True if it was running."""
        pid = self.running_pid()
        if pid is None:
            return False
        began = time.monotonic()
        killed = process.terminate(pid, self.stop_timeout)
        process.remove_pid(self.pidfile)
        how = "killed after SIGTERM timed out" if killed else "stopped"
        say(f"{self.name}: {how} (pid {pid}) in {time.monotonic() - began:.1f}s")
        return True

    def log_tails(self, lines: int = 25) -> str:
        parts = []
        for log in self.logs():
            if log.exists() and log.stat().st_size > 0:
                parts.append(f"--- last lines of {log} ---\n{process.tail(log, lines)}")
        return "\n".join(parts) or f"(no logs in {self.log_dir})"


def render(template: Path, target: Path, values: dict[str, object]) -> None:
    """Fills ``@NAME@`` placeholders; an unfilled one is a bug in the template or the caller."""
    text = template.read_text()
    for key, value in values.items():
        text = text.replace(f"@{key}@", str(value))
    leftover = sorted(set(_PLACEHOLDER.findall(text)))
    if leftover:
        raise ServiceError(f"{template}: placeholders left unfilled: {', '.join(leftover)}")
    write_if_changed(target, text)


def write_if_changed(target: Path, text: str) -> None:
    if target.exists() and target.read_text() == text:
        return
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(target)


def names_in(names: Sequence[str] | None, known: Sequence[str]) -> list[str]:
    if names is None or len(names) == 0:
        return list(known)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ServiceError(f"unknown service {', '.join(unknown)}; known: {', '.join(known)}")
    return list(dict.fromkeys(names))
