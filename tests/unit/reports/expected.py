"""Report figures computed in plain Python from event rows (what the enrichment chain makes of
the simulator's batches): the tests' independent expectations, never the reports' SQL.

The definitions are the documented ones (docs/reports.md): a session's dimensions are those
of its first event of the local day (by time, then event id); engaged time is, per page view,
its largest cumulative ``engaged_ms``, summed; a bounce is a session-day with one page view,
among session-days with a page view; an interest is a product view's top category.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

SESSION_DIMENSIONS = (
    "country",
    "region",
    "city",
    "device_type",
    "browser",
    "os",
    "ref_medium",
    "ref_source",
    "utm_source",
    "utm_medium",
    "utm_campaign",
)


def local_day(ms: int, zone: str) -> date:
    return datetime.fromtimestamp(ms / 1000, UTC).astimezone(ZoneInfo(zone)).date()


def unique(rows: Iterable[dict]) -> list[dict]:
    """Replays collapse: one row per (site, visitor, created_ms, event_id), the last one
    written (as FINAL keeps)."""
    kept: dict[tuple, dict] = {}
    for row in rows:
        kept[(row["site_id"], row["visitor_id"], row["created_ms"], row["event_id"])] = row
    return list(kept.values())


@dataclass
class Session:
    day: date
    visitor_id: str
    session_id: str
    first: tuple[int, str] = (2**64, "")
    dims: dict[str, str] = field(default_factory=dict)
    is_bot: int = 0
    events: int = 0
    page_views: int = 0
    product_views: int = 0
    engaged: dict[str, int] = field(default_factory=dict)  # page view id -> largest engaged_ms
    categories: dict[str, list[int]] = field(default_factory=dict)  # category -> [views, ms]

    @property
    def engaged_ms(self) -> int:
        return sum(self.engaged.values())


def sessions(rows: Iterable[dict], site_id: str, zone: str) -> list[Session]:
    """One ``Session`` per (local day, visitor, session) of ``site_id``'s rows."""
    found: dict[tuple, Session] = {}
    page_category: dict[tuple, tuple[tuple[int, str], str]] = {}
    for row in unique(rows):
        if row["site_id"] != site_id:
            continue
        day = local_day(row["derived_ms"], zone)
        key = (day, row["visitor_id"], row["session_id"])
        session = found.get(key) or found.setdefault(key, Session(*key))
        order = (row["derived_ms"], row["event_id"])
        if order < session.first:
            session.first = order
            session.dims = {name: row[name] for name in SESSION_DIMENSIONS}
        session.is_bot = max(session.is_bot, row["is_bot"])
        session.events += 1
        session.page_views += row["event_type"] == "page_view"
        pv = row["page_view_id"]
        session.engaged[pv] = max(session.engaged.get(pv, 0), row["engaged_ms"])
        if row["event_type"] == "product_view":
            session.product_views += 1
            if row["category"]:
                page = (*key, pv)
                if page not in page_category or order < page_category[page][0]:
                    page_category[page] = (order, row["category"][0])
    for (day, visitor_id, session_id, pv), (_, category) in page_category.items():
        session = found[(day, visitor_id, session_id)]
        counts = session.categories.setdefault(category, [0, 0])
        counts[1] += session.engaged.get(pv, 0)
    # product views per category: every product_view event of a page view counts for the
    # category of that page view's first product view
    for row in unique(rows):
        if row["site_id"] != site_id or row["event_type"] != "product_view":
            continue
        day = local_day(row["derived_ms"], zone)
        page = (day, row["visitor_id"], row["session_id"], row["page_view_id"])
        if page in page_category:
            found[page[:3]].categories[page_category[page][1]][0] += 1
    return list(found.values())


def keep(session: Session, country: str = "", device: str = "", bots: bool = False) -> bool:
    return (
        (not country or session.dims["country"] == country)
        and (not device or session.dims["device_type"] == device)
        and (bots or not session.is_bot)
    )


def audience(chosen: list[Session]) -> dict[str, float | int]:
    landed = [s for s in chosen if s.page_views > 0]
    return {
        "visitors": len({s.visitor_id for s in chosen}),
        "sessions": len({(s.visitor_id, s.session_id) for s in chosen}),
        "page_views": sum(s.page_views for s in chosen),
        "bounce_rate": (sum(s.page_views == 1 for s in landed) / len(landed)) if landed else 0.0,
        "engaged_ms": sum(s.engaged_ms for s in chosen),
    }


def by_day(chosen: list[Session]) -> dict[date, dict[str, float | int]]:
    days: dict[date, list[Session]] = defaultdict(list)
    for session in chosen:
        days[session.day].append(session)
    return {day: audience(group) for day, group in sorted(days.items())}


