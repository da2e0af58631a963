"""RFM segment membership, read side: which segment a visitor or user was in as of a day, a
segment's members, and the segments' sizes (rollups_visitors.py writes ``rollup_segments``
in each day's build). For the reports, the segment export and the personalizer's targeting.

A day's membership is that of its latest build; "as of" a day that is not built (today, the
open day) means as of the latest built day before it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from pipelines.warehouse.named import NamedQuery
from pipelines.warehouse.reader import EventStore
from pipelines.warehouse.rollups_visitors import RFM_WINDOW_DAYS

# A day's segments at their latest generation: its build's, or a later one when the rebuild
# of an earlier day scored it again (rollups_visitors.build_segments).
_LATEST = (
    "(day, generation) IN (SELECT day, max(generation) FROM {rollup_segments}"
    " WHERE site_id = %(site_id)s AND day = toDate(%(day)s) GROUP BY day)"
)
SEGMENT_DAY = NamedQuery(
    "segment_day",
    "SELECT max(day) AS built, count() AS builds FROM {rollup_days}"
    " WHERE site_id = %(site_id)s AND day <= toDate(%(day)s)",
    params={"site_id": str, "day": date},
)
SEGMENT_OF = NamedQuery(
    "segment_of",
    "SELECT segment, customer, user_id, recency_days, orders, revenue, r, f, m"
    " FROM {rollup_segments} WHERE site_id = %(site_id)s AND day = toDate(%(day)s)"
    f" AND {_LATEST} AND ((%(visitor_id)s != '' AND visitor_id = %(visitor_id)s)"
    " OR (%(user_id)s != '' AND user_id = %(user_id)s)) ORDER BY visitor_id LIMIT 1",
    params={"site_id": str, "day": date, "visitor_id": str, "user_id": str},
)
SEGMENT_SIZES = NamedQuery(
    "segment_sizes",
    # One row a customer first (a customer's visitors carry the same figures).
    "SELECT segment, count() AS customers, sum(c_visitors) AS visitors,"
    " sum(c_orders) AS order_count, sum(c_revenue) AS revenue_total,"
    " sum(c_recency) AS recency_total, sum(c_r) AS r_total, sum(c_f) AS f_total,"
    " sum(c_m) AS m_total FROM (SELECT segment, customer, count() AS c_visitors,"
    " any(orders) AS c_orders, any(revenue) AS c_revenue, any(recency_days) AS c_recency,"
    " any(r) AS c_r, any(f) AS c_f, any(m) AS c_m FROM {rollup_segments}"
    f" WHERE site_id = %(site_id)s AND day = toDate(%(day)s) AND {_LATEST}"
    " GROUP BY segment, customer) GROUP BY segment",
    params={"site_id": str, "day": date},
)
SEGMENT_MEMBERS = NamedQuery(
    "segment_members",
    "SELECT customer, user_id, visitor_id, segment, r, f, m, recency_days, orders, revenue"
    f" FROM {{rollup_segments}} WHERE site_id = %(site_id)s AND day = toDate(%(day)s)"
    f" AND {_LATEST} AND (%(segment)s = '' OR segment = %(segment)s)"
    " ORDER BY revenue DESC, customer, visitor_id",
    params={"site_id": str, "day": date, "segment": str},
)
# The top category of every product view of a segment's visitors in the RFM window.
SEGMENT_CATEGORIES = NamedQuery(
    "segment_categories",
    "SELECT visitor_id, groupArrayArray(categories) AS viewed FROM {rollup_visitor_days}"
    " WHERE site_id = %(site_id)s AND day > toDate(%(first)s) AND day <= toDate(%(day)s)"
    " AND (day, generation) IN (SELECT day, max(generation)"
    " FROM {rollup_days} WHERE site_id = %(site_id)s AND day > toDate(%(first)s)"
    " AND day <= toDate(%(day)s) GROUP BY day)"
    " AND visitor_id IN (SELECT visitor_id FROM {rollup_segments} WHERE site_id = %(site_id)s"
    f" AND day = toDate(%(day)s) AND {_LATEST} AND (%(segment)s = '' OR segment = %(segment)s))"
    " GROUP BY visitor_id",
    params={"site_id": str, "day": date, "first": date, "segment": str},
)


@dataclass(frozen=True)
class Membership:
    """A customer's RFM standing as of ``day`` (the latest built day on or before the day
    asked about)."""

    day: date
    segment: str
    customer: str  # the user id, or the visitor id of a customer never identified
    user_id: str
    recency_days: int
    orders: int
    revenue: int  # minor units
    r: int
    f: int
    m: int


def segment_day(store: EventStore, site_id: str, day: date) -> date | None:
    """The latest built day on or before ``day``: whose membership answers "as of day"."""
    built, builds = store.run(SEGMENT_DAY, site_id=site_id, day=day).rows[0]
    return built if builds else None


def segment_of(
    store: EventStore, site_id: str, day: date, *, visitor_id: str = "", user_id: str = ""
) -> Membership | None:
    """The RFM segment of a visitor (or of a user, by any of their visitors) as of ``day``,
    or None when they were no customer then (or nothing is built). For targeting: the
    membership changes once a day, so a caller may cache it until the site's next day."""
    if not (visitor_id or user_id):
        raise ValueError("a visitor id or a user id")
    built = segment_day(store, site_id, day)
    if built is None:
        return None
    rows = store.run(
        SEGMENT_OF, site_id=site_id, day=built, visitor_id=visitor_id, user_id=user_id
    ).rows
    if not rows:
        return None
    segment, customer, user, recency, orders, revenue, r, f, m = rows[0]
    return Membership(
        built, segment, customer, user, int(recency), int(orders), int(revenue), r, f, m
    )


@dataclass(frozen=True)
class Member:
    """One customer of a segment, for an export."""

    customer: str
    user_id: str
    visitor_ids: tuple[str, ...]
    segment: str
    r: int
    f: int
    m: int
    recency_days: int
    orders: int
    revenue: int
    top_categories: tuple[str, ...]


def top_categories(viewed: Iterable[str], count: int = 3) -> tuple[str, ...]:
    """Pure: the most viewed categories, most first (ties by name)."""
    counted = Counter(viewed)
    return tuple(name for name, _ in sorted(counted.items(), key=lambda i: (-i[1], i[0])))[:count]


def segment_members(store: EventStore, site_id: str, day: date, segment: str) -> list[Member]:
    """The customers of ``segment`` ("": every segment) as of the built ``day``, most revenue
    first, each with its visitors and the top categories they viewed in the RFM window."""
    rows = store.run(SEGMENT_MEMBERS, site_id=site_id, day=day, segment=segment).rows
    first = day - timedelta(days=RFM_WINDOW_DAYS)
    viewed = {
        visitor: list(categories)
        for visitor, categories in store.run(
            SEGMENT_CATEGORIES, site_id=site_id, day=day, first=first, segment=segment
        ).rows
    }
    grouped: dict[str, list[tuple]] = {}
    for row in rows:
        grouped.setdefault(row[0], []).append(row)
    members = []
    for customer, group in grouped.items():
        _, _, _, name, r, f, m, recency, orders, revenue = group[0]
        visitors = tuple(sorted(row[2] for row in group))
        users = sorted({row[1] for row in group if row[1]})
        members.append(
            Member(
                customer,
                users[0] if users else "",
                visitors,
                name,
                r,
                f,
                m,
                int(recency),
                int(orders),
                int(revenue),
                top_categories(c for v in visitors for c in viewed.get(v, [])),
            )
        )
    return members
