"""The site registry: per-site origins, keys, consent policy, URL rules (docs/sites.md)."""

from clicktrail.sites.model import Site, SiteError, UrlRule
from clicktrail.sites.registry import SiteRegistry, edit_sites, read_sites

__all__ = ["Site", "SiteError", "SiteRegistry", "UrlRule", "edit_sites", "read_sites"]
