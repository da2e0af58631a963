"""Golden files for the enrichment chain: sample records in, the exact rows out; running them
twice gives the same rows. Regenerate after a deliberate change with
``CLICKTRAIL_REGENERATE_GOLDEN=1 pytest tests/unit/pipelines/test_rows.py`` and review the diff."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from clicktrail.contract.record import LogRecord
from clicktrail.sites.model import Site, UrlRule
from pipelines.enrich import DeviceDetector, GeoLocator
from pipelines.rows import RowBuilder
from pipelines.warehouse.columns import EVENT_COLUMNS

FIXTURES = Path(__file__).parents[2] / "fixtures" / "pipeline"
SITE = Site(
    "shop",
    origins=("https://shop.example.test",),
    internal_hosts=("checkout.example.test",),
    url_rules=(
        UrlRule("product", r"^/p/(?P<sku>[^/]+)"),
        UrlRule("category", r"^/c/(?P<category>.+)$"),
    ),
)


@pytest.fixture
def builder(small_geoip_db: Path):
    with GeoLocator(small_geoip_db) as geo:
        yield RowBuilder(geo, DeviceDetector(), {"shop": SITE}.get)


def build_all(builder: RowBuilder) -> dict:
    records = json.loads((FIXTURES / "records.json").read_text())
    out = {"events": [], "links": [], "failures": []}
    for data in records:
        built = builder.build(LogRecord.decode(json.dumps(data).encode()))
        out["events"] += built.events
        out["links"] += built.links
        out["failures"] += [[f.index, f.reason] for f in built.failures]
    return out


def test_golden_rows(builder):
    got = build_all(builder)
    golden = FIXTURES / "rows.json"
    if os.environ.get("CLICKTRAIL_REGENERATE_GOLDEN"):
        golden.write_text(json.dumps(got, indent=1, ensure_ascii=False, sort_keys=True) + "\n")
    assert json.loads(json.dumps(got)) == json.loads(golden.read_text())


def test_processing_twice_gives_the_same_rows(builder):
    assert build_all(builder) == build_all(builder)


def test_every_row_has_exactly_the_table_columns(builder):
    for row in build_all(builder)["events"]:
        assert set(row) == set(EVENT_COLUMNS)


def test_the_raw_ip_never_reaches_a_row(builder):
    rows = build_all(builder)["events"]
    assert {row["ip"] for row in rows} == {"81.2.69.0", "2a02:cf40:1234::"}
