"""The funnels report on both engines, against expectations computed here in plain Python by
an exhaustive search over hand-built events (never the report's SQL): steps out of order, a
step outside the window, conditions on category, SKU and path; two sites in different time
zones count the same events into their own days; built days, a closed day not built yet and
the open day together; the API's CSV and its 400s."""

from __future__ import annotations

import csv
import io
import json
import math
import random
import uuid
from collections import defaultdict
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from jsonschema import Draft202012Validator

from clicktrail import ports
from clicktrail.settings import Settings
from clicktrail.sites.model import Site
from clicktrail.sites.registry import edit_sites
from clicktrail.tokens.model import new_token
from clicktrail.tokens.registry import edit_tokens
from pipelines.warehouse.factory import open_warehouse
from pipelines.warehouse.migrate import migrate
from pipelines.warehouse.reader import WarehouseEventStore
from pipelines.warehouse.rollups import RollupBuilder
from pipelines.warehouse.sink import WarehouseSink
from reports.app import create_app
from reports.catalog import REPORTS
from reports.commands import report
from reports.funnels import funnels
from reports.query import parse_query
from reports.source import RollupSource
from tests.integration.conftest import ENGINES, warehouse_target

SITES = {"tehran": "Asia/Tehran", "la": "America/Los_Angeles"}  # UTC+3:30, UTC-8
TODAY = {"tehran": date(2025, 1, 9), "la": date(2025, 1, 8)}  # NOW in each zone
NOW = datetime(2025, 1, 9, 1, tzinfo=UTC).timestamp()
BUILT = (date(2025, 1, 5), date(2025, 1, 6))  # the 7th (and the 8th in Tehran) closed, not built
START = datetime(2025, 1, 5, 4, tzinfo=UTC)
MINUTE = 60_000

PAGES = ("/", "/shoes", "/books", "/checkout")
PRODUCTS = {"s1": ["Shoes", "Running"], "s2": ["Shoes", "Trail"], "b1": ["Books"]}


