"""The campaigns report on both engines, against expectations computed here in plain Python
from hand-built personalizer and purchase events (never the report's SQL): counts of
decisions, impressions, viewable impressions and clicks; orders credited to their last touch
within the window, across day boundaries and builds, one order outside the window; lift of the
exposed over the holdout; built days, a closed day not built yet and the open day together."""

from __future__ import annotations

import json
import math
import random
import uuid
import zlib
from collections import defaultdict
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from pipelines.warehouse.factory import open_warehouse
from pipelines.warehouse.migrate import migrate
from pipelines.warehouse.reader import WarehouseEventStore
from pipelines.warehouse.rollups import RollupBuilder
from pipelines.warehouse.sink import WarehouseSink
from reports.campaigns import campaigns
from reports.catalog import REPORTS
from reports.proportions import difference_interval, ratio_interval
from reports.query import parse_query
from reports.source import RollupSource
from tests.integration.conftest import ENGINES, warehouse_target

ZONE = "America/Los_Angeles"
SITE = "shop"
TODAY = date(2025, 1, 9)  # open; the 8th is closed but not built
BUILT = (date(2025, 1, 4), date(2025, 1, 5), date(2025, 1, 6), date(2025, 1, 7))
DAY_MS = 86_400_000
DIMENSIONS = ("creative_id", "placement", "country", "device_type")


def local_ms(day: date, hour: int, minute: int = 0) -> int:
    moment = datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZoneInfo(ZONE))
    return int(moment.timestamp() * 1000)


def local_day(ms: int) -> date:
    return datetime.fromtimestamp(ms / 1000, UTC).astimezone(ZoneInfo(ZONE)).date()


class Events:
    """Hand-built events of one site, as the pipeline stores them."""

    def __init__(self) -> None:
        self.rows: list[dict] = []

    def add(self, visitor: dict, event_type: str, ms: int, **fields) -> dict:  # noqa: ANN003
        row = {
            "site_id": SITE,
            "visitor_id": visitor["id"],
            "session_id": f"{visitor['id']}-s",
            "event_id": str(uuid.UUID(int=random.getrandbits(128))),
            "event_type": event_type,
            "schema_version": 2,
            "created_ms": ms,
            "sent_ms": ms,
            "received_ms": ms,
            "derived_ms": ms,
            "country": visitor["country"],
            "device_type": visitor["device"],
            "is_bot": int(visitor["device"] == "bot"),
            **fields,
        }
        self.rows.append(row)
        return row

    def decision(
        self,
        visitor: dict,
        ms: int,
        campaign: str,
        creative: str,
        placement: str,
        held_out: str = "",
    ) -> str:
        decision_id = str(uuid.UUID(int=random.getrandbits(128)))
        properties = {"source": "campaign"}
        if held_out:
            properties["held_out_campaign"] = held_out
        self.add(
            visitor,
            "decision",
            ms,
            decision_id=decision_id,
            campaign_id=campaign,
            creative_id=creative,
            placement=placement,
            holdout=int(bool(held_out)),
            properties=json.dumps(properties, separators=(",", ":")),  # as the pipeline writes it
        )
        return decision_id

    def banner(
        self,
        visitor: dict,
        kind: str,
        ms: int,
        campaign: str,
        creative: str,
        placement: str,
        holdout: int = 0,
        viewable: int = 0,
    ) -> dict:
        return self.add(
            visitor,
            kind,
            ms,
            campaign_id=campaign,
            creative_id=creative,
            placement=placement,
            holdout=holdout,
            viewable=viewable,
        )

    def purchase(
        self, visitor: dict, ms: int, items: list[tuple[int, int]], currency: str = "EUR"
    ) -> None:
        self.add(
            visitor,
            "purchase",
            ms,
            currency=currency,
            item_skus=[f"sku{i}" for i in range(len(items))],
            item_prices=[price for price, _ in items],
            item_quantities=[quantity for _, quantity in items],
            order_id=f"o{random.getrandbits(32)}",
        )


