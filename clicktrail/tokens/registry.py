"""The token file (``CLICKTRAIL_TOKENS_FILE``): edited by ``clicktrail tokens``, read by the
services, which notice changes by themselves (as with the site registry)."""

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

from clicktrail.tokens.model import Token, TokenError, token_id_of

FILE_VERSION = 1
log = logging.getLogger(__name__)


def read_tokens(path: Path) -> dict[str, Token]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise TokenError(f"{path}: not valid JSON: {exc}") from None
    if not isinstance(document, dict) or document.get("version") != FILE_VERSION:
        raise TokenError(f'{path}: must be {{"version": 1, "tokens": {{...}}}}')
    entries = document.get("tokens")
    if not isinstance(entries, dict):
        raise TokenError(f"{path}: tokens must be an object")
    return {token_id: Token.from_json(token_id, data) for token_id, data in entries.items()}


@contextlib.contextmanager
def edit_tokens(path: Path) -> Iterator[dict[str, Token]]:
    """Lock the file, yield its tokens for changing in place, write them atomically (mode
    0600: it holds digests only, but nobody else needs them)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        tokens = read_tokens(path)
        yield tokens
        document = {
            "version": FILE_VERSION,
            "tokens": {tid: tokens[tid].to_json() for tid in sorted(tokens)},
        }
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(json.dumps(document, indent=2) + "\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)


class TokenRegistry:
    """``authenticate`` is cheap and thread-safe; the file is re-read when it changes (checked
    at most every ``reload_seconds``); an invalid file keeps the last good tokens."""

    def __init__(
        self, path: Path, reload_seconds: float = 1.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._path = path
        self._reload = reload_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._signature: tuple[int, int, int] | None = None
        self._checked = float("-inf")
        self._tokens: dict[str, Token] = {}
        self._refresh(strict=True)

    def authenticate(self, presented: str | None) -> Token | None:
        """The token entry a presented secret belongs to, or None."""
        if not presented:
            return None
        token_id = token_id_of(presented)
        if token_id is None:
            return None
        if self._clock() - self._checked >= self._reload:
            self._refresh()
        token = self._tokens.get(token_id)
        return token if token is not None and token.matches(presented) else None

    def get(self, token_id: str) -> Token | None:
        """The entry of a token id, or None (revoked): a session made with the token checks
        it is still there, without the secret."""
        if self._clock() - self._checked >= self._reload:
            self._refresh()
        return self._tokens.get(token_id)

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
                self._tokens = read_tokens(self._path)
            except (TokenError, OSError) as exc:
                if strict:
                    raise
                log.error("token file %s is invalid, keeping the last one: %s", self._path, exc)
            self._signature = signature
