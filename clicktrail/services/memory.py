"""How much memory a running service holds: its process and every process under it (gunicorn's
workers, a launcher's children), read from ``/proc``. Stdlib only, Linux only.

RSS counts a page shared by several processes (a library, a gunicorn worker's pages still
shared with its master after the fork) once in each; PSS divides it among them, so the PSS of
all the engine's processes adds up to what they really take together.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")


@dataclass(frozen=True)
class Memory:
    processes: int
    rss_bytes: int
    pss_bytes: int  # 0 where /proc/<pid>/smaps_rollup cannot be read


def _children() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # exited while listed
            continue
        # The command name, in parentheses, may hold spaces: the fields after it are fixed.
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    return children


def tree(pid: int) -> list[int]:
    """``pid`` and every process below it."""
    children = _children()
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def _kib(path: Path, field: str) -> int:
    try:
        text = path.read_text()
    except OSError:
        return 0
    for line in text.splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0


def measure(pid: int) -> Memory:
    """The memory of ``pid`` and its descendants, as they stand now."""
    pids = [p for p in tree(pid) if (PROC / str(p)).exists()]
    rss = sum(_kib(PROC / str(p) / "status", "VmRSS") for p in pids)
    pss = sum(_kib(PROC / str(p) / "smaps_rollup", "Pss") for p in pids)
    return Memory(len(pids), rss, pss)


def mib(value: int) -> str:
    return f"{value / 2**20:,.0f} MiB"


def supported() -> bool:
    return os.path.isdir(PROC / "self")