def build_events(seed: int = 11) -> list[dict]:
    """The same visitors' events, sent to both sites."""
    random.seed(seed)
    rows = []
    begin = int(START.timestamp() * 1000)
    for n in range(60):
        visitor = f"v{n:02d}"
        country = random.choice(("DE", "IR", "US"))
        device = random.choice(("desktop", "mobile", "bot"))
        at = begin + random.randint(0, 3 * 24 * 60) * MINUTE
        for _ in range(random.randint(1, 14)):
            at += random.choice((1, 2, 5, 20, 90, 600, 1500)) * MINUTE
            if at >= NOW * 1000:
                break
            kind = random.choice(
                ("page_view", "page_view", "product_view", "add_to_cart", "purchase", "page_ping")
            )
            sku = random.choice(tuple(PRODUCTS))
            row = {
                "visitor_id": visitor,
                "session_id": f"{visitor}-s",
                "event_type": kind,
                "path": random.choice(PAGES),
                "derived_ms": at,
                "country": country,
                "device_type": device,
                "is_bot": int(device == "bot"),
            }
            if kind in ("product_view", "add_to_cart"):
                row.update(sku=sku, category=PRODUCTS[sku])
            if kind == "purchase":
                row.update(
                    item_skus=[sku],
                    item_prices=[1000],
                    item_quantities=[1],
                    item_categories=["/".join(PRODUCTS[sku])],
                    currency="EUR",
                )
            rows.append(row)
    # Out of order: the cart before the view never makes view -> cart.
    for site_row in (
        {"event_type": "add_to_cart", "derived_ms": begin + 60 * MINUTE, "sku": "s1"},
        {"event_type": "product_view", "derived_ms": begin + 61 * MINUTE, "sku": "s1"},
    ):
        rows.append(
            {
                "visitor_id": "v-order",
                "session_id": "x",
                "path": "/shoes",
                "country": "DE",
                "device_type": "desktop",
                "category": PRODUCTS["s1"],
                **site_row,
            }
        )
    # Outside a 30-minute window: the purchase 40 minutes after the view.
    for site_row in (
        {
            "event_type": "product_view",
            "derived_ms": begin + 100 * MINUTE,
            "sku": "b1",
            "category": PRODUCTS["b1"],
        },
        {
            "event_type": "purchase",
            "derived_ms": begin + 140 * MINUTE,
            "item_skus": ["b1"],
            "item_prices": [500],
            "item_quantities": [1],
            "item_categories": ["Books"],
        },
    ):
        rows.append(
            {
                "visitor_id": "v-slow",
                "session_id": "y",
                "path": "/books",
                "country": "US",
                "device_type": "mobile",
                **site_row,
            }
        )
    # At the same millisecond: a step must come strictly after the one before it, so the page
    # view, product view and cart at one time make step 1 only; the view a millisecond later
    # and the cart after it count.
    same = begin + 200 * MINUTE
    for kind, at in (
        ("page_view", same),
        ("product_view", same),
        ("add_to_cart", same),
        ("page_view", same + 5),
        ("product_view", same + 6),
        ("add_to_cart", same + 6),
        ("add_to_cart", same + 7),
    ):
        rows.append(
            {
                "visitor_id": "v-same",
                "session_id": "z",
                "event_type": kind,
                "derived_ms": at,
                "path": "/shoes",
                "country": "DE",
                "device_type": "desktop",
                **({"sku": "s1", "category": PRODUCTS["s1"]} if kind != "page_view" else {}),
            }
        )
    out = []
    for site_id in SITES:
        for row in rows:
            full = {
                "site_id": site_id,
                "event_id": str(uuid.UUID(int=random.getrandbits(128))),
                "created_ms": row["derived_ms"],
                "received_ms": row["derived_ms"],
                "sent_ms": row["derived_ms"],
                "schema_version": 2,
                "is_bot": 0,
                **row,
            }
            out.append(full)
    out.append(dict(out[5]))  # a replay: counts once
    return out


# --- the expectations: exhaustive search ---------------------------------------------------------


def local_day(ms: int, zone: str) -> date:
    return datetime.fromtimestamp(ms / 1000, UTC).astimezone(ZoneInfo(zone)).date()


def matches(row: dict, step: tuple[str, str, str]) -> bool:
    kind, field, value = step
    if row["event_type"] != kind:
        return False
    if field == "category":
        if row["event_type"] == "purchase":
            return any(value in path.split("/") for path in row.get("item_categories", []))
        return value in row.get("category", [])
    if field == "sku":
        return value in (row.get("item_skus") or [row.get("sku", "")])
    if field == "path":
        return row["path"] == value
    return True


def deepest(times: list[list[int]], within: int) -> int:
    """The most steps any start reaches, trying every choice of event at every step."""

    def go(step: int, previous: int, start: int) -> int:
        if step == len(times):
            return step
        best = step
        for at in times[step]:
            if previous < at <= start + within:
                best = max(best, go(step + 1, at, start))
        return best

    return max((go(1, start, start) for start in times[0]), default=0)


def expected(rows, site_id, since, until, steps, within, by=(), device="", bots=False):
    zone = SITES[site_id]
    kept = {
        (r["visitor_id"], r["created_ms"], r["event_id"]): r
        for r in rows
        if r["site_id"] == site_id
        and since <= local_day(r["derived_ms"], zone) <= until
        and (bots or not r["is_bot"])
        and (not device or r["device_type"] == device)
    }
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in kept.values():
        groups[(r["visitor_id"], *(r[d] for d in by))].append(r)
    counts: dict[tuple, list[int]] = defaultdict(lambda: [0] * len(steps))
    for key, events in groups.items():
        times = [sorted(r["derived_ms"] for r in events if matches(r, s)) for s in steps]
        for i in range(deepest(times, within)):
            counts[key[1:]][i] += 1
    return dict(counts)


