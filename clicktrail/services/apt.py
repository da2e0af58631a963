"""Debian packages: install only the missing ones, waiting out other apt/dpkg runs."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterable

from clicktrail.services.errors import ServiceError

# Another apt run (a provisioning script, unattended-upgrades) may hold the dpkg or lists lock
# for a while; waiting for it is better than failing a fresh machine's first start.
LOCK_WAIT_SECONDS = 300.0
_LOCK_MESSAGES = ("Could not get lock", "Unable to lock", "is another process using it")

_updated = False  # apt-get update runs at most once per process


class AptError(ServiceError):
    """A package could not be installed; the message has the tail of apt's output."""


def is_installed(package: str) -> bool:
    result = subprocess.run(
        ["dpkg-query", "-W", "-f=${Status}", package],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.returncode == 0 and result.stdout.strip() == "install ok installed"


def missing(packages: Iterable[str]) -> list[str]:
    return [p for p in dict.fromkeys(packages) if not is_installed(p)]


def ensure(packages: Iterable[str], say: Callable[[str], None]) -> list[str]:
    """Install the packages that are not installed yet; returns those it installed."""
    todo = missing(packages)
    if not todo:
        return []
    if shutil.which("apt-get") is None:
        raise AptError(f"missing packages {' '.join(todo)} and no apt-get to install them")
    global _updated
    started = time.monotonic()
    if not _updated:
        say("apt-get update")
        _run(["apt-get", "update"])
        _updated = True
    say(f"apt-get install {' '.join(todo)}")
    _run(
        [
            "apt-get",
            "install",
            "-y",
            "--no-install-recommends",
            "-o",
            f"DPkg::Lock::Timeout={int(LOCK_WAIT_SECONDS)}",
            *todo,
        ]
    )
    still = missing(todo)
    if still:
        raise AptError(f"apt-get install finished but {' '.join(still)} is still not installed")
    say(f"installed {' '.join(todo)} in {time.monotonic() - started:.1f}s")
    return todo


def _run(argv: list[str]) -> None:
    if os.geteuid() != 0:
        if shutil.which("sudo") is None:
            raise AptError(f"need root to run {' '.join(argv)} (and there is no sudo)")
        argv = ["sudo", "-n", *argv]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    while True:
        result = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
        if result.returncode == 0:
            return
        output = result.stdout + result.stderr
        # DPkg::Lock::Timeout covers the dpkg lock only; `update` takes the lists lock, so
        # retry here on any lock message until the deadline.
        if any(m in output for m in _LOCK_MESSAGES) and time.monotonic() < deadline:
            time.sleep(3)
            continue
        last = "\n".join(output.strip().splitlines()[-20:])
        raise AptError(f"{' '.join(argv)} failed (exit {result.returncode}):\n{last}")
