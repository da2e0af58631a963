"""The sales report on both engines: five weeks of simulated traffic with a planted trend and
weekly pattern in a site at UTC+3:30; daily orders and revenue against expectations computed
in Python from the simulator's JSONL output (never the report's SQL), over built days,
closed days not built yet and the open day; the forecast is the forecast of those expected
days; too little history gives the series with a note."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

import pytest

from clicktrail.simulator.demand import SalesPattern
from clicktrail.simulator.devices import load_user_agents
from clicktrail.simulator.geography import load_network_pool
from clicktrail.simulator.output import write_batches
from clicktrail.simulator.simulation import SimulationConfig, run_simulation
from clicktrail.sites.model import Site
from pipelines.warehouse.factory import open_warehouse
from pipelines.warehouse.migrate import migrate
from pipelines.warehouse.reader import WarehouseEventStore
from pipelines.warehouse.rollups import RollupBuilder
from pipelines.warehouse.sink import WarehouseSink
from reports.forecast import HORIZON, MIN_HISTORY, forecast
from reports.query import ReportError, parse_query
from reports.sales import COLUMNS, sales
from reports.source import RollupSource
from tests.integration.conftest import ENGINES, warehouse_target
from tests.unit.reports import expected

START = date(2025, 1, 6)
SIMULATION = SimulationConfig(
    seed=11,
    visitors=480,
    days=35,
    start=START,
    site_id="shop",
    sales=SalesPattern(trend=0.015, weekly=(1.0, 0.9, 0.9, 1.0, 1.2, 1.4, 1.3)),
)
ZONE = "Asia/Tehran"  # UTC+3:30
SITES = {"teh": Site("teh", timezone=ZONE)}
TODAY = date(2025, 2, 9)  # the open day (the last simulated one)
# The first ten days built, the closed days after them read from raw events (as a worker that
# fell behind leaves them; a build per day of five weeks would cost a minute per engine).
BUILT_UNTIL = date(2025, 1, 15)


@pytest.fixture(scope="module")
def rows(shared_small_geoip_db: Path, tmp_path_factory) -> list[dict]:
    networks = load_network_pool(shared_small_geoip_db, SIMULATION.seed)
    simulation = run_simulation(SIMULATION, networks, load_user_agents())
    path = tmp_path_factory.mktemp("sim") / "shop.jsonl"
    write_batches(path, simulation.batches)
    return expected.rows_from_jsonl(path, shared_small_geoip_db, SITES)


@pytest.fixture(scope="module", params=ENGINES)
def loaded(request, rows, chdb_folder):  # noqa: ANN001, ANN201
    target = warehouse_target(request.param, chdb_folder)
    with open_warehouse(target) as warehouse:
        migrate(warehouse)
        WarehouseSink(warehouse).write(rows)
        WarehouseSink(warehouse).write(rows[::50])  # replays: counted once
        builder = RollupBuilder(warehouse)
        day = START
        while day <= BUILT_UNTIL:
            builder.build("teh", day, ZONE)
            day += timedelta(days=1)
        yield warehouse
        warehouse.execute(f"DROP DATABASE IF EXISTS {target.database}")


def expected_days(rows: list[dict], country: str = "", bots: bool = False) -> dict:
    """(local day, currency) -> [orders, revenue], from the purchase rows."""
    out: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    for row in expected.unique(rows):
        if row["event_type"] != "purchase" or (row["is_bot"] and not bots):
            continue
        if country and row["country"] != country:
            continue
        key = (expected.local_day(row["derived_ms"], ZONE), row["currency"])
        out[key][0] += 1
        out[key][1] += sum(
            p * q for p, q in zip(row["item_prices"], row["item_quantities"], strict=True)
        )
    return dict(out)


def run(loaded, **params):  # noqa: ANN001, ANN201
    query = parse_query(
        {"since": "2025-01-07", "until": "2025-02-09", **params}, "teh", ZONE, TODAY
    )
    return sales(RollupSource(WarehouseEventStore(loaded)), query)


def test_daily_orders_and_revenue_are_exact_and_forecast(loaded, rows):
    answer = run(loaded)
    want = expected_days(rows)
    assert answer.columns == COLUMNS
    assert answer.summary["raw_days"] == [
        BUILT_UNTIL + timedelta(days=n) for n in range(1, (TODAY - BUILT_UNTIL).days + 1)
    ]
    actual = [r for r in answer.rows if r[2] != "forecast"]
    days = [START + timedelta(days=n) for n in range(1, 35)]
    assert [r[0] for r in actual] == days
    assert {r[1] for r in actual} == {"EUR"}
    for day, currency, kind, orders, revenue, *bounds in actual:
        assert kind == ("partial" if day == TODAY else "actual")
        assert [orders, revenue] == want.get((day, currency), [0, 0]), day
        assert bounds == [None] * 4
    in_period = sum(v[0] for (day, _), v in want.items() if day in days)
    assert sum(r[3] for r in actual) == in_period > 100
    assert answer.summary["totals"]["orders"]["EUR"] == sum(r[3] for r in actual)

    # the forecast: the model's, fitted to the expected closed days
    made = [r for r in answer.rows if r[2] == "forecast"]
    assert [r[0] for r in made] == [TODAY + timedelta(days=h) for h in range(HORIZON)]
    history = [float(want.get((day, "EUR"), [0, 0])[0]) for day in days[:-1]]
    model = forecast(history)
    assert [r[3] for r in made] == [round(v, 2) for v in model.mean]
    assert [r[5] for r in made] == [round(v, 2) for v in model.low]
    assert all(r[5] <= r[3] <= r[6] and r[7] <= r[4] <= r[8] for r in made)
    # the planted growth (1.5 % a day) shows: the next week sells about as the last one or more
    assert sum(r[3] for r in made[:7]) > sum(history[-7:]) * 0.8
    assert answer.summary["forecast"]["history_days"] == 33
    assert answer.summary["forecast"]["note"] is None

    table = list(csv.reader(io.StringIO(answer.to_csv())))
    assert table[0] == list(COLUMNS)
    assert len(table) == 1 + len(answer.rows)
    assert table[-1][2] == "forecast" and table[1][0] == "2025-01-07"


def test_filters_and_bots(loaded, rows):
    country = max(
        {r["country"] for r in rows if r["event_type"] == "purchase"},
        key=lambda c: sum(v[0] for v in expected_days(rows, country=c).values()),
    )
    answer = run(loaded, country=country)
    want = expected_days(rows, country=country)
    for day, currency, kind, orders, revenue, *_ in answer.rows:
        if kind != "forecast":
            assert [orders, revenue] == want.get((day, currency), [0, 0])
    with_bots = run(loaded, bots="1")
    assert with_bots.summary["totals"] == run(loaded).summary["totals"]  # bots never buy


def test_too_little_history_gives_the_series_and_a_note(loaded, rows):
    answer = run(loaded, since="2025-01-25")
    closed = (TODAY - date(2025, 1, 25)).days
    assert closed < MIN_HISTORY
    assert all(r[2] != "forecast" for r in answer.rows)
    assert len(answer.rows) == closed + 1
    note = answer.summary["forecast"]["note"]
    assert f"at least {MIN_HISTORY}" in note and "EUR" in note
    assert answer.summary["forecast"]["method"] is None


def test_a_period_without_orders(loaded):
    answer = run(loaded, since="2024-12-01", until="2024-12-31")
    assert answer.rows == []
    assert "no orders" in answer.summary["forecast"]["note"]


def test_sales_takes_no_breakdown():
    with pytest.raises(ReportError, match="by"):
        parse_query({"by": "country"}, "teh", ZONE, TODAY, (), "by")


def test_answer_matches_the_openapi_schema(loaded):
    from jsonschema import Draft202012Validator

    from reports.openapi import document

    spec = document()
    assert "/v1/reports/sales" in spec["paths"]
    schema = {**spec["components"]["schemas"]["Report"], "$defs": {}}
    Draft202012Validator(schema).validate(run(loaded).to_json())


def test_the_command_prints_sales(loaded, tmp_path):
    if loaded.flavor != "server":
        pytest.skip("the command opens the warehouse itself; this process holds the chdb folder")
    from click.testing import CliRunner

    from clicktrail import ports
    from clicktrail.sites.registry import edit_sites
    from reports.commands import report

    with edit_sites(tmp_path / "sites.json") as sites:
        sites["teh"] = SITES["teh"]
    env = {
        "CLICKTRAIL_DATA_DIR": str(tmp_path),
        "CLICKTRAIL_SITES_FILE": str(tmp_path / "sites.json"),
        "CLICKTRAIL_CLICKHOUSE_URL": (
            f"clickhouse://127.0.0.1:{ports.port('clickhouse_native')}/{loaded.database}"
        ),
    }
    period = ["--since", "2025-01-07", "--until", "2025-01-31", "--format", "csv"]
    printed = CliRunner().invoke(report, ["sales", "--site", "teh", *period], env=env)
    assert printed.exit_code == 0, printed.output
    table = list(csv.DictReader(io.StringIO(printed.stdout)))
    assert [r["kind"] for r in table].count("forecast") == HORIZON
    assert table[0]["day"] == "2025-01-07" and table[-1]["day"] == "2025-02-28"
    bad = CliRunner().invoke(report, ["sales", "--site", "teh", "--by", "country"], env=env)
    assert bad.exit_code == 2 and "by" in bad.output
