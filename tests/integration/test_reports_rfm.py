"""RFM on both engines, with hand-made customers: scores and segments as of each day,
membership that changes between days (a segment filter on a past period uses that day's
membership; the open day the last built one's), the rfm report, its members table and the
segment export's CSV (with the personalizer's offers from ``clicktrail offers export``)."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from clicktrail import ports
from pipelines.warehouse.columns import EVENT_COLUMNS, empty_value
from pipelines.warehouse.factory import open_warehouse
from pipelines.warehouse.migrate import migrate
from pipelines.warehouse.reader import WarehouseEventStore
from pipelines.warehouse.rollups import RollupBuilder
from pipelines.warehouse.segments import segment_day, segment_members, segment_of
from pipelines.warehouse.sink import WarehouseSink
from reports.audience import audience
from reports.query import ReportError, parse_query
from reports.rfm import MEMBER_COLUMNS, rfm
from reports.segments import EXPORT_COLUMNS, CommandOffers, export_csv, member_offers
from reports.source import RollupSource
from tests.integration.conftest import ENGINES, warehouse_target

ZONE = "UTC"
TODAY = date(2025, 1, 12)  # the 11th has no events (never built), the 12th is open
# (customer, visitor, user, purchase day, revenue); the user is sent from the purchase on
PURCHASES = [
    ("A", "va1", "ua", date(2025, 1, 2), 1000),
    ("A", "va1", "ua", date(2025, 1, 5), 1500),
    ("A", "va2", "ua", date(2025, 1, 9), 2000),
    ("B", "vb", "", date(2025, 1, 1), 500),
    ("C", "vc", "uc", date(2025, 1, 3), 700),
    ("C", "vc", "uc", date(2025, 1, 4), 800),
    ("D", "vd", "", date(2025, 1, 9), 9000),
    ("E", "ve", "", date(2025, 1, 6), 300),
]
# Segments as read off the documented grid for the scores worked out by hand
# (docs/reports.md: R 1 + floor(5 * longer recencies / n), F 1 + floor(5 * fewer orders / n)).
AS_OF_5 = {"A": "potential_loyalist", "B": "lost", "C": "hibernating"}  # A R4 F2, C R2 F2
AS_OF_9 = {"A": "loyal", "B": "lost", "C": "at_risk", "D": "promising", "E": "about_to_sleep"}


def at(day: date, hour: int) -> int:
    return int(datetime(day.year, day.month, day.day, hour, tzinfo=UTC).timestamp() * 1000)


def event(site: str, visitor: str, ms: int, kind: str, **fields) -> dict:
    row = {name: empty_value(kind_) for name, kind_ in EVENT_COLUMNS.items()}
    row.update(
        site_id=site,
        visitor_id=visitor,
        session_id=f"{visitor}-{ms // 86_400_000}",
        page_view_id=f"pv-{ms}",
        created_ms=ms,
        derived_ms=ms,
        sent_ms=ms,
        received_ms=ms,
        event_id=str(uuid.uuid4()),
        event_type=kind,
        country="DE",
        device_type="desktop",
    )
    row.update(fields)
    return row


def events(site: str) -> list[dict]:
    rows = []
    for n, (_, visitor, user, day, revenue) in enumerate(PURCHASES):
        rows.append(event(site, visitor, at(day, 10), "page_view", user_id=user))
        rows.append(
            event(
                site,
                visitor,
                at(day, 11),
                "purchase",
                user_id=user,
                order_id=f"o{n}",
                currency="EUR",
                item_skus=[f"S{n}"],
                item_prices=[revenue],
                item_quantities=[1],
                item_categories=["Books/Novels"],
            )
        )
    books = {"category": ["Books"], "sku": "B1"}
    rows += [event(site, "va1", at(date(2025, 1, 2), h), "product_view", **books) for h in (8, 9)]
    rows.append(
        event(site, "va2", at(date(2025, 1, 9), 9), "product_view", category=["Garden"], sku="G")
    )
    rows.append(event(site, "vx", at(date(2025, 1, 5), 12), "page_view"))  # no customer
    rows.append(event(site, "va1", at(TODAY, 8), "page_view", user_id="ua"))  # the open day
    return rows


def load(warehouse) -> str:  # noqa: ANN001
    """A site of its own with the hand-made events, the 1st to the 10th built."""
    site = f"r{uuid.uuid4().hex[:8]}"
    WarehouseSink(warehouse).write(events(site))
    builder = RollupBuilder(warehouse)
    for n in range(10):
        builder.build(site, date(2025, 1, 1) + timedelta(days=n), ZONE)
    return site


@pytest.fixture(scope="module", params=ENGINES)
def module_warehouse(request, chdb_folder):  # noqa: ANN001, ANN201
    target = warehouse_target(request.param, chdb_folder)
    with open_warehouse(target) as warehouse:
        migrate(warehouse)
        yield warehouse
        warehouse.execute(f"DROP DATABASE IF EXISTS {target.database}")


@pytest.fixture(scope="module")
def loaded(module_warehouse):  # noqa: ANN001, ANN201
    """Read only by the tests that take it."""
    return module_warehouse, load(module_warehouse)


@pytest.fixture
def built(module_warehouse):  # noqa: ANN001, ANN201
    """A site of the test's own (it changes it)."""
    return module_warehouse, load(module_warehouse)


