"""A report's question: site, period (site-local days), filters and breakdown. Pure.

``parse_query`` turns request parameters (the API's query string or the CLI's options) into a
``ReportQuery``, or raises ``ReportError`` naming the bad parameter (answered 400).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from clicktrail.contract.event import EARLIEST_MS, LATEST_MS
from pipelines.enrich.device import DEVICE_TYPES
from pipelines.warehouse.rfm_scores import SEGMENTS

MAX_DAYS = 731  # two years of days in one question
_RELATIVE = re.compile(r"^([1-9][0-9]{0,3})d$")
_COUNTRY = re.compile(r"^[A-Za-z]{2}$")
COMMON_PARAMETERS = ("site", "since", "until", "country", "device", "bots", "format")
# The days an event can have (the contract's created_at bounds): a date outside is no question
# the warehouse can answer (ClickHouse's Date starts in 1970; Python's ends in 9999).
FIRST_DAY = datetime.fromtimestamp(EARLIEST_MS / 1000, UTC).date()
LAST_DAY = datetime.fromtimestamp(LATEST_MS / 1000, UTC).date() - timedelta(days=1)


class ReportError(ValueError):
    """A parameter that cannot be answered; the message names it and what is accepted."""


@dataclass(frozen=True)
class Period:
    """Site-local days from ``start`` up to, not including, ``end``."""

    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def previous(self) -> Period:
        """The period of the same length just before this one (for trends)."""
        return Period(self.start - timedelta(days=self.days), self.start)

    def dates(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range(self.days)]


@dataclass(frozen=True)
class ReportQuery:
    site_id: str
    zone: str  # the site's IANA time zone: days are its calendar days
    period: Period
    today: date  # in the site's time zone
    country: str = ""  # ISO 3166 alpha-2, "" for every country
    device: str = ""  # one of DEVICE_TYPES, "" for every device
    bots: bool = False  # bots are left out unless asked for
    breakdown: tuple[str, ...] = ()  # public dimension names
    limit: int = 1000
    options: tuple[tuple[str, str], ...] = ()  # the report's own parameters (``extra``)
    segment: str = ""  # an RFM segment (rfm_scores.SEGMENTS), "" for every visitor
    segmented: bool = False  # the report takes segment= (its ``extra`` names it)

    def option(self, name: str, default: str) -> str:
        return dict(self.options).get(name, default)

    def filters(self) -> dict[str, object]:
        values: dict[str, object] = {
            "country": self.country,
            "device": self.device,
            "bots": int(self.bots),
        }
        if self.segmented:
            values["segment"] = self.segment
        return values


def parse_period(since: str | None, until: str | None, today: date) -> Period:
    """``since``: ``<n>d`` (the last n days, today included) or an ISO date (default 30d);
    ``until``: an ISO date, included (default today)."""
    last = parse_date("until", until) if until else today
    since = since or "30d"
    relative = _RELATIVE.match(since)
    first = (
        last - timedelta(days=int(relative.group(1)) - 1)
        if relative
        else parse_date("since", since)
    )
    if first > last:
        raise ReportError(f"since ({first}) is after until ({last})")
    period = Period(first, last + timedelta(days=1))
    if period.days > MAX_DAYS:
        raise ReportError(f"a period of at most {MAX_DAYS} days, got {period.days}")
    return period


def parse_query(
    params: Mapping[str, str],
    site_id: str,
    zone: str,
    today: date,
    breakdowns: tuple[str, ...] = (),
    breakdown_name: str = "breakdown",
    multiple: bool = False,
    extra: tuple[str, ...] = (),
) -> ReportQuery:
    """A ``ReportQuery`` from request parameters. ``breakdowns``: the dimension names the
    report accepts in ``breakdown_name`` (one, or comma-separated when ``multiple``);
    ``extra``: further parameter names the report reads itself."""
    known = set(COMMON_PARAMETERS) | {breakdown_name, "limit"} | set(extra)
    unknown = sorted(set(params) - known)
    if unknown:
        raise ReportError(
            f"unknown parameter {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
    country = params.get("country", "")
    if country and not _COUNTRY.match(country):
        raise ReportError(f"country must be a two-letter ISO 3166 code, got {country!r}")
    device = params.get("device", "")
    if device and device not in DEVICE_TYPES:
        raise ReportError(f"device must be one of {', '.join(DEVICE_TYPES)}, got {device!r}")
    bots = params.get("bots", "0")
    if bots not in ("0", "1"):
        raise ReportError(f"bots must be 0 (left out) or 1 (counted), got {bots!r}")
    chosen: tuple[str, ...] = ()
    raw = params.get(breakdown_name, "")
    if raw:
        chosen = tuple(part.strip() for part in raw.split(",")) if multiple else (raw,)
        bad = [name for name in chosen if name not in breakdowns]
        if bad or len(set(chosen)) != len(chosen):
            raise ReportError(
                f"{breakdown_name} must be {'a list of ' if multiple else ''}one of "
                f"{', '.join(breakdowns)}, got {raw!r}"
            )
    segment = params.get("segment", "")
    if segment and segment not in SEGMENTS:
        raise ReportError(f"segment must be one of {', '.join(SEGMENTS)}, got {segment!r}")
    limit_text = params.get("limit", "1000")
    if not limit_text.isdigit() or not 1 <= int(limit_text) <= 100_000:
        raise ReportError(f"limit must be a whole number from 1 to 100000, got {limit_text!r}")
    return ReportQuery(
        site_id=site_id,
        zone=zone,
        period=parse_period(params.get("since"), params.get("until"), today),
        today=today,
        country=country.upper(),
        device=device,
        bots=bots == "1",
        breakdown=chosen,
        limit=int(limit_text),
        options=tuple(
            sorted((name, params[name]) for name in extra if name in params and name != "segment")
        ),
        segment=segment,
        segmented="segment" in extra,
    )


def parse_date(name: str, text: str) -> date:
    """An ISO date within the days events can have; ``ReportError`` naming ``name``."""
    try:
        value = date.fromisoformat(text)
    except ValueError:
        raise ReportError(f"{name} must be <n>d or a date like 2025-01-31, got {text!r}") from None
    if not FIRST_DAY <= value <= LAST_DAY:
        raise ReportError(f"{name} must be between {FIRST_DAY} and {LAST_DAY}, got {value}")
    return value
