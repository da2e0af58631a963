"""API tokens and their roles. Pure.

A token is ``ctt_<id>_<secret>``: the id finds the entry, and only the SHA-256 of the whole
token is stored, compared in constant time (like the sites' write keys). Each token is scoped to
one site (or ``*``, every site) and holds one role:

- ``admin``: everything on its sites, campaigns and catalog included;
- ``marketer``: campaigns, creatives and the catalog; reports;
- ``adserver``: decisions in trusted mode (it may state the end user's IP and user agent);
- ``read``: reports only.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import asdict, dataclass
from typing import Any

ROLES = ("admin", "marketer", "adserver", "read")
# What each role may do; a permission is checked with ``Token.allows``.
PERMISSIONS: dict[str, frozenset[str]] = {
    "admin": frozenset({"campaigns", "catalog", "decide_trusted", "reports"}),
    "marketer": frozenset({"campaigns", "catalog", "reports"}),
    "adserver": frozenset({"decide_trusted"}),
    "read": frozenset({"reports"}),
}
ALL_SITES = "*"
_FORMAT = re.compile(r"^ctt_([0-9a-f]{8})_([A-Za-z0-9_-]{20,})$")


class TokenError(ValueError):
    """A token entry or an option that cannot be used."""


@dataclass(frozen=True)
class Token:
    token_id: str
    site_id: str  # a site id, or "*" for every site
    role: str
    sha256: str
    created_at: int  # UTC seconds
    note: str = ""

    def allows(self, permission: str, site_id: str) -> bool:
        return permission in PERMISSIONS[self.role] and self.site_id in (site_id, ALL_SITES)

    def matches(self, presented: str) -> bool:
        digest = hashlib.sha256(presented.encode()).hexdigest()
        return hmac.compare_digest(digest, self.sha256)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        del data["token_id"]
        return data

    @classmethod
    def from_json(cls, token_id: str, data: Any) -> Token:
        if not isinstance(data, dict):
            raise TokenError(f"token {token_id}: must be an object")
        try:
            token = cls(token_id=token_id, **data)
        except TypeError as exc:
            raise TokenError(f"token {token_id}: {exc}") from None
        if token.role not in ROLES:
            raise TokenError(f"token {token_id}: role must be one of {', '.join(ROLES)}")
        if not re.fullmatch(r"[0-9a-f]{64}", str(token.sha256)):
            raise TokenError(f"token {token_id}: sha256 must be 64 hex digits")
        return token


def new_token(site_id: str, role: str, now: int, note: str = "") -> tuple[str, Token]:
    """A new secret token (shown once) and the entry that stores only its digest."""
    if role not in ROLES:
        raise TokenError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    if site_id != ALL_SITES and not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", site_id):
        raise TokenError(f"site must be a site id or {ALL_SITES!r}, got {site_id!r}")
    token_id = secrets.token_hex(4)
    secret = f"ctt_{token_id}_{secrets.token_urlsafe(32)}"
    digest = hashlib.sha256(secret.encode()).hexdigest()
    return secret, Token(token_id, site_id, role, digest, now, note)


def token_id_of(presented: str) -> str | None:
    """The id part of a presented token, or None when it is not a token at all."""
    match = _FORMAT.match(presented)
    return match.group(1) if match else None
