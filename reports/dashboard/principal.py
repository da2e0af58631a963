"""Who is signed in: an account or an API token, its role and the sites it may see. The
session keeps only which one (and a fingerprint that changes when its secret does); each
request looks it up again, so a removed account or a revoked token stops working at once."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from clicktrail.accounts.registry import AccountRegistry
from clicktrail.tokens.model import ALL_SITES, PERMISSIONS
from clicktrail.tokens.registry import TokenRegistry

PERMISSION = "reports"  # what the dashboard's pages need on a site
MANAGE = "campaigns"  # what managing the site's campaigns needs (marketer, admin)


@dataclass(frozen=True)
class Principal:
    kind: str  # "account" or "token"
    name: str  # the username, or the token's id
    role: str
    sites: tuple[str, ...]  # site ids, or ("*",)
    fingerprint: str

    def allows(self, site_id: str) -> bool:
        return PERMISSION in PERMISSIONS[self.role] and (
            ALL_SITES in self.sites or site_id in self.sites
        )

    def may_manage(self, site_id: str) -> bool:
        """Campaigns of the site may be changed (roles marketer and admin)."""
        return self.allows(site_id) and MANAGE in PERMISSIONS[self.role]

    @property
    def actor(self) -> str:
        """Who made a change, in the campaigns' history."""
        return f"dashboard:{self.kind}:{self.name}"

    def visible(self, site_ids: list[str]) -> list[str]:
        """Of ``site_ids``, those it may see, in order."""
        return [site_id for site_id in site_ids if self.allows(site_id)]

    def to_session(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "fingerprint": self.fingerprint}


def _token_fingerprint(sha256: str) -> str:
    return hashlib.sha256(sha256.encode()).hexdigest()[:16]


def sign_in_account(accounts: AccountRegistry, username: str, password: str) -> Principal | None:
    account = accounts.get(username)
    if account is None or not account.check_password(password):
        return None
    return Principal("account", username, account.role, account.sites, account.fingerprint)


def sign_in_token(tokens: TokenRegistry, presented: str) -> Principal | None:
    token = tokens.authenticate(presented.strip())
    if token is None:
        return None
    return Principal(
        "token", token.token_id, token.role, (token.site_id,), _token_fingerprint(token.sha256)
    )


def from_session(data: Any, accounts: AccountRegistry, tokens: TokenRegistry) -> Principal | None:
    """The principal a session names, if it still exists with the same secret."""
    if not isinstance(data, dict):
        return None
    kind, name, fingerprint = data.get("kind"), data.get("name"), data.get("fingerprint")
    if not isinstance(name, str) or not isinstance(fingerprint, str):
        return None
    if kind == "account":
        account = accounts.get(name)
        if account is None or account.fingerprint != fingerprint:
            return None
        return Principal("account", name, account.role, account.sites, fingerprint)
    if kind == "token":
        token = tokens.get(name)
        if token is None or _token_fingerprint(token.sha256) != fingerprint:
            return None
        return Principal("token", name, token.role, (token.site_id,), fingerprint)
    return None