def scores(day: date, purchases: list = PURCHASES) -> dict[str, tuple[int, int, int]]:
    """The documented scores, by plain counting: 1 + floor(5 * worse / n)."""
    bought = [p for p in purchases if p[3] <= day]
    customers = sorted({p[0] for p in bought})
    recency = {c: (day - max(p[3] for p in bought if p[0] == c)).days for c in customers}
    orders = {c: sum(p[0] == c for p in bought) for c in customers}
    money = {c: sum(p[4] for p in bought if p[0] == c) for c in customers}
    n = len(customers)

    def score(c: str, values: dict, worse) -> int:  # noqa: ANN001
        return 1 + 5 * sum(worse(values[o], values[c]) for o in customers) // n

    return {
        c: (
            score(c, recency, lambda other, mine: other > mine),
            score(c, orders, lambda other, mine: other < mine),
            score(c, money, lambda other, mine: other < mine),
        )
        for c in customers
    }


def stored(warehouse, site: str, day: date) -> dict[str, tuple]:  # noqa: ANN001
    store = WarehouseEventStore(warehouse)
    members = segment_members(store, site, day, "")
    return {m.customer: (m.segment, (m.r, m.f, m.m), m.visitor_ids) for m in members}


def test_scores_and_segments_as_of_each_day(loaded):
    warehouse, site = loaded
    key = {"A": "ua", "B": "vb", "C": "uc", "D": "vd", "E": "ve"}
    for day, segments in ((date(2025, 1, 5), AS_OF_5), (date(2025, 1, 9), AS_OF_9)):
        got = stored(warehouse, site, day)
        want = scores(day)
        assert set(got) == {key[c] for c in want}, day
        for customer, (r, f, m) in want.items():
            segment, got_scores, _ = got[key[customer]]
            assert got_scores == (r, f, m), (day, customer)
            assert segment == segments[customer], (day, customer)
    # A's two visitors are one customer (the user id joins them); vx bought nothing.
    assert stored(warehouse, site, date(2025, 1, 9))["ua"][2] == ("va1", "va2")
    assert "vx" not in stored(warehouse, site, date(2025, 1, 9))

    store = WarehouseEventStore(warehouse)
    assert segment_of(store, site, date(2025, 1, 5), visitor_id="va2") is None  # not yet A's
    assert segment_of(store, site, date(2025, 1, 9), visitor_id="va2").segment == "loyal"
    assert segment_of(store, site, date(2025, 1, 5), user_id="ua").segment == "potential_loyalist"
    as_of_today = segment_of(store, site, TODAY, user_id="ua")  # the 10th: the last built
    assert (as_of_today.day, as_of_today.segment) == (date(2025, 1, 10), "loyal")
    assert segment_day(store, site, date(2024, 12, 31)) is None


def test_a_late_purchase_rescores_the_days_after_it(built):
    """E's purchase on the 3rd arrives late: the 3rd is rebuilt, and every built day after it
    is scored again from the visitor days (E bought twice as of the 9th, no more once)."""
    warehouse, site = built
    late = ("E", "ve", "", date(2025, 1, 3), 400)
    WarehouseSink(warehouse).write(
        [
            event(
                site,
                "ve",
                at(late[3], 15),
                "purchase",
                order_id="late",
                currency="EUR",
                item_skus=["L"],
                item_prices=[400],
                item_quantities=[1],
            )
        ]
    )
    before = stored(warehouse, site, date(2025, 1, 9))
    # twice, the second time while the first one's older generations may still be stored
    RollupBuilder(warehouse).build(site, date(2025, 1, 3), ZONE)
    RollupBuilder(warehouse).build(site, date(2025, 1, 3), ZONE)
    purchases = [*PURCHASES, late]
    key = {"A": "ua", "B": "vb", "C": "uc", "D": "vd", "E": "ve"}
    for day in (date(2025, 1, 3), date(2025, 1, 5), date(2025, 1, 9), date(2025, 1, 10)):
        got = stored(warehouse, site, day)
        want = scores(day, purchases)
        assert {c: got[key[c]][1] for c in want} == want, day
    after = stored(warehouse, site, date(2025, 1, 9))
    assert after["ve"][1] != before["ve"][1]  # E's frequency rose
    # the report's member rows show the new scores: one generation per day is read
    found = segment_members(WarehouseEventStore(warehouse), site, date(2025, 1, 9), "")
    assert len(found) == 5 and {m.customer: m.orders for m in found}["ve"] == 2