# --- the warehouse ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    return build_events()


@pytest.fixture(scope="module", params=ENGINES)
def source(request, rows, chdb_folder):  # noqa: ANN001, ANN201
    """One warehouse per engine for the module (the tests only read it)."""
    target = warehouse_target(request.param, chdb_folder)
    with open_warehouse(target) as warehouse:
        migrate(warehouse)
        WarehouseSink(warehouse).write(rows)
        builder = RollupBuilder(warehouse)
        for site_id, zone in SITES.items():
            for day in BUILT:
                builder.build(site_id, day, zone)
        yield RollupSource(WarehouseEventStore(warehouse))
        warehouse.execute(f"DROP DATABASE IF EXISTS {target.database}")


def run(source, site_id: str, **params: str):  # noqa: ANN001, ANN201
    kind = REPORTS["funnels"]
    query = parse_query(
        params,
        site_id,
        SITES[site_id],
        TODAY[site_id],
        kind.breakdowns,
        kind.breakdown_name,
        kind.multiple,
        kind.extra,
    )
    return funnels(source, query)


def got_counts(answer, names: tuple[str, ...]) -> dict[tuple, list[int]]:  # noqa: ANN001
    found: dict[tuple, list[int]] = defaultdict(list)
    for record in answer.records():
        found[tuple(record[n] for n in names)].append(record["visitors"])
    return dict(found)


CASES = [
    ("page_view,product_view,add_to_cart,purchase", "1d"),
    ("product_view:category=Shoes,cart_add,purchase:category=Running", "2h"),
    ("page_view:path=/shoes,product_view:sku=s1,page_view:path=/checkout", "30m"),
    ("product_view,purchase", "30m"),
    ("page_view,page_view,page_view", "1h"),
]


@pytest.mark.parametrize("site_id", list(SITES))
def test_funnels_are_exact_in_each_sites_days(source, rows, site_id):
    since, until = date(2025, 1, 5), TODAY[site_id]
    for steps_text, within_text in CASES:
        answer = run(
            source,
            site_id,
            steps=steps_text,
            within=within_text,
            since=str(since),
            until=str(until),
        )
        steps = [(s.event_type, s.field, s.value) for s in _steps(steps_text)]
        within = _ms(within_text)
        want = expected(rows, site_id, since, until, steps, within)
        assert got_counts(answer, ()) == want, steps_text
        assert answer.summary["totals"]["entrants"] == want[()][0] > 10
        conversions = [r["conversion"] for r in answer.records()]
        assert conversions[0] == 1.0 and all(
            math.isclose(c, n / want[()][0]) for c, n in zip(conversions, want[()], strict=True)
        )
    # Built: the 5th and 6th; read raw: the 7th (closed, not built) up to the open day.
    raw = {"tehran": ["2025-01-07", "2025-01-08", "2025-01-09"], "la": ["2025-01-07", "2025-01-08"]}
    assert [str(d) for d in answer.summary["raw_days"]] == raw[site_id]


def _steps(text):  # noqa: ANN001, ANN202
    from reports.funnels import parse_steps

    return parse_steps(text)


def _ms(text: str) -> int:
    from reports.funnels import parse_within

    return parse_within(text)


