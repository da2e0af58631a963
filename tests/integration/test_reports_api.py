"""The reports API on both engines: the audience and interests reports' figures against
expectations computed in Python from the simulator's JSONL output (tests/unit/reports/
expected.py, never the reports' SQL), over built rollups, a closed day not built yet and the
open day; CSV; tokens; every bad parameter a clear 400; the OpenAPI description."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from clicktrail import ports
from clicktrail.settings import Settings
from clicktrail.simulator.devices import load_user_agents
from clicktrail.simulator.geography import load_network_pool
from clicktrail.simulator.output import write_batches
from clicktrail.simulator.simulation import SimulationConfig, run_simulation
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
from tests.integration.conftest import ENGINES, warehouse_target
from tests.unit.reports import expected

SIMULATION = SimulationConfig(seed=33, visitors=60, days=3, site_id="shop")
ZONE = "Asia/Tehran"
SITES = {"tehran": Site("tehran", timezone=ZONE)}
# 21:00 UTC on 8 January: 00:30 on the 9th in Tehran. The 5th to the 7th are built; the 8th is
# closed but not built yet, the 9th is open: both are read from raw events.
NOW = datetime(2025, 1, 8, 21, tzinfo=UTC).timestamp()
BUILT = (date(2025, 1, 5), date(2025, 1, 6), date(2025, 1, 7))
PERIOD = {"since": "2025-01-05", "until": "2025-01-09"}


@pytest.fixture(scope="module")
def rows(shared_small_geoip_db: Path, tmp_path_factory) -> list[dict]:
    networks = load_network_pool(shared_small_geoip_db, SIMULATION.seed)
    simulation = run_simulation(SIMULATION, networks, load_user_agents())
    path = tmp_path_factory.mktemp("sim") / "shop.jsonl"
    write_batches(path, simulation.batches)
    return expected.rows_from_jsonl(path, shared_small_geoip_db, SITES)


@pytest.fixture(scope="module", params=ENGINES)
def loaded(request, rows, chdb_folder):  # noqa: ANN001, ANN201
    """One warehouse per engine for the whole module (the tests only read it): the simulated
    events, with the 5th to the 7th built."""
    target = warehouse_target(request.param, chdb_folder)
    with open_warehouse(target) as warehouse:
        migrate(warehouse)
        WarehouseSink(warehouse).write(rows)
        builder = RollupBuilder(warehouse)
        for day in BUILT:
            builder.build("tehran", day, ZONE)
        yield warehouse
        warehouse.execute(f"DROP DATABASE IF EXISTS {target.database}")


@pytest.fixture
def client(loaded, tmp_path: Path):  # noqa: ANN001, ANN201
    settings = Settings.from_env(
        {},
        port_offset=ports.port_offset(),  # the run's own services (CLICKTRAIL_PORT_OFFSET)
        data_dir=tmp_path,
        sites_file=tmp_path / "sites.json",
        tokens_file=tmp_path / "tokens.json",
        sites_reload_seconds=0.1,
    )
    with edit_sites(settings.sites_file) as sites:
        sites.update(SITES)
        sites["other"] = Site("other")
    secrets = {}
    with edit_tokens(settings.tokens_file) as entries:
        for label, site, role in (
            ("read", "tehran", "read"),
            ("marketer", "tehran", "marketer"),
            ("admin", "*", "admin"),
            ("other", "other", "read"),
            ("adserver", "tehran", "adserver"),
        ):
            secret, token = new_token(site, role, 0)
            entries[token.token_id] = token
            secrets[label] = secret
    app = create_app(settings, store=WarehouseEventStore(loaded), clock=lambda: NOW)
    test_client = app.test_client()
    test_client.secrets = secrets
    return test_client


def get(client, name: str, token: str = "read", **params):  # noqa: ANN201
    params.setdefault("site", "tehran")
    headers = {"Authorization": f"Bearer {client.secrets[token]}"} if token else {}
    return client.get(f"/v1/reports/{name}", query_string=params, headers=headers)


def sessions(rows, **filters) -> list[expected.Session]:  # noqa: ANN001
    return [s for s in expected.sessions(rows, "tehran", ZONE) if expected.keep(s, **filters)]


def figures(record: dict) -> dict:
    return {key: record[key] for key in ("visitors", "sessions", "page_views", "engaged_ms")}


def close(got: float, want: float) -> bool:
    return abs(got - want) < 1e-9


def test_audience_figures_are_exact(client, rows):
    answer = get(client, "audience", **PERIOD)
    assert answer.status_code == 200, answer.json
    body = answer.json
    assert body["raw_days"] == ["2025-01-08", "2025-01-09"]  # not built: read raw
    want = expected.audience(sessions(rows))
    assert figures(body["totals"]) == figures(want) and want["visitors"] > 20
    assert close(body["totals"]["bounce_rate"], want["bounce_rate"])
    days = expected.by_day(sessions(rows))
    assert [row["day"] for row in body["rows"]] == [
        "2025-01-05",
        "2025-01-06",
        "2025-01-07",
        "2025-01-08",
        "2025-01-09",
    ]
    for row in body["rows"]:
        day = date.fromisoformat(row["day"])
        want = days.get(day, expected.audience([]))  # the 5th: nothing yet in Tehran
        assert figures(row) == figures(want), day
        assert close(row["bounce_rate"], want["bounce_rate"])
    # A visitor of several days counts once in the period: daily counts do not add up.
    assert sum(row["visitors"] for row in body["rows"]) > body["totals"]["visitors"]

    # Bots counted on request; filters.
    with_bots = get(client, "audience", bots="1", **PERIOD).json["totals"]
    assert figures(with_bots) == figures(expected.audience(sessions(rows, bots=True)))
    assert with_bots["visitors"] > body["totals"]["visitors"]
    country = max(
        {s.dims["country"] for s in sessions(rows)},
        key=lambda c: sum(s.dims["country"] == c for s in sessions(rows)),
    )
    narrowed = get(client, "audience", country=country.lower(), device="mobile", **PERIOD).json
    want = expected.audience(sessions(rows, country=country, device="mobile"))
    assert figures(narrowed["totals"]) == figures(want) and want["sessions"] > 0


def test_audience_breakdowns_and_csv(client, rows):
    for name, column in (("device", "device_type"), ("medium", "ref_medium"), ("city", "city")):
        answer = get(client, "audience", breakdown=name, **PERIOD)
        assert answer.status_code == 200, answer.json
        groups = defaultdict(list)
        for session in sessions(rows):
            groups[session.dims[column]].append(session)
        got = {row[name]: row for row in answer.json["rows"]}
        assert set(got) == set(groups)
        for value, chosen in groups.items():
            want = expected.audience(chosen)
            assert figures(got[value]) == figures(want), (name, value)
            assert close(got[value]["bounce_rate"], want["bounce_rate"])
    as_csv = get(client, "audience", breakdown="device", format="csv", **PERIOD)
    assert as_csv.status_code == 200 and as_csv.mimetype == "text/csv"
    table = list(csv.DictReader(io.StringIO(as_csv.get_data(as_text=True))))
    as_json = get(client, "audience", breakdown="device", **PERIOD).json["rows"]
    assert [row["device"] for row in table] == [row["device"] for row in as_json]
    assert [int(row["visitors"]) for row in table] == [row["visitors"] for row in as_json]


def test_interests_figures_are_exact(client, rows):
    answer = get(client, "interests", by="country,device", **PERIOD)
    assert answer.status_code == 200, answer.json
    want = expected.interests(sessions(rows), ("country", "device_type"))
    got = {(r["country"], r["device"], r["category"]): r for r in answer.json["rows"]}
    assert set(got) == set(want) and len(want) > 10
    for key, figures_wanted in want.items():
        row = got[key]
        assert row["visitors"] == figures_wanted["visitors"], key
        assert row["product_views"] == figures_wanted["product_views"], key
        assert row["engaged_ms"] == figures_wanted["engaged_ms"], key
        assert close(row["share"], figures_wanted["share"]), key
        assert close(row["lift"], figures_wanted["lift"]), key
        assert row["previous_share"] is None  # nothing before the 5th

    # Trend: the 8th and 9th against the 6th and 7th (built days against raw ones).
    answer = get(client, "interests", by="device", since="2d", **{"until": "2025-01-09"})
    now = [s for s in sessions(rows) if s.day >= date(2025, 1, 8)]
    before = [s for s in sessions(rows) if date(2025, 1, 6) <= s.day < date(2025, 1, 8)]
    want_now = expected.interests(now, ("device_type",))
    want_before = expected.interests(before, ("device_type",))
    rows_got = answer.json["rows"]
    assert {(r["device"], r["category"]) for r in rows_got} == set(want_now)
    trends = 0
    for row in rows_got:
        key = (row["device"], row["category"])
        previous = want_before.get(key)
        if previous is None:
            assert row["previous_share"] is None and row["trend"] is None
            continue
        trends += 1
        assert close(row["previous_share"], previous["share"])
        assert close(row["trend"], want_now[key]["share"] / previous["share"] - 1)
    assert trends > 3


def test_tokens_and_bad_parameters(client):
    assert get(client, "audience", token="").status_code == 401
    assert get(client, "audience", token="other").status_code == 403  # another site's token
    assert get(client, "audience", token="adserver").status_code == 403  # no reports role
    for token in ("marketer", "admin"):
        assert get(client, "audience", token=token, **PERIOD).status_code == 200
    assert get(client, "audience", token="admin", site="gone").status_code == 404
    assert get(client, "nonesuch").status_code == 404
    for params in (
        {"device": "phablet"},
        {"country": "Germany"},
        {"bots": "yes"},
        {"breakdown": "planet"},
        {"since": "last month"},
        {"since": "2025-01-09", "until": "2025-01-01"},
        {"since": "2000d"},
        {"format": "xml"},
        {"colour": "red"},
        {"limit": "0"},
    ):
        answer = get(client, "audience", **params)
        assert answer.status_code == 400, params
        assert answer.json["error"], params
    assert get(client, "interests", by="country,planet").status_code == 400
    assert get(client, "interests", breakdown="country").status_code == 400  # interests: by=
    answer = client.get(
        "/v1/reports/audience?site=tehran&site=other",
        headers={"Authorization": f"Bearer {client.secrets['admin']}"},
    )
    assert answer.status_code == 400
    # Values are bound, never pasted into SQL: a quote is only an unknown country.
    assert get(client, "audience", country="'x").status_code == 400
    assert get(client, "audience", site="tehran' OR 1=1 --", token="admin").status_code == 404


def test_health_and_openapi(client):
    from jsonschema import Draft202012Validator
    from openapi_spec_validator import validate

    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").json == {"status": "ready", "checks": {"warehouse": "ok"}}
    document = client.get("/openapi.json").json
    validate(document)
    assert set(document["paths"]) >= {"/v1/reports/audience", "/v1/reports/interests"}
    schema = {**document["components"]["schemas"]["Report"], "$defs": {}}
    for name in ("audience", "interests", "products"):
        Draft202012Validator(schema).validate(get(client, name, **PERIOD).json)
    listed = client.get("/v1/reports").json["reports"]
    assert [entry["name"] for entry in listed][:3] == ["audience", "interests", "products"]
    assert b'clicktrail_reports_requests_total{report="audience",status="200"}' in (
        client.get("/metrics").data
    )


def product_expectation(rows, key_of) -> dict:  # noqa: ANN001
    lines = expected.product_lines(rows, "tehran", ZONE)
    groups: dict = defaultdict(lambda: defaultdict(int))
    visitors: dict = defaultdict(lambda: defaultdict(set))
    for (_day, visitor, _session, sku, category, currency), line in lines.items():
        if line["is_bot"]:
            continue
        key = key_of(sku, category, currency)
        for name in ("views", "carts", "orders", "units", "revenue"):
            groups[key][name] += line[name]
        for name, who in (("views", "viewers"), ("carts", "carters"), ("orders", "buyers")):
            if line[name]:
                visitors[key][who].add(visitor)
    return {
        key: {**sums, **{who: len(found) for who, found in visitors[key].items()}}
        for key, sums in groups.items()
    }


def test_products_figures_are_exact(client, rows):
    answer = get(client, "products", **PERIOD)
    assert answer.status_code == 200, answer.json
    want = product_expectation(rows, lambda sku, category, currency: (sku, currency))
    got = {(r["sku"], r["currency"]): r for r in answer.json["rows"]}
    assert set(got) == set(want)
    for key, figures_wanted in want.items():
        row = got[key]
        for name in ("views", "carts", "orders", "units", "revenue", "viewers", "carters"):
            assert row[name] == figures_wanted.get(name, 0), (key, name)
        assert row["buyers"] == figures_wanted.get("buyers", 0), key
        if row["viewers"]:
            assert close(row["view_to_purchase"], row["buyers"] / row["viewers"])
        else:
            assert row["view_to_purchase"] is None
    views = [row["views"] for row in answer.json["rows"]]
    assert views == sorted(views, reverse=True)  # most viewed first
    assert sum(row["orders"] for row in answer.json["rows"]) > 0  # purchases were simulated
    by_revenue = get(client, "products", sort="revenue", limit="3", **PERIOD).json["rows"]
    top = sorted((figures_wanted["revenue"] for figures_wanted in want.values()), reverse=True)
    assert [row["revenue"] for row in by_revenue] == top[:3]

    categories = get(client, "products", by="category", **PERIOD).json
    want = product_expectation(rows, lambda sku, category, currency: (category, currency))
    assert {(r["category"], r["currency"]): r["carts"] for r in categories["rows"]} == {
        key: figures_wanted["carts"] for key, figures_wanted in want.items()
    }
    everything = product_expectation(rows, lambda sku, category, currency: "all")["all"]
    totals = categories["totals"]
    assert (totals["viewers"], totals["carters"], totals["buyers"]) == (
        everything["viewers"],
        everything["carters"],
        everything["buyers"],
    )
    assert totals["revenue"] == {"EUR": everything["revenue"]}
    assert get(client, "products", sort="price").status_code == 400
    assert get(client, "audience", sort="views").status_code == 400  # not an audience parameter