def visitors(warehouse, site: str, since: str, until: str, segment: str) -> int:  # noqa: ANN001
    query = parse_query(
        {"since": since, "until": until, "segment": segment}, site, ZONE, TODAY, extra=("segment",)
    )
    return audience(RollupSource(WarehouseEventStore(warehouse)), query).summary["totals"][
        "visitors"
    ]


def test_a_segment_filter_means_who_was_in_it_on_the_day(loaded):
    warehouse, site = loaded
    assert visitors(warehouse, site, "2025-01-05", "2025-01-05", "potential_loyalist") == 1
    assert visitors(warehouse, site, "2025-01-05", "2025-01-05", "loyal") == 0  # A later
    assert visitors(warehouse, site, "2025-01-09", "2025-01-09", "loyal") == 1  # va2
    assert visitors(warehouse, site, "2025-01-01", "2025-01-10", "lost") == 1  # vb, on the 1st
    assert visitors(warehouse, site, "2025-01-01", "2025-01-10", "") == 7
    # the open day (raw) takes the last built day's membership
    assert visitors(warehouse, site, "2025-01-12", "2025-01-12", "loyal") == 1
    with pytest.raises(ReportError, match="segment must be one of"):
        parse_query({"segment": "whales"}, site, ZONE, TODAY, extra=("segment",))


def test_the_rfm_report_and_the_segment_export(loaded, tmp_path: Path):
    warehouse, site = loaded
    source = RollupSource(WarehouseEventStore(warehouse))
    query = parse_query({"until": "2025-01-09"}, site, ZONE, TODAY, extra=("members", "segment"))
    answer = rfm(source, query)
    assert answer.summary["as_of"] == date(2025, 1, 9)
    rows = {row[0]: dict(zip(answer.columns, row, strict=True)) for row in answer.rows}
    assert len(rows) == 11 and rows["champions"]["customers"] == 0
    assert rows["loyal"]["customers"] == 1 and rows["loyal"]["visitors"] == 2
    assert rows["loyal"]["revenue"] == 4500 and rows["loyal"]["orders"] == 3
    assert sum(row["customers"] for row in rows.values()) == 5
    assert answer.summary["totals"] == {"customers": 5, "revenue": 15800}

    members = rfm(
        source,
        parse_query(
            {"until": "2025-01-09", "segment": "loyal", "members": "1"},
            site,
            ZONE,
            TODAY,
            extra=("members", "segment"),
        ),
    )
    table = list(csv.reader(io.StringIO(members.to_csv())))
    assert table[0] == list(MEMBER_COLUMNS)
    assert table[1] == ["ua", "va1 va2", "loyal", "4", "5", "4", "0", "3", "4500", "Books Garden"]

    found = segment_members(WarehouseEventStore(warehouse), site, date(2025, 1, 9), "loyal")
    exported = list(csv.reader(io.StringIO(export_csv(found, {"ua": ["S1", "S2"]}))))
    assert exported[0] == list(EXPORT_COLUMNS) and exported[1][-1] == "S1 S2"