def simulate(seed: int = 7) -> list[dict]:
    random.seed(seed)
    events = Events()
    start, end = local_ms(date(2025, 1, 4), 0), local_ms(TODAY, 11)
    for n in range(70):
        visitor = {
            "id": f"v{n:03d}",
            "country": random.choice(("DE", "FR", "US")),
            "device": random.choice(("desktop", "mobile", "mobile", "bot")),
        }
        held = zlib.crc32(visitor["id"].encode()) % 4 == 0  # a holdout visitor of spring
        for _ in range(random.randint(1, 4)):
            at = random.randint(start, end - 120_000)
            placement = random.choice(("top", "side"))
            campaign = random.choice(("spring", "spring", "summer"))
            if campaign == "spring" and held:
                events.decision(visitor, at, "house", "h1", placement, held_out="spring")
                if random.random() < 0.7:
                    events.banner(
                        visitor,
                        "banner_impression",
                        at + 2_000,
                        "house",
                        "h1",
                        placement,
                        holdout=1,
                        viewable=int(random.random() < 0.5),
                    )
                continue
            creative = random.choice(("s1", "s2")) if campaign == "spring" else "u1"
            events.decision(visitor, at, campaign, creative, placement)
            if random.random() < 0.8:
                shown = events.banner(
                    visitor,
                    "banner_impression",
                    at + 2_000,
                    campaign,
                    creative,
                    placement,
                    viewable=int(random.random() < 0.6),
                )
                if random.random() < 0.1:
                    events.rows.append(dict(shown))  # a replay: counts once
                if random.random() < 0.35:
                    events.banner(
                        visitor, "banner_click", at + 30_000, campaign, creative, placement
                    )
        for _ in range(random.choice((0, 0, 1, 2))):
            events.purchase(
                visitor,
                random.randint(start, end),
                [(random.choice((999, 2500, 4000)), random.randint(1, 3))],
                random.choice(("EUR", "EUR", "USD")),
            )
    # Across midnight and across builds: a click on the 6th, the order on the 7th.
    cross = {"id": "v-cross", "country": "DE", "device": "desktop"}
    events.decision(cross, local_ms(date(2025, 1, 6), 23, 40), "summer", "u1", "top")
    events.banner(cross, "banner_click", local_ms(date(2025, 1, 6), 23, 50), "summer", "u1", "top")
    events.purchase(cross, local_ms(date(2025, 1, 7), 0, 20), [(5000, 1)])
    # Outside a 3-day window: an impression on the 5th, the order on the 9th.
    late = {"id": "v-late", "country": "FR", "device": "desktop"}
    events.decision(late, local_ms(date(2025, 1, 5), 9), "summer", "u1", "side")
    events.banner(
        late,
        "banner_impression",
        local_ms(date(2025, 1, 5), 9, 1),
        "summer",
        "u1",
        "side",
        viewable=1,
    )
    events.purchase(late, local_ms(TODAY, 10), [(7000, 1)])
    return events.rows


# --- the expectations, in plain Python ----------------------------------------------------------


def unique(rows: list[dict]) -> list[dict]:
    return list({(r["visitor_id"], r["created_ms"], r["event_id"]): r for r in rows}.values())


def revenue(row: dict) -> int:
    return sum(p * q for p, q in zip(row["item_prices"], row["item_quantities"], strict=True))


