"""Rows of event schema 2 (the attribution loop's columns) and of a newer schema than this
release knows (its fields kept in ``context``, never dropped)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clicktrail.contract.ids import attribution_event_id, new_decision_id
from clicktrail.contract.record import LogRecord
from clicktrail.sites.model import Site
from pipelines.enrich import DeviceDetector, GeoLocator
from pipelines.rows import RowBuilder

MADE_MS = 1_764_000_010_000


@pytest.fixture
def builder(small_geoip_db: Path):
    with GeoLocator(small_geoip_db) as geo:
        yield RowBuilder(geo, DeviceDetector(), {"shop": Site("shop")}.get)


def record(*events: dict, schema: int = 2) -> LogRecord:
    return LogRecord("shop", "v1", "server", MADE_MS + 500, list(events), schema=schema)


def test_attribution_fields_fill_their_columns(builder):
    decision_id = new_decision_id(MADE_MS)
    event_id = attribution_event_id(decision_id, "top", "impression")
    seen = {
        "event_id": event_id,
        "event_type": "banner_impression",
        "created_at": MADE_MS,
        "decision_id": decision_id,
        "campaign_id": "summer",
        "creative_id": "hero-1",
        "placement": "top",
        "viewable": True,
        "holdout": False,
    }
    (row,) = builder.build(record(seen)).events
    assert (row["decision_id"], row["creative_id"], row["viewable"], row["holdout"]) == (
        decision_id,
        "hero-1",
        1,
        0,
    )
    assert (row["event_id"], row["created_ms"], row["schema_version"]) == (event_id, MADE_MS, 2)
    assert row["context"] == ""


def test_an_event_without_them_has_empty_columns(builder):
    view = {"event_id": "e1", "event_type": "page_view", "created_at": MADE_MS, "url": "https://x/"}
    (row,) = builder.build(record(view, schema=1)).events
    assert (row["decision_id"], row["creative_id"], row["viewable"], row["holdout"]) == (
        "",
        "",
        0,
        0,
    )


def test_fields_of_a_newer_schema_are_kept_in_context(builder):
    newer = {
        "event_id": "e2",
        "event_type": "page_view",
        "created_at": MADE_MS,
        "url": "https://x/",
        "zeta": [1, 2],
        "alpha": {"b": 1},
        "context": {"page": "home"},
    }
    (row,) = builder.build(record(newer, schema=3)).events
    assert json.loads(row["context"]) == {"page": "home", "zeta": [1, 2], "alpha": {"b": 1}}
    assert row["context"] == builder.build(record(newer, schema=3)).events[0]["context"]
    assert row["context"].index("zeta") < row["context"].index("alpha")  # the event's order
