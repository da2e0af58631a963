"""The site registry file, shared by every service and edited by ``clicktrail sites``.

Readers (``SiteRegistry``) notice a changed file by its stat signature, checked at most every
``reload_seconds``, so running services pick up edits without a restart. A file that turns
invalid while a service runs is logged and the last good registry stays in force. Writers
(``edit_sites``) hold an exclusive lock and replace the file atomically, so readers never see a
half-written registry.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from clicktrail.sites.model import Site, SiteError

FILE_VERSION = 1
log = logging.getLogger(__name__)


def parse_sites(text: str) -> dict[str, Site]:
    """The sites of a registry file's text; raises ``SiteError`` naming what is wrong."""
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise SiteError(f"the registry is not valid JSON: {exc}") from None
    if not isinstance(document, dict) or not isinstance(document.get("sites"), dict):
        raise SiteError('the registry must be {"version": 1, "sites": {...}}')
    if document.get("version") != FILE_VERSION:
        raise SiteError(f"unsupported registry version {document.get('version')!r}")
    return {site_id: Site.from_json(site_id, data) for site_id, data in document["sites"].items()}


def render_sites(sites: dict[str, Site]) -> str:
    document = {
        "version": FILE_VERSION,
        "sites": {site_id: sites[site_id].to_json() for site_id in sorted(sites)},
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def read_sites(path: Path) -> dict[str, Site]:
    """The registry at ``path``; a missing file is an empty registry."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    return parse_sites(text)


@contextlib.contextmanager
def edit_sites(path: Path) -> Iterator[dict[str, Site]]:
    """Lock the registry, yield its sites for changing in place, then write them atomically.

    Nothing is written if the block raises."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        sites = read_sites(path)
        yield sites
        _write_atomically(path, render_sites(sites))


def _write_atomically(path: Path, text: str) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, 0o640)  # it holds key digests, not keys, but is nobody else's
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


class SiteRegistry:
    """Read side of the registry for a running service: ``get`` is cheap and thread-safe."""

    def __init__(
        self,
        path: Path,
        reload_seconds: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._path = path
        self._reload_seconds = reload_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._signature: tuple[int, int, int] | None = None
        self._checked_at = float("-inf")
        self._sites: dict[str, Site] = {}
        self.reload(strict=True)

    def get(self, site_id: str) -> Site | None:
        self._maybe_reload()
        return self._sites.get(site_id)

    def all(self) -> dict[str, Site]:
        self._maybe_reload()
        return dict(self._sites)

    def reload(self, strict: bool = False) -> None:
        """Read the file now if it changed. ``strict`` raises on an invalid file (at start);
        otherwise the error is logged and the last good registry stays."""
        with self._lock:
            self._checked_at = self._clock()
            signature = self._stat()
            if signature == self._signature:
                return
            try:
                sites = read_sites(self._path)
            except (SiteError, OSError) as exc:
                if strict:
                    raise
                log.error(
                    "site registry %s is invalid, keeping the previous one: %s", self._path, exc
                )
            else:
                self._sites = sites
                log.info("site registry %s loaded: %d sites", self._path, len(sites))
            self._signature = signature

    def _maybe_reload(self) -> None:
        if self._clock() - self._checked_at >= self._reload_seconds:
            self.reload()

    def _stat(self) -> tuple[int, int, int] | None:
        try:
            stat = self._path.stat()
        except FileNotFoundError:
            return None
        return (stat.st_ino, stat.st_mtime_ns, stat.st_size)


def site_from_options(site_id: str, options: dict[str, Any], base: Site | None = None) -> Site:
    """A site from CLI options layered over ``base``; validated like the file."""
    data = base.to_json() if base else {}
    data.update({name: value for name, value in options.items() if value is not None})
    return Site.from_json(site_id, data)
