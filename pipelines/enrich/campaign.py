"""Campaign: the ``utm_*`` parameters and the ad networks' click ids of a landing URL."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

_UTM = {
    "utm_source": "source",
    "utm_medium": "medium",
    "utm_campaign": "name",
    "utm_term": "term",
    "utm_content": "content",
}
# Click ids the ad networks append to a landing URL (the parameter names are their documented
# auto-tagging names); the value identifies one ad click.
CLICK_IDS = {
    "gclid": "Google Ads",
    "gbraid": "Google Ads",  # iOS app-to-web measurement
    "wbraid": "Google Ads",
    "dclid": "Google Display & Video 360",
    "fbclid": "Facebook",
    "msclkid": "Microsoft Advertising",
    "ttclid": "TikTok",
    "li_fat_id": "LinkedIn",
    "twclid": "X (Twitter)",
    "yclid": "Yandex",
}
MAX_VALUE_LENGTH = 256  # a campaign field is a label; longer values are cut, not refused


@dataclass(frozen=True, slots=True)
class Campaign:
    source: str
    medium: str
    name: str
    term: str
    content: str
    click_id: str
    click_id_kind: str  # the parameter it came in: "gclid", "fbclid", ...; "" without one


NO_CAMPAIGN = Campaign("", "", "", "", "", "", "")


def parse_campaign(url: str | None) -> Campaign:
    """The campaign of ``url``; every field empty when it carries none or cannot be parsed.

    Parameter names are matched without regard to case (``UTM_Source`` is common in hand-made
    links); values are kept as sent, percent-decoded, trimmed. The first occurrence of a
    parameter wins, and the first click id in the URL."""
    if not url or "?" not in url:
        return NO_CAMPAIGN
    try:
        query = urlsplit(url).query
    except ValueError:  # an unbalanced "[" in the host, for one
        return NO_CAMPAIGN
    found: dict[str, str] = {}
    click_id = click_id_kind = ""
    for key, value in parse_qsl(query):
        name = key.lower()
        text = value.strip()[:MAX_VALUE_LENGTH]
        if not text:
            continue
        if name in _UTM:
            found.setdefault(_UTM[name], text)
        elif name in CLICK_IDS and not click_id:
            click_id, click_id_kind = text, name
    if not found and not click_id:
        return NO_CAMPAIGN
    return Campaign(
        source=found.get("source", ""),
        medium=found.get("medium", ""),
        name=found.get("name", ""),
        term=found.get("term", ""),
        content=found.get("content", ""),
        click_id=click_id,
        click_id_kind=click_id_kind,
    )
