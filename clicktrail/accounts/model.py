"""Dashboard accounts. Pure but for the password hash, which is werkzeug's (scrypt).

An account has a role of the API tokens' (``admin``, ``marketer`` or ``read``: the roles that
may read reports) and the sites it may see (site ids, or ``*`` for every site). Only the
password's hash is stored (``werkzeug.security.generate_password_hash``: scrypt with a random
salt, its parameters in the hash).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from werkzeug.security import check_password_hash, generate_password_hash

from clicktrail.tokens.model import ALL_SITES, PERMISSIONS

ROLES = ("admin", "marketer", "read")  # the token roles that may read reports
MIN_PASSWORD = 10
_USERNAME = re.compile(r"[A-Za-z0-9_.@-]{1,64}")
_SITE = re.compile(r"[A-Za-z0-9_-]{1,64}")


class AccountError(ValueError):
    """An account entry or an option that cannot be used."""


@dataclass(frozen=True)
class Account:
    username: str
    role: str
    sites: tuple[str, ...]  # site ids, or ("*",) for every site
    password_hash: str
    created_at: int  # UTC seconds

    def allows(self, permission: str, site_id: str) -> bool:
        return permission in PERMISSIONS[self.role] and (
            ALL_SITES in self.sites or site_id in self.sites
        )

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def fingerprint(self) -> str:
        """Changes when the password (its hash) does: a session made before no longer counts."""
        return hashlib.sha256(self.password_hash.encode()).hexdigest()[:16]

    def to_json(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "sites": list(self.sites),
            "password_hash": self.password_hash,
            "created_at": self.created_at,
        }

    @classmethod
    def from_json(cls, username: str, data: Any) -> Account:
        if not isinstance(data, dict):
            raise AccountError(f"account {username}: must be an object")
        try:
            account = cls(
                username=username,
                role=data["role"],
                sites=tuple(data["sites"]),
                password_hash=data["password_hash"],
                created_at=int(data["created_at"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise AccountError(f"account {username}: {exc!r}") from None
        check_fields(account.username, account.role, account.sites)
        if not isinstance(account.password_hash, str) or ":" not in account.password_hash:
            raise AccountError(f"account {username}: password_hash is not a werkzeug hash")
        return account


def check_fields(username: str, role: str, sites: tuple[str, ...]) -> None:
    if not _USERNAME.fullmatch(username):
        raise AccountError(f"a username is 1-64 of A-Z a-z 0-9 _ . @ -, got {username!r}")
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    if not sites:
        raise AccountError("an account needs at least one site (or '*')")
    for site in sites:
        if site != ALL_SITES and not _SITE.fullmatch(site):
            raise AccountError(f"a site is a site id or {ALL_SITES!r}, got {site!r}")


def new_account(
    username: str, password: str, role: str, sites: tuple[str, ...], now: int
) -> Account:
    """An account storing only the password's hash."""
    check_fields(username, role, sites)
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"a password of at least {MIN_PASSWORD} characters")
    return Account(username, role, sites, generate_password_hash(password), now)
