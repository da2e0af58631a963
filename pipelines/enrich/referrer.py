"""Referrer: how a visit arrived (medium), from where (source) and, for search, the terms.

Media: direct, internal, search, social, email, paid, other. The page's campaign parameters
come first (an ad click or a newsletter link says more than the referrer), then the referrer
host: the site's own, or one of the known hosts in data/referrers.json, or any other site.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import resources
from urllib.parse import parse_qsl, urlsplit

from pipelines.enrich.campaign import Campaign
from pipelines.enrich.domains import normalize_host, public_suffix, registrable_domain

MEDIA = ("direct", "internal", "search", "social", "email", "paid", "other")
# The ad platform behind each click id, named as data/referrers.json names its hosts.
CLICK_ID_SOURCES = {
    "gclid": "Google",
    "gbraid": "Google",
    "wbraid": "Google",
    "dclid": "Google",
    "fbclid": "Facebook",
    "msclkid": "Bing",
    "ttclid": "TikTok",
    "li_fat_id": "LinkedIn",
    "twclid": "X",
    "yclid": "Yandex",
}
# utm_medium values that name a medium (compared in lower case). Paid also takes every value
# starting with "paid" (paid_social, paidsearch, ...). fbclid alone is no ad click: Facebook adds
# it to every outbound link, so it only makes a visit paid together with a paid utm_medium.
_PAID_MEDIA = frozenset(("cpc", "ppc", "cpm", "cpv", "cpa", "display", "banner", "retargeting"))
_EMAIL_MEDIA = frozenset(("email", "e-mail", "e_mail", "newsletter"))
_SOCIAL_MEDIA = frozenset(("social", "social-network", "social_network", "social-media", "sm"))
_ORGANIC_CLICK_IDS = frozenset(("fbclid",))


@dataclass(frozen=True, slots=True)
class Referrer:
    medium: str  # one of MEDIA
    source: str  # "Google", "Facebook", a campaign's utm_source, or the referring host
    term: str  # search terms, where the referrer or the campaign still carries them


DIRECT = Referrer("direct", "", "")
UNREADABLE = Referrer("other", "", "")


@dataclass(frozen=True, slots=True)
class KnownHost:
    medium: str
    source: str
    params: tuple[str, ...]  # search-term parameters, search engines only


def classify_referrer(
    referrer: str | None,
    page_host: str,
    internal_hosts: tuple[str, ...] = (),
    campaign: Campaign | None = None,
) -> Referrer:
    """Never raises for its input. No referrer (None, empty) is ``direct``; one that is no
    URL with a host (garbage from a server-side sender) is ``other`` with no source."""
    host, query = _split(referrer)
    known = _known_host(host) if host else None
    if campaign is not None and (by_campaign := _by_campaign(campaign, host, query, known)):
        return by_campaign
    if not host:
        return DIRECT if not referrer or not referrer.strip() else UNREADABLE
    if _is_internal(host, page_host, internal_hosts):
        return Referrer("internal", _readable(host), "")
    if known is None:
        return Referrer("other", _readable(host), "")
    term = _search_term(query, known.params) if known.params else ""
    return Referrer(known.medium, known.source, term)


def _by_campaign(
    campaign: Campaign, host: str, query: str, known: KnownHost | None
) -> Referrer | None:
    medium = campaign.medium.lower()
    paid_click = campaign.click_id_kind and campaign.click_id_kind not in _ORGANIC_CLICK_IDS
    if paid_click or medium in _PAID_MEDIA or medium.startswith("paid"):
        source = (
            CLICK_ID_SOURCES.get(campaign.click_id_kind)
            or (known.source if known else "")
            or campaign.source
            or _readable(host)
        )
        term = _search_term(query, known.params) if known and known.params else ""
        return Referrer("paid", source, term or campaign.term)
    if medium in _EMAIL_MEDIA:
        webmail = known.source if known and known.medium == "email" else ""
        return Referrer("email", campaign.source or webmail, campaign.term)
    if medium in _SOCIAL_MEDIA:
        social = known.source if known and known.medium == "social" else ""
        return Referrer("social", social or campaign.source, campaign.term)
    if campaign.source and not host:
        # Tagged but not by a medium we know (affiliate, partner, print QR codes): not direct.
        return Referrer("other", campaign.source, campaign.term)
    return None


def _split(referrer: str | None) -> tuple[str, str]:
    """Host (normalised) and query of a referrer; ("", "") when there is none."""
    if not referrer or not referrer.strip():
        return "", ""
    try:
        parts = urlsplit(referrer.strip())
        host = parts.hostname or ""
    except ValueError:  # an unbalanced "[" or a bad port
        return "", ""
    return normalize_host(host), parts.query


def _is_internal(host: str, page_host: str, internal_hosts: tuple[str, ...]) -> bool:
    family = registrable_domain(host)
    if page_host and family == registrable_domain(page_host):
        return True
    return any(
        host == normalize_host(internal) or family == registrable_domain(internal)
        for internal in internal_hosts
    )


def _readable(host: str) -> str:
    return host[4:] if host.startswith("www.") else host


def _search_term(query: str, params: tuple[str, ...]) -> str:
    if not query:
        return ""
    values = dict(parse_qsl(query))
    for param in params:
        if term := " ".join(values.get(param, "").split()):
            return term[:256]
    return ""


@functools.lru_cache(maxsize=8192)
def _known_host(host: str) -> KnownHost | None:
    """The most specific entry of data/referrers.json that matches ``host``, or None."""
    exact, wildcard = _table()
    suffix = public_suffix(host)
    labels = host.split(".")
    for start in range(len(labels)):
        candidate = ".".join(labels[start:])
        if candidate == suffix:
            break
        if found := exact.get(candidate):
            return found
        if suffix and candidate.endswith("." + suffix):
            found = wildcard.get(candidate[: -len(suffix)] + "*")
            if found:
                return found
    return None


@functools.cache
def _table() -> tuple[dict[str, KnownHost], dict[str, KnownHost]]:
    """Exact hosts and ``name.*`` patterns of the packaged list."""
    text = (resources.files("pipelines.enrich") / "data" / "referrers.json").read_text("utf-8")
    data = json.loads(text)
    exact: dict[str, KnownHost] = {}
    wildcard: dict[str, KnownHost] = {}
    for medium in ("search", "social", "email"):
        for source, entry in data[medium].items():
            known = KnownHost(medium, source, tuple(entry.get("params", ())))
            for pattern in entry["hosts"]:
                table = wildcard if pattern.endswith(".*") else exact
                if pattern in table:
                    raise ValueError(f"referrers.json: {pattern} is listed twice")
                table[pattern] = known
    return exact, wildcard
