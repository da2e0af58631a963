"""The key that signs the dashboard's session cookies: read from its file, made on first use
(32 random bytes, mode 0600). Workers starting together agree: the first to link the file wins
and the others read it."""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from pathlib import Path


def session_key(path: Path) -> bytes:
    try:
        return _read(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(handle, "w") as out:
            out.write(secrets.token_hex(32) + "\n")
            out.flush()
            os.fsync(out.fileno())
        with contextlib.suppress(FileExistsError):  # another process made it first
            os.link(temporary, path)
    finally:
        os.unlink(temporary)
    return _read(path)


def _read(path: Path) -> bytes:
    key = path.read_text().strip()
    if len(key) < 32:
        raise ValueError(f"{path}: the session key is shorter than 32 characters")
    return key.encode()