@pytest.mark.redis
@pytest.mark.clickhouse
def test_the_export_takes_the_personalizers_offers(module_warehouse, tmp_path: Path):
    """``clicktrail offers export`` in a child process, as the segment export runs it (on the
    server: the child cannot open this process's chdb folder)."""
    from personalizer.catalog import Product
    from personalizer.catalog_store import CatalogStore
    from pipelines.profiles.clients import writer_client

    warehouse = module_warehouse
    if warehouse.flavor != "server":
        pytest.skip("the child process reaches chdb only through an owner")
    site = load(warehouse)
    state = f"redis://127.0.0.1:{ports.port('redis_state')}/0"
    products = [  # the products the customers viewed: popular, so offered
        Product(
            sku=sku,
            title=f"Title {sku}",
            category=category,
            price=1999,
            currency="EUR",
            url=f"https://shop.example.test/{sku}",
        )
        for sku, category in (("B1", "Books/Novels"), ("G", "Garden/Tools"), ("S7", "Books/Novels"))
    ]
    CatalogStore(writer_client(state)).import_products(site, products)
    recent = int(datetime.now(UTC).timestamp() * 1000) - 3_600_000  # popularity is recent
    WarehouseSink(warehouse).write(
        [event(site, f"pop{n}", recent + n, "product_view", sku="B1") for n in range(3)]
    )
    try:
        env = {
            "CLICKTRAIL_DATA_DIR": str(tmp_path),
            "CLICKTRAIL_PROFILE_URL": f"redis://127.0.0.1:{ports.port('redis_profile')}/14",
            "CLICKTRAIL_CLICKHOUSE_URL": f"clickhouse://127.0.0.1:{ports.port('clickhouse_native')}"
            f"/{warehouse.database}",
        }
        found = segment_members(WarehouseEventStore(warehouse), site, date(2025, 1, 9), "")
        offers = member_offers(CommandOffers(env), site, found, 2)
    finally:
        writer_client(state).delete(f"catalog:{site}")
    assert set(offers) == {"ua", "uc"}  # the identified customers
    assert all(skus and set(skus) <= {"B1", "G", "S7"} for skus in offers.values())
    table = list(csv.reader(io.StringIO(export_csv(found, offers))))
    by_user = {row[0]: row for row in table[1:]}
    assert by_user["ua"][-1] == " ".join(offers["ua"]) and by_user[""][-1] == ""


@pytest.fixture
def client(loaded, tmp_path: Path):  # noqa: ANN001, ANN201
    from clicktrail.settings import Settings
    from clicktrail.sites.model import Site
    from clicktrail.sites.registry import edit_sites
    from clicktrail.tokens.model import new_token
    from clicktrail.tokens.registry import edit_tokens
    from reports.app import create_app

    warehouse, site = loaded
    settings = Settings.from_env(
        {},
        port_offset=ports.port_offset(),  # the run's own services (CLICKTRAIL_PORT_OFFSET)
        data_dir=tmp_path,
        sites_file=tmp_path / "sites.json",
        tokens_file=tmp_path / "tokens.json",
        sites_reload_seconds=0.1,
    )
    with edit_sites(settings.sites_file) as sites:
        sites[site] = Site(site, timezone=ZONE)
    with edit_tokens(settings.tokens_file) as entries:
        secret, token = new_token(site, "read", 0)
        entries[token.token_id] = token
    now = datetime(2025, 1, 12, 12, tzinfo=UTC).timestamp()
    app = create_app(settings, store=WarehouseEventStore(warehouse), clock=lambda: now)
    test_client = app.test_client()
    test_client.site = site
    test_client.headers = {"Authorization": f"Bearer {secret}"}
    return test_client