def test_out_of_order_and_outside_the_window(source, rows):
    one = {"since": "2025-01-05", "until": "2025-01-05"}
    view_cart = run(source, "tehran", steps="product_view:sku=s1,add_to_cart:sku=s1", **one)
    slow = run(source, "tehran", steps="product_view:sku=b1,purchase:sku=b1", within="30m", **one)
    slow_wide = run(
        source, "tehran", steps="product_view:sku=b1,purchase:sku=b1", within="1h", **one
    )
    for answer, steps, within in (
        (view_cart, [("product_view", "sku", "s1"), ("add_to_cart", "sku", "s1")], 86_400_000),
        (slow, [("product_view", "sku", "b1"), ("purchase", "sku", "b1")], 30 * MINUTE),
        (slow_wide, [("product_view", "sku", "b1"), ("purchase", "sku", "b1")], 60 * MINUTE),
    ):
        want = expected(rows, "tehran", date(2025, 1, 5), date(2025, 1, 5), steps, within)
        assert got_counts(answer, ()) == want
    only = [
        r for r in rows if r["visitor_id"] in ("v-order", "v-slow") and r["site_id"] == "tehran"
    ]
    assert expected(
        only,
        "tehran",
        date(2025, 1, 5),
        date(2025, 1, 5),
        [("product_view", "sku", "s1"), ("add_to_cart", "sku", "s1")],
        86_400_000,
    ) == {(): [1, 0]}
    assert expected(
        only,
        "tehran",
        date(2025, 1, 5),
        date(2025, 1, 5),
        [("product_view", "sku", "b1"), ("purchase", "sku", "b1")],
        30 * MINUTE,
    ) == {(): [1, 0]}


def test_breakdowns_and_filters(source, rows):
    steps_text, within = "page_view,product_view,add_to_cart", "1d"
    steps = [(s.event_type, s.field, s.value) for s in _steps(steps_text)]
    answer = run(
        source,
        "la",
        steps=steps_text,
        within=within,
        by="device,country",
        bots="1",
        since="2025-01-04",
        until="2025-01-08",
    )
    want = expected(
        rows,
        "la",
        date(2025, 1, 4),
        date(2025, 1, 8),
        steps,
        86_400_000,
        by=("device_type", "country"),
        bots=True,
    )
    assert got_counts(answer, ("device", "country")) == {(d, c): v for (d, c), v in want.items()}
    # The totals are distinct visitors over every group, not the groups' sum.
    whole = expected(rows, "la", date(2025, 1, 4), date(2025, 1, 8), steps, 86_400_000, bots=True)
    assert answer.summary["totals"]["entrants"] == whole[()][0]
    answer = run(
        source, "la", steps=steps_text, device="mobile", since="2025-01-04", until="2025-01-08"
    )
    want = expected(
        rows, "la", date(2025, 1, 4), date(2025, 1, 8), steps, 86_400_000, device="mobile"
    )
    assert got_counts(answer, ()) == want


# --- the API ----------------------------------------------------------------------------------


@pytest.fixture
def client(source, tmp_path: Path):  # noqa: ANN001, ANN201
    settings = Settings.from_env(
        {},
        port_offset=ports.port_offset(),  # the run's own services (CLICKTRAIL_PORT_OFFSET)
        data_dir=tmp_path,
        sites_file=tmp_path / "sites.json",
        tokens_file=tmp_path / "tokens.json",
        sites_reload_seconds=0.1,
    )
    with edit_sites(settings.sites_file) as sites:
        for site_id, zone in SITES.items():
            sites[site_id] = Site(site_id, timezone=zone)
    with edit_tokens(settings.tokens_file) as entries:
        secret, token = new_token("*", "read", 0)
        entries[token.token_id] = token
    app = create_app(settings, store=source.store, clock=lambda: NOW)
    test_client = app.test_client()
    test_client.headers = {"Authorization": f"Bearer {secret}"}
    return test_client


