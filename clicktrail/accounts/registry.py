"""The accounts file (``CLICKTRAIL_ACCOUNTS_FILE``): edited by ``clicktrail accounts``, read by
the reports service's dashboard, which notices changes by itself (as with the token file)."""

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

from clicktrail.accounts.model import Account, AccountError

FILE_VERSION = 1
log = logging.getLogger(__name__)


def read_accounts(path: Path) -> dict[str, Account]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise AccountError(f"{path}: not valid JSON: {exc}") from None
    if not isinstance(document, dict) or document.get("version") != FILE_VERSION:
        raise AccountError(f'{path}: must be {{"version": 1, "accounts": {{...}}}}')
    entries = document.get("accounts")
    if not isinstance(entries, dict):
        raise AccountError(f"{path}: accounts must be an object")
    return {name: Account.from_json(name, data) for name, data in entries.items()}


@contextlib.contextmanager
def edit_accounts(path: Path) -> Iterator[dict[str, Account]]:
    """Lock the file, yield its accounts for changing in place, write them atomically (mode
    0600: password hashes are nobody else's business)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        accounts = read_accounts(path)
        yield accounts
        document = {
            "version": FILE_VERSION,
            "accounts": {name: accounts[name].to_json() for name in sorted(accounts)},
        }
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(json.dumps(document, indent=2) + "\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)


class AccountRegistry:
    """``get`` is cheap and thread-safe; the file is re-read when it changes (checked at most
    every ``reload_seconds``); an invalid file keeps the last good accounts."""

    def __init__(
        self, path: Path, reload_seconds: float = 1.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._path = path
        self._reload = reload_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._signature: tuple[int, int, int] | None = None
        self._checked = float("-inf")
        self._accounts: dict[str, Account] = {}
        self._refresh(strict=True)

    def get(self, username: str) -> Account | None:
        if self._clock() - self._checked >= self._reload:
            self._refresh()
        return self._accounts.get(username)

    def _refresh(self, strict: bool = False) -> None:
        with self._lock:
            self._checked = self._clock()
            try:
                stat = self._path.stat()
                signature: tuple[int, int, int] | None = (
                    stat.st_mtime_ns,
                    stat.st_size,
                    stat.st_ino,
                )
            except FileNotFoundError:
                signature = None
            if signature == self._signature:
                return
            try:
                self._accounts = read_accounts(self._path)
            except (AccountError, OSError) as exc:
                if strict:
                    raise
                log.error("accounts file %s is invalid, keeping the last one: %s", self._path, exc)
            self._signature = signature