def interests(chosen: list[Session], by: tuple[str, ...]) -> dict[tuple, dict[str, float | int]]:
    """(group values..., category) -> visitors, share, product views, engaged ms, lift."""
    group_visitors: dict[tuple, set[str]] = defaultdict(set)
    category_visitors: dict[tuple, set[str]] = defaultdict(set)
    views: dict[tuple, int] = defaultdict(int)
    engaged: dict[tuple, int] = defaultdict(int)
    overall: dict[str, set[str]] = defaultdict(set)
    everyone = {s.visitor_id for s in chosen}
    for session in chosen:
        group = tuple(session.dims[d] for d in by)
        group_visitors[group].add(session.visitor_id)
        for category, (count, ms) in session.categories.items():
            key = (*group, category)
            category_visitors[key].add(session.visitor_id)
            views[key] += count
            engaged[key] += ms
            overall[category].add(session.visitor_id)
    out = {}
    for key, visitors in category_visitors.items():
        share = len(visitors) / len(group_visitors[key[:-1]])
        base = len(overall[key[-1]]) / len(everyone)
        out[key] = {
            "visitors": len(visitors),
            "share": share,
            "product_views": views[key],
            "engaged_ms": engaged[key],
            "lift": share / base,
        }
    return out


def rows_from_jsonl(path, geoip_db, sites: dict) -> list[dict]:  # noqa: ANN001
    """The warehouse rows the pipeline makes of a simulator JSONL file (``clicktrail simulate
    --out``): each line's batch as the collector would log it, enriched by the pipeline's
    ``RowBuilder``, once per site of ``sites`` (the same events under each site id)."""
    import json

    from clicktrail.simulator.batching import Batch
    from clicktrail.simulator.records import records_of
    from pipelines.enrich import DeviceDetector, GeoLocator
    from pipelines.rows import RowBuilder

    lines = path.read_bytes().splitlines()
    out: list[dict] = []
    with GeoLocator(geoip_db) as geo:
        for site_id, site in sites.items():
            builder = RowBuilder(geo, DeviceDetector(), sites.get)
            batches = []
            for line in lines:
                envelope = json.loads(line)
                envelope["site_id"] = site_id
                for event in envelope["events"]:
                    event["site_id"] = site_id
                body = json.dumps(envelope, separators=(",", ":")).encode()
                batches.append(Batch(envelope["sent_at"], "", len(envelope["events"]), body))
            for record in records_of(batches, site):
                out += [as_dict(row) for row in builder.build(record).events]
    return out


def as_dict(row) -> dict:  # noqa: ANN001
    """A row keyed by column name, whichever form the row builder hands out."""
    if isinstance(row, dict):
        return row
    from pipelines.warehouse.columns import EVENT_COLUMNS

    return dict(zip(EVENT_COLUMNS, row, strict=True))


def touched(rows: Iterable[dict], zone_of) -> frozenset:  # noqa: ANN001
    """(site, local day) of each row's time: what a batch of them touched."""
    return frozenset(
        (row["site_id"], local_day(row["derived_ms"], zone_of(row["site_id"]))) for row in rows
    )


PRODUCT_DIMENSIONS = ("country", "device_type", "ref_medium", "ref_source")


def product_lines(rows: Iterable[dict], site_id: str, zone: str) -> dict[tuple, dict]:
    """(day, visitor, session, sku, top category, currency) -> views, carts, orders, units,
    revenue and the session's dimensions: a purchase counts each of its line items."""
    by_session = {(s.day, s.visitor_id, s.session_id): s for s in sessions(rows, site_id, zone)}
    out: dict[tuple, dict] = {}
    for row in unique(rows):
        kind = row["event_type"]
        if row["site_id"] != site_id or kind not in ("product_view", "add_to_cart", "purchase"):
            continue
        day = local_day(row["derived_ms"], zone)
        if kind == "purchase":
            paths = list(row["item_categories"])
            items = [
                (sku, (paths[i] if i < len(paths) else "").split("/")[0], quantity, price)
                for i, (sku, quantity, price) in enumerate(
                    zip(row["item_skus"], row["item_quantities"], row["item_prices"], strict=True)
                )
            ]
        else:
            items = [(row["sku"], row["category"][0] if row["category"] else "", 1, 0)]
        for sku, category, quantity, price in items:
            if not sku:
                continue
            key = (day, row["visitor_id"], row["session_id"], sku, category, row["currency"])
            line = out.get(key)
            if line is None:
                session = by_session[key[:3]]
                line = out[key] = {
                    "is_bot": session.is_bot,
                    **{name: session.dims[name] for name in PRODUCT_DIMENSIONS},
                    "views": 0,
                    "carts": 0,
                    "orders": 0,
                    "units": 0,
                    "revenue": 0,
                }
            if kind == "product_view":
                line["views"] += 1
            elif kind == "add_to_cart":
                line["carts"] += 1
            else:
                line["orders"] += 1
                line["units"] += quantity
                line["revenue"] += price * quantity
    return out