def expected(
    rows,
    since: date,
    until: date,
    window: int,
    by: tuple[str, ...],
    country="",
    device="",
    bots=False,
) -> dict[tuple, dict]:
    rows = unique(rows)
    in_period = [r for r in rows if since <= local_day(r["derived_ms"]) <= until]

    def kept(r: dict) -> bool:
        return (
            (not country or r["country"] == country)
            and (not device or r["device_type"] == device)
            and (bots or not r["is_bot"])
        )

    def key(r: dict) -> tuple:
        return (r["campaign_id"], *(r[d] if d in by else "" for d in DIMENSIONS))

    out: dict[tuple, dict] = defaultdict(lambda: defaultdict(int))
    seen: dict[tuple, set] = defaultdict(set)
    for r in in_period:
        if not r.get("campaign_id") or not kept(r):
            continue
        figures = out[key(r)]
        kind = r["event_type"]
        if kind == "decision":
            figures["decisions"] += 1
        elif kind == "banner_impression":
            figures["impressions"] += 1
            figures["viewable"] += r["viewable"]
            seen[key(r)].add(r["visitor_id"])
        elif kind == "banner_click":
            figures["clicks"] += 1
    for k, visitors in seen.items():
        out[k]["visitors"] = len(visitors)
    touches = [
        r
        for r in rows
        if r["event_type"] in ("banner_impression", "banner_click") and r["campaign_id"]
    ]
    for order in (r for r in rows if r["event_type"] == "purchase"):
        candidates = [
            t
            for t in touches
            if t["visitor_id"] == order["visitor_id"]
            and 0 <= order["derived_ms"] - t["derived_ms"] <= window * DAY_MS
        ]
        if not candidates:
            continue
        last = max(
            candidates,
            key=lambda t: (
                t["derived_ms"],
                t["campaign_id"],
                t["creative_id"],
                t["placement"],
                t["country"],
                t["device_type"],
                t["is_bot"],
                local_day(t["derived_ms"]),
            ),
        )
        if since <= local_day(last["derived_ms"]) <= until and kept(last):
            out[key(last)]["conversions"] += 1
            out[key(last)]["revenue_" + order["currency"]] += revenue(order)
    # lift: exposed and holdout visitors' first decision of the period, orders after it
    first: dict[tuple, int] = {}
    for r in in_period:
        if r["event_type"] != "decision" or not kept(r):
            continue
        held = json.loads(r["properties"]).get("held_out_campaign", "") if r["holdout"] else ""
        if not held and (r["holdout"] or not r["campaign_id"]):
            continue
        group = (held or r["campaign_id"], *(r[d] if d in by else "" for d in DIMENSIONS[1:]))
        arm_key = (group, int(bool(held)), r["visitor_id"])
        first[arm_key] = min(first.get(arm_key, 2**63), r["derived_ms"])
    arms: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for (group, arm, visitor), at in first.items():
        ordered = any(
            o["visitor_id"] == visitor and at <= o["derived_ms"] <= at + window * DAY_MS
            for o in rows
            if o["event_type"] == "purchase"
        )
        arms[group][2 * arm] += 1
        arms[group][2 * arm + 1] += int(ordered)
    for k, figures in out.items():
        group = (k[0], *k[2:])
        n1, x1, n2, x2 = arms.get(group, [0, 0, 0, 0])
        figures["exposed_visitors"], figures["holdout_visitors"] = n1, n2
        figures["_arms"] = (n1, x1, n2, x2)
    return out


# --- the warehouse ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    return simulate()


@pytest.fixture(scope="module", params=ENGINES)
def loaded(request, rows, chdb_folder):  # noqa: ANN001, ANN201
    """One warehouse per engine for the module (the tests only read it)."""
    target = warehouse_target(request.param, chdb_folder)
    with open_warehouse(target) as warehouse:
        migrate(warehouse)
        WarehouseSink(warehouse).write(rows)
        builder = RollupBuilder(warehouse)
        for day in BUILT:
            builder.build(SITE, day, ZONE)
        yield RollupSource(WarehouseEventStore(warehouse))
        warehouse.execute(f"DROP DATABASE IF EXISTS {target.database}")


def report(source: RollupSource, **params: str):  # noqa: ANN201
    kind = REPORTS["campaigns"]
    query = parse_query(
        params, SITE, ZONE, TODAY, kind.breakdowns, kind.breakdown_name, kind.multiple, kind.extra
    )
    return campaigns(source, query)


def close(got, want) -> bool:  # noqa: ANN001
    if want is None or got is None:
        return got is None and want is None
    return math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-12)