def test_the_api_answers_rfm_retention_and_the_export(client):
    from jsonschema import Draft202012Validator

    def get(path: str, **params):  # noqa: ANN202
        return client.get(
            path, query_string={"site": client.site, **params}, headers=client.headers
        )

    document = client.get("/openapi.json").json
    schema = {**document["components"]["schemas"]["Report"], "$defs": {}}
    answer = get("/v1/reports/rfm", until="2025-01-09")
    assert answer.status_code == 200, answer.json
    Draft202012Validator(schema).validate(answer.json)
    assert answer.json["as_of"] == "2025-01-09"
    assert {row["segment"]: row["customers"] for row in answer.json["rows"]}["loyal"] == 1
    members = get("/v1/reports/rfm", until="2025-01-09", segment="loyal", members="1", format="csv")
    assert members.status_code == 200 and members.mimetype == "text/csv"
    assert members.get_data(as_text=True).splitlines()[1].startswith("ua,va1 va2,loyal,4,5,4,")
    retention = get("/v1/reports/retention", since="2025-01-01", until="2025-01-12")
    assert retention.status_code == 200, retention.json
    Draft202012Validator(schema).validate(retention.json)
    assert retention.json["rows"][0]["cohort"] == "2024-12-30"  # widened to its Monday
    lifecycle = get("/v1/reports/retention", since="2025-01-01", view="lifecycle")
    assert lifecycle.status_code == 200 and lifecycle.json["columns"][0] == "week"
    filtered = get("/v1/reports/audience", since="2025-01-09", until="2025-01-09", segment="loyal")
    assert filtered.json["totals"]["visitors"] == 1

    export = get("/v1/reports/rfm/export", segment="loyal", until="2025-01-09", offers="0")
    assert export.status_code == 200, export.get_data(as_text=True)
    table = list(csv.reader(io.StringIO(export.get_data(as_text=True))))
    assert table[0] == list(EXPORT_COLUMNS)
    assert table[1] == [
        "ua",
        "va1 va2",
        "loyal",
        "4",
        "5",
        "4",
        "0",
        "3",
        "4500",
        "Books Garden",
        "",
    ]
    assert export.headers["X-Segment-As-Of"] == "2025-01-09"

    for path, params in (
        ("/v1/reports/audience", {"segment": "whales"}),
        ("/v1/reports/rfm", {"segment": "whales"}),
        ("/v1/reports/rfm", {"members": "yes"}),
        ("/v1/reports/rfm", {"country": "DE"}),
        ("/v1/reports/retention", {"view": "funnel"}),
        ("/v1/reports/retention", {"by": "country"}),
        ("/v1/reports/campaigns", {"segment": "loyal"}),  # no segments there: refused
        ("/v1/reports/rfm/export", {"segment": "whales"}),
        ("/v1/reports/rfm/export", {"segment": "loyal", "offers": "-1"}),
        ("/v1/reports/rfm/export", {"segment": "loyal", "until": "yesterday"}),
        ("/v1/reports/rfm/export", {"segment": "loyal", "colour": "red"}),
    ):
        answer = get(path, **params)
        assert answer.status_code == 400, (path, params)
        assert answer.json["error"], (path, params)
    assert (
        client.get("/v1/reports/rfm/export", query_string={"site": client.site}).status_code == 401
    )


@pytest.mark.clickhouse
def test_the_commands(module_warehouse, tmp_path: Path):
    """``clicktrail report retention|rfm`` and ``clicktrail segment export`` (the server only:
    the commands open the warehouse themselves, and this process holds the chdb folder)."""
    from click.testing import CliRunner

    from clicktrail.sites.model import Site
    from clicktrail.sites.registry import edit_sites
    from reports.commands import report, segment

    warehouse = module_warehouse
    if warehouse.flavor != "server":
        pytest.skip("the command opens the warehouse itself")
    site = load(warehouse)
    with edit_sites(tmp_path / "sites.json") as sites:
        sites[site] = Site(site, timezone=ZONE)
    env = {
        "CLICKTRAIL_DATA_DIR": str(tmp_path),
        "CLICKTRAIL_SITES_FILE": str(tmp_path / "sites.json"),
        "CLICKTRAIL_CLICKHOUSE_URL": f"clickhouse://127.0.0.1:{ports.port('clickhouse_native')}"
        f"/{warehouse.database}",
    }
    runner = CliRunner()
    rfm_csv = runner.invoke(
        report,
        ["rfm", "--site", site, "--until", "2025-01-09", "--members", "--format", "csv"],
        env=env,
    )
    assert rfm_csv.exit_code == 0, rfm_csv.output
    assert rfm_csv.stdout.splitlines()[0] == ",".join(MEMBER_COLUMNS)
    assert len(rfm_csv.stdout.splitlines()) == 6  # five customers
    cohorts = runner.invoke(
        report, ["retention", "--site", site, "--since", "2025-01-06", "--format", "json"], env=env
    )
    assert cohorts.exit_code == 0, cohorts.output
    assert '"report": "retention"' in cohorts.stdout
    refused = runner.invoke(report, ["audience", "--site", site, "--view", "cohorts"], env=env)
    assert refused.exit_code != 0 and "no --view" in refused.output
    out = tmp_path / "loyal.csv"
    args = ["--site", site, "--segment", "loyal", "--day", "2025-01-09", "--offers", "0"]
    exported = runner.invoke(segment, ["export", *args, "--out", str(out)], env=env)
    assert exported.exit_code == 0, exported.output
    assert "loyal as of 2025-01-09: 1 customers" in exported.stderr
    table = list(csv.reader(io.StringIO(out.read_text())))
    assert table[0] == list(EXPORT_COLUMNS) and table[1][:2] == ["ua", "va1 va2"]
    unknown = runner.invoke(segment, ["export", "--site", site, "--segment", "whales"], env=env)
    assert unknown.exit_code == 2 and "one of champions" in unknown.output