def test_api_csv_and_bad_parameters(client):
    base = {"site": "tehran", "since": "2025-01-05", "until": "2025-01-09"}
    answer = client.get(
        "/v1/reports/funnels",
        headers=client.headers,
        query_string={**base, "steps": "page_view,purchase", "by": "device"},
    )
    assert answer.status_code == 200, answer.json
    document = client.get("/openapi.json").json
    schema = {**document["components"]["schemas"]["Report"], "$defs": {}}
    Draft202012Validator(schema).validate(answer.json)
    listed = [entry["name"] for entry in client.get("/v1/reports").json["reports"]]
    assert {"campaigns", "funnels"} <= set(listed)
    as_csv = client.get(
        "/v1/reports/funnels",
        headers=client.headers,
        query_string={**base, "steps": "page_view,purchase", "by": "device", "format": "csv"},
    )
    table = list(csv.DictReader(io.StringIO(as_csv.get_data(as_text=True))))
    assert [int(r["visitors"]) for r in table] == [r["visitors"] for r in answer.json["rows"]]
    assert list(table[0]) == ["device", "step", "name", "visitors", "conversion", "step_conversion"]
    for params, words in (
        ({}, "steps is required"),
        ({"steps": "page_view"}, "2 to 8 steps"),
        ({"steps": "page_view,checkout"}, "unknown event type 'checkout'"),
        ({"steps": "page_view,product_view:colour=red"}, "category, sku, path"),
        ({"steps": "page_view,product_view:"}, "empty condition"),
        ({"steps": ",".join(["page_view"] * 9)}, "2 to 8 steps"),
        ({"steps": "page_view,purchase", "within": "2w"}, "within"),
        ({"steps": "page_view,purchase", "within": "91d"}, "within"),
        ({"steps": "page_view,purchase", "by": "browser"}, "by must be"),
    ):
        answer = client.get(
            "/v1/reports/funnels", headers=client.headers, query_string={**base, **params}
        )
        assert answer.status_code == 400, (params, answer.json)
        assert words in answer.json["error"], (params, answer.json)
    for params, words in (
        ({"window": "0"}, "window must be"),
        ({"window": "x"}, "window must be"),
        ({"by": "browser"}, "by must be"),
        ({"steps": "page_view,purchase"}, "unknown parameter steps"),
    ):
        answer = client.get(
            "/v1/reports/campaigns", headers=client.headers, query_string={**base, **params}
        )
        assert answer.status_code == 400, (params, answer.json)
        assert words in answer.json["error"], (params, answer.json)
    answer = client.get(
        "/v1/reports/campaigns",
        headers=client.headers,
        query_string={**base, "by": "creative,device", "format": "csv"},
    )
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    as_json = client.get("/v1/reports/campaigns", headers=client.headers, query_string=base)
    Draft202012Validator(schema).validate(as_json.json)
    assert answer.get_data(as_text=True).startswith("campaign,creative,device,decisions,")


def test_the_command_prints_funnels_and_campaigns(source, rows, tmp_path):
    warehouse = source.store.warehouse
    if warehouse.flavor != "server":
        pytest.skip("the command opens the warehouse itself; this process holds the chdb folder")
    with edit_sites(tmp_path / "sites.json") as sites:
        sites["la"] = Site("la", timezone=SITES["la"])
    env = {
        "CLICKTRAIL_DATA_DIR": str(tmp_path),
        "CLICKTRAIL_SITES_FILE": str(tmp_path / "sites.json"),
        "CLICKTRAIL_CLICKHOUSE_URL": (
            f"clickhouse://127.0.0.1:{ports.port('clickhouse_native')}/{warehouse.database}"
        ),
    }
    period = ["--since", "2025-01-05", "--until", "2025-01-06"]
    runner = CliRunner()
    steps = "page_view,product_view:category=Shoes"
    printed = runner.invoke(
        report,
        ["funnels", "--site", "la", "--steps", steps, "--within", "2h", "--format", "csv", *period],
        env=env,
    )
    assert printed.exit_code == 0, printed.output
    want = expected(
        rows,
        "la",
        date(2025, 1, 5),
        date(2025, 1, 6),
        [("page_view", "", ""), ("product_view", "category", "Shoes")],
        7_200_000,
    )
    table = list(csv.DictReader(io.StringIO(printed.stdout)))
    assert [int(line["visitors"]) for line in table] == want[()]
    campaigns = runner.invoke(
        report, ["campaigns", "--site", "la", "--window", "3", "--format", "json", *period], env=env
    )
    assert campaigns.exit_code == 0, campaigns.output
    assert json.loads(campaigns.stdout)["window_days"] == 3  # no personalizer events here
    bad = runner.invoke(report, ["funnels", "--site", "la", "--steps", "page_view"], env=env)
    assert bad.exit_code == 2 and "2 to 8 steps" in bad.output
    bad = runner.invoke(report, ["audience", "--site", "la", "--steps", "page_view"], env=env)
    assert bad.exit_code == 2 and "--steps" in bad.output


