"""The dashboard's filters: the page's GET parameters, which are the reports API's own
(``site``, ``since``, ``until``, ``country``, ``device``, ``segment``), so a view's address is
shareable and its figures are the API's for the same parameters. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

FILTERS = ("since", "until", "country", "device", "segment")
PERIODS = (("7d", "Last 7 days"), ("30d", "Last 30 days"), ("90d", "Last 90 days"))
DEFAULT_SINCE = "30d"


@dataclass(frozen=True)
class Filters:
    site: str
    since: str = DEFAULT_SINCE
    until: str = ""
    country: str = ""
    device: str = ""
    segment: str = ""  # an RFM segment (the reports that take segment= keep its customers)

    def params(self) -> dict[str, str]:
        """The reports' parameters (the API's query string without ``site``), empty ones
        left out so the reports' defaults apply as they do in the API."""
        values = {name: getattr(self, name) for name in FILTERS}
        return {name: value for name, value in values.items() if value}

    def query_string(self, **changes: str) -> str:
        """This view's address parameters, with ``changes`` (e.g. another site)."""
        values = {"site": self.site, **self.params(), **changes}
        return urlencode({name: value for name, value in values.items() if value})


def read_filters(args: Mapping[str, str], default_site: str) -> Filters:
    """Filters from a request's parameters; the parameters' values are checked by the reports'
    own ``parse_query`` (one place says what is valid, with the API's messages)."""
    return Filters(
        site=args.get("site", "") or default_site,
        since=args.get("since", "") or DEFAULT_SINCE,
        until=args.get("until", ""),
        country=args.get("country", "").strip().upper(),
        device=args.get("device", "").strip(),
        segment=args.get("segment", "").strip(),
    )
