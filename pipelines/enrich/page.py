"""Page: host and path of the page URL, and the product or category its path names."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from clicktrail.sites.model import Site

# The event contract's bounds for the same fields (docs/protocol.md): a category path of at
# most 8 levels of 128 characters, a SKU of 128.
MAX_CATEGORY_LEVELS = 8
MAX_LABEL_LENGTH = 128


@dataclass(frozen=True, slots=True)
class Page:
    host: str  # lower case, no port
    path: str  # as sent (percent-encoded), without query or fragment; "/" at least
    sku: str  # from the site's product rule, percent-decoded
    category: tuple[str, ...]  # from the site's category rule: the path, top level first


NO_PAGE = Page("", "", "", ())


def page_fields(url: str | None, site: Site | None) -> Page:
    """Never raises for its input: a URL that cannot be parsed gives ``NO_PAGE``.

    A category rule captures a path such as ``shoes/running/`` (docs/sites.md); it is split
    on "/" into levels, each percent-decoded and empty levels dropped, so it has the shape of
    an event's own ``category`` field. The URL rules see the path as sent, still encoded."""
    if not url:
        return NO_PAGE
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
    except ValueError:  # an unbalanced "[" or a bad port
        return NO_PAGE
    path = parts.path or "/"
    if site is None or not site.url_rules:
        return Page(host, path, "", ())
    found = site.classify_path(path)
    sku = _label(found.get("sku", ""))
    category = tuple(
        _label(level) for level in found.get("category", "").split("/") if level.strip()
    )[:MAX_CATEGORY_LEVELS]
    return Page(host, path, sku, category)


def _label(text: str) -> str:
    return unquote(text).strip()[:MAX_LABEL_LENGTH]