def check(answer, want: dict[tuple, dict], by: tuple[str, ...]) -> None:  # noqa: ANN001
    names = {
        "creative_id": "creative",
        "placement": "placement",
        "country": "country",
        "device_type": "device",
    }
    got = {}
    for record in answer.records():
        got[(record["campaign"], *(record.get(names[d], "") for d in DIMENSIONS))] = record
    assert set(got) == set(want)
    for k, figures in want.items():
        record = got[k]
        for name in (
            "decisions",
            "impressions",
            "viewable",
            "clicks",
            "visitors",
            "conversions",
            "exposed_visitors",
            "holdout_visitors",
        ):
            assert record[name] == figures.get(name, 0), (k, name)
        for name, value in figures.items():
            if name.startswith("revenue_"):
                assert record[name] == value, (k, name)
        assert close(
            record["ctr"],
            figures["clicks"] / figures["impressions"] if figures.get("impressions") else None,
        )
        n1, x1, n2, x2 = figures["_arms"]
        if n1 and n2:
            assert close(record["exposed_rate"], x1 / n1) and close(record["holdout_rate"], x2 / n2)
            low, high = difference_interval(x1, n1, x2, n2)
            assert close(record["uplift_low"], low) and close(record["uplift_high"], high)
            ratio = ratio_interval(x1, n1, x2, n2)
            if ratio:
                assert close(record["lift_low"], ratio[0] - 1), k
        else:
            assert record["uplift"] is None


def test_counts_conversions_and_lift_are_exact(loaded, rows):
    answer = report(loaded, since="2025-01-05", until="2025-01-09", window="3")
    assert [str(d) for d in answer.summary["raw_days"]] == [
        "2025-01-02",
        "2025-01-03",
        "2025-01-08",
        "2025-01-09",
    ]
    want = expected(rows, date(2025, 1, 5), TODAY, 3, ())
    check(answer, want, ())
    records = {r["campaign"]: r for r in answer.records()}
    assert records["spring"]["holdout_visitors"] > 3 and records["spring"]["exposed_visitors"] > 10
    assert records["spring"]["clicks"] > 0 and records["house"]["impressions"] > 0
    assert answer.summary["totals"]["conversions"] == sum(
        f.get("conversions", 0) for f in want.values()
    )
    # The order on the 9th, four days after the 5th's impression, is outside a 3-day window,
    # and inside a 7-day one; the click before midnight takes the order after it.
    wide = report(loaded, since="2025-01-05", until="2025-01-09", window="7")
    check(wide, expected(rows, date(2025, 1, 5), TODAY, 7, ()), ())
    assert wide.summary["totals"]["conversions"] > answer.summary["totals"]["conversions"]


def test_breakdowns_and_filters(loaded, rows):
    by = ("creative_id", "placement", "country", "device_type")
    answer = report(
        loaded,
        since="2025-01-06",
        until="2025-01-08",
        window="2",
        by="device,creative,country,placement",
    )
    check(answer, expected(rows, date(2025, 1, 6), date(2025, 1, 8), 2, by), by)
    by = ("placement",)
    answer = report(
        loaded, since="2025-01-04", until="2025-01-09", by="placement", bots="1", country="de"
    )
    check(answer, expected(rows, date(2025, 1, 4), TODAY, 7, by, country="DE", bots=True), by)
    answer = report(loaded, since="2025-01-04", until="2025-01-09", device="mobile")
    check(answer, expected(rows, date(2025, 1, 4), TODAY, 7, (), device="mobile"), ())


def test_built_days_alone_are_read_from_the_rollups(loaded, rows):
    # The 5th with a one-day window reads the 4th to the 6th: all built, no raw event read.
    answer = report(loaded, since="2025-01-05", until="2025-01-05", window="1", by="placement")
    assert answer.summary["raw_days"] == []
    by = ("placement",)
    check(answer, expected(rows, date(2025, 1, 5), date(2025, 1, 5), 1, by), by)
    assert sum(record["impressions"] for record in answer.records()) > 10
