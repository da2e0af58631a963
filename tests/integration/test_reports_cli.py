"""``clicktrail report``: the same figures as the API, as a table, CSV or JSON."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime

import pytest
from click.testing import CliRunner

from clicktrail import ports
from clicktrail.sites.model import Site
from clicktrail.sites.registry import edit_sites
from pipelines.warehouse.factory import open_warehouse
from pipelines.warehouse.migrate import migrate
from pipelines.warehouse.rollups import RollupBuilder
from pipelines.warehouse.sink import WarehouseSink
from reports.commands import report
from tests.integration.conftest import warehouse_target

ROW = {  # one page view with a ping, on 6 January in Los Angeles (UTC-8)
    "site_id": "la",
    "visitor_id": "v1",
    "session_id": "s1",
    "page_view_id": "p1",
    "country": "US",
    "device_type": "mobile",
    "ref_medium": "search",
}
MS = int(datetime(2025, 1, 7, 7, 30, tzinfo=UTC).timestamp() * 1000)  # 23:30 on the 6th in LA


def rows() -> list[dict]:
    from pipelines.warehouse.columns import EVENT_COLUMNS, empty_value

    out = []
    for n, (kind, engaged) in enumerate((("page_view", 0), ("page_ping", 10_000))):
        row = {name: empty_value(kind_) for name, kind_ in EVENT_COLUMNS.items()}
        row.update(ROW, event_id=f"e{n}", event_type=kind, engaged_ms=engaged)
        row.update(created_ms=MS + n, sent_ms=MS + n, received_ms=MS + n, derived_ms=MS + n)
        out.append(row)
    return out


@pytest.fixture
def warehouse(chdb_folder):  # noqa: ANN201
    """The server only: the command opens the warehouse itself, and this process already
    holds the tests' chdb folder (its logic is the API's, tested on both engines)."""
    target = warehouse_target("server", chdb_folder)
    with open_warehouse(target) as opened:
        migrate(opened)
        yield opened
        opened.execute(f"DROP DATABASE IF EXISTS {target.database}")


@pytest.mark.clickhouse
def test_report_command_prints_the_audience(warehouse, tmp_path):
    WarehouseSink(warehouse).write(rows())
    RollupBuilder(warehouse).build("la", date(2025, 1, 6), "America/Los_Angeles")
    with edit_sites(tmp_path / "sites.json") as sites:
        sites["la"] = Site("la", timezone="America/Los_Angeles")
    target = (
        f"clickhouse://127.0.0.1:{ports.port('clickhouse_native')}/{warehouse.database}"
        if warehouse.flavor == "server"
        else f"chdb://{warehouse.path}/{warehouse.database}"
    )
    env = {
        "CLICKTRAIL_DATA_DIR": str(tmp_path),
        "CLICKTRAIL_SITES_FILE": str(tmp_path / "sites.json"),
        "CLICKTRAIL_CLICKHOUSE_URL": target,
    }
    period = ["--since", "2025-01-06", "--until", "2025-01-07"]
    runner = CliRunner()
    table = runner.invoke(report, ["audience", "--site", "la", *period], env=env)
    assert table.exit_code == 0, table.output
    lines = table.stdout.splitlines()
    assert lines[0].split() == [
        "day",
        "visitors",
        "sessions",
        "page_views",
        "bounce_rate",
        "engaged_ms",
    ]
    assert lines[2].split() == ["2025-01-06", "1", "1", "1", "1", "10000"]  # the LA day
    as_csv = runner.invoke(
        report, ["audience", "--site", "la", "--by", "medium", "--format", "csv", *period], env=env
    )
    assert list(csv.DictReader(io.StringIO(as_csv.stdout))) == [
        {
            "medium": "search",
            "visitors": "1",
            "sessions": "1",
            "page_views": "1",
            "bounce_rate": "1",
            "engaged_ms": "10000",
        }
    ]
    as_json = runner.invoke(
        report, ["interests", "--site", "la", "--format", "json", *period], env=env
    )
    assert json.loads(as_json.stdout)["totals"] == {"visitors": 1}
    bad = runner.invoke(report, ["audience", "--site", "la", "--device", "phablet"], env=env)
    assert bad.exit_code == 2 and "device" in bad.output
