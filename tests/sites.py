"""A site of a test's own, registered with a marketer token: what the personalizer's tests
need to manage campaigns (they live in the shared durable Redis, so each test's site id is new)."""

from __future__ import annotations

from clicktrail.settings import Settings
from clicktrail.sites.model import Site
from clicktrail.sites.registry import edit_sites
from clicktrail.tokens.model import new_token
from clicktrail.tokens.registry import edit_tokens


def site_with_marketer(settings: Settings, site: Site) -> str:
    """``site`` added to the settings' site registry and a marketer token for it to their token
    file; the token's secret (a ``Bearer`` for the management API)."""
    with edit_sites(settings.sites_file) as sites:
        sites[site.site_id] = site
    secret, token = new_token(site.site_id, "marketer", 0)
    with edit_tokens(settings.tokens_file) as tokens:
        tokens[token.token_id] = token
    return secret