# --- the step-by-step evaluation alone, on random times ---------------------------------------


def test_step_levels_match_an_exhaustive_search(source):
    """``step_levels`` over 400 random visitors' step times (few distinct milliseconds, so
    ties, repeats and steps out of order are common) gives ``deepest``'s step on both
    engines."""
    from pipelines.warehouse.report_queries_funnels import step_levels

    rng = random.Random(5)
    cases = []
    for _ in range(400):
        steps = rng.randint(2, 5)
        times = [sorted(rng.choices(range(1, 40), k=rng.randint(0, 6))) for _ in range(steps)]
        if rng.random() < 0.2:  # the same event type twice: the same times
            times[-1] = times[0]
        cases.append((times, rng.choice((1, 3, 8, 20, 60))))
    for steps, within in sorted({(len(times), within) for times, within in cases}):
        chosen = [times for times, w in cases if len(times) == steps and w == within]
        names = [f"t{i}" for i in range(1, steps + 1)]
        levels, depth = step_levels(names)
        columns = ", ".join(
            f"arrayMap(x -> toUInt64(x), arrayFilter(x -> x != '',"
            f" splitByChar(',', splitByChar(';', c)[{i}]))) AS {name}"
            for i, name in enumerate(names, 2)
        )
        sql = (
            f"SELECT n, {depth} AS reached, {', '.join(levels)} FROM ("
            f"SELECT toUInt32(splitByChar(';', c)[1]) AS n, {columns}"
            " FROM (SELECT arrayJoin(%(cases)s) AS c))"
        )
        encoded = [
            ";".join([str(n), *(",".join(map(str, t)) for t in times)])
            for n, times in enumerate(chosen)
        ]
        rows = source.store.warehouse.query(sql, {"cases": encoded, "within_ms": within}).rows
        got = {int(row[0]): int(row[1]) for row in rows}
        want = {n: deepest(times, within) for n, times in enumerate(chosen)}
        assert got == want, (steps, within)


def test_migration_8_fills_the_days_built_before_it(source, rows):
    """Days built before ``rollup_funnel_visitors`` existed are filled by migration 8 from
    their ``rollup_funnel_events`` rows (once: a second run fills nothing), and their funnels
    stay exact."""
    from pipelines.warehouse.ddl import MIGRATIONS
    from pipelines.warehouse.rollups_funnels import fill_built_days, funnel_visitor_tables

    warehouse = source.store.warehouse
    warehouse.execute(f"DROP TABLE {warehouse.database}.rollup_funnel_visitors")
    for statement in funnel_visitor_tables(warehouse.flavor, warehouse.database):
        warehouse.execute(statement)
    (migration,) = [m for m in MIGRATIONS if m.version == 8]
    assert migration.then is not None
    migration.then(warehouse)
    filled = warehouse.query(
        f"SELECT site_id, day FROM {warehouse.database}.rollup_funnel_visitors"
        " GROUP BY site_id, day ORDER BY site_id, day"
    ).rows
    assert [(s, d) for s, d in filled] == [(s, d) for s in sorted(SITES) for d in BUILT]
    assert fill_built_days(warehouse) == 0
    since, until = date(2025, 1, 5), TODAY["tehran"]
    steps_text = "page_view,product_view,add_to_cart,purchase"
    answer = run(source, "tehran", steps=steps_text, since=str(since), until=str(until))
    steps = [(s.event_type, s.field, s.value) for s in _steps(steps_text)]
    assert got_counts(answer, ()) == expected(rows, "tehran", since, until, steps, 86_400_000)
