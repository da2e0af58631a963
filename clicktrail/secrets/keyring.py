"""Signing keys: the newest signs; a rotated-out key still verifies for a grace period.

Tokens are ``<key id>.<base64url HMAC-SHA256>``, so a verifier finds the key without trying
them all. The key file is JSON, mode 0600, replaced atomically under a lock.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import hmac
import json
import os
import secrets
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path


class KeyringError(ValueError):
    """The key file is unusable."""


@dataclass(frozen=True)
class SigningKey:
    key_id: str
    secret: str  # base64url, 32 random bytes
    created_at: int  # UTC seconds
    retired_at: int | None = None  # UTC seconds; None while it signs

    @classmethod
    def new(cls, now: int) -> SigningKey:
        return cls(secrets.token_hex(4), secrets.token_urlsafe(32), now)

    def mac(self, message: bytes) -> str:
        digest = hmac.new(self.secret.encode(), message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@dataclass(frozen=True)
class Keyring:
    keys: tuple[SigningKey, ...]
    grace_seconds: int

    @property
    def current(self) -> SigningKey:
        active = [key for key in self.keys if key.retired_at is None]
        if len(active) != 1:
            raise KeyringError(f"expected one active signing key, found {len(active)}")
        return active[0]

    def sign(self, message: bytes) -> str:
        key = self.current
        return f"{key.key_id}.{key.mac(message)}"

    def verify(self, message: bytes, token: str, now: int) -> bool:
        key_id, _, mac = token.partition(".")
        for key in self.keys:
            if key.key_id != key_id:
                continue
            if key.retired_at is not None and now > key.retired_at + self.grace_seconds:
                return False
            # compare_digest raises TypeError on non-ASCII text: a token is ASCII or forged
            return mac.isascii() and hmac.compare_digest(key.mac(message), mac)
        return False

    def rotated(self, now: int) -> Keyring:
        """A new current key; the old one retires now; keys past their grace are dropped."""
        kept = [
            key if key.retired_at is not None else SigningKey(**{**asdict(key), "retired_at": now})
            for key in self.keys
            if key.retired_at is None or now <= key.retired_at + self.grace_seconds
        ]
        return Keyring((*kept, SigningKey.new(now)), self.grace_seconds)


def load_keyring(path: Path, grace_seconds: int, now: int) -> Keyring:
    """The keyring at ``path``, created with one key if the file does not exist."""
    with _locked(path):
        keyring = _read(path, grace_seconds)
        if keyring is None:
            keyring = Keyring((SigningKey.new(now),), grace_seconds)
            _write(path, keyring)
        return keyring


def rotate_keyring(path: Path, grace_seconds: int, now: int) -> Keyring:
    with _locked(path):
        keyring = _read(path, grace_seconds) or Keyring((), grace_seconds)
        rotated = keyring.rotated(now)
        _write(path, rotated)
        return rotated


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _read(path: Path, grace_seconds: int) -> Keyring | None:
    try:
        document = json.loads(path.read_text())
        keys = tuple(SigningKey(**item) for item in document["signing_keys"])
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError) as exc:
        raise KeyringError(f"{path}: not a valid key file: {exc}") from None
    return Keyring(keys, grace_seconds)


def _write(path: Path, keyring: Keyring) -> None:
    text = json.dumps({"signing_keys": [asdict(key) for key in keyring.keys]}, indent=2)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(handle, "w") as out:  # mkstemp creates it 0600
        out.write(text + "\n")
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, path)
