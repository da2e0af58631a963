"""The event's fast path accepts nothing the pydantic model refuses, and what it accepts comes
out as the model makes it: the same event, the same record."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from clicktrail.contract import fastcheck
from clicktrail.contract.envelope import parse_event
from clicktrail.contract.event import MAX_CONTEXT_BYTES, Event
from clicktrail.simulator.devices import load_user_agents
from clicktrail.simulator.geography import load_network_pool
from clicktrail.simulator.simulation import SimulationConfig, run_simulation
from tests.protocol_fixtures import load

EVENTS = load("events.json")
FIXTURES = [case["event"] for key in ("valid", "invalid", "schema_1") for case in EVENTS[key]]


def reference_record(event: Event) -> dict[str, Any]:
    """``Event.to_record`` as it was written first, through ``model_dump``."""
    data = event.model_dump(exclude_none=True, exclude={"context", "ip", "user_agent"})
    extra = event.model_extra or {}
    for name in extra:
        data.pop(name, None)
    context = {**event.context, **extra}
    if context:
        encoded = json.dumps(context, ensure_ascii=False, separators=(",", ":"))
        if len(encoded.encode("utf-8", "surrogatepass")) > MAX_CONTEXT_BYTES:
            raise ValueError("exceed")
        encoded.encode("utf-8")
        data["context"] = context
    if not data.get("properties"):
        data.pop("properties", None)
    return data


@pytest.fixture(scope="module")
def simulated(shared_small_geoip_db: Path) -> list[dict[str, Any]]:
    config = SimulationConfig(site_id="shop", visitors=60, days=1, seed=3)
    result = run_simulation(config, load_network_pool(shared_small_geoip_db, 3), load_user_agents())
    bodies = [json.loads(batch.body) for batch in result.batches]
    return [event for body in bodies for event in body["events"]][:600]


TRICKY: list[Any] = [
    None,
    "",
    "ok",
    "abc\n",
    "ab\tc",
    "a\x00b",
    "a\x08",
    "a\x0c",
    "a\x7f",
    "a\\b",
    "\ud800x",
    "é" * 35,
    "é" * 36,
    "😀" * 45,
    "x" * 64,
    "x" * 65,
    "x" * 129,
    "-",
    "EUR",
    "eur",
    "1920x1080",
    "1920x1080\n",
    "019ab4f1-0001-7000-8000-000000000001",
    "019ab4f1-0001-7000-8000-000000000001\n",
    True,
    False,
    0,
    1,
    -1,
    5.0,
    2**63,
    2**70,
    946_684_800_000,
    4_102_444_800_000,
    86_400_001,
    10**13,
    10**13 + 1,
    [],
    ["a", "b"],
    ["a"] * 9,
    ["a\x01"],
    {},
    {"a": 1},
    {"": 1},
    {"k": None, "n": 1.5, "b": True, "s": "x" * 1025},
    {"k\x02": 1},
    {f"k{i}": i for i in range(51)},
    [{"sku": "A"}],
    [{"sku": "A", "price": 5}],
    [{"sku": "A", "quantity": 0}],
    [{"sku": "A", "extra": 1}],
    [{"sku": "A", "category": ["x"], "name": None}],
    "granted",
    "denied",
    "page_view",
    "decision",
    "banner_click",
]
FIELDS = [*Event.model_fields, "unknown_field"]


def mutations(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    cases = []
    for index, base in enumerate(events):
        for number, name in enumerate(FIELDS):
            value = TRICKY[(index * 7 + number * 3) % len(TRICKY)]
            cases.append({**base, name: value})
            cases.append({key: v for key, v in base.items() if key != name})
    for name in FIELDS:  # every tricky value in every field of one event
        for value in TRICKY:
            cases.append({**events[0], name: value})
    return cases


def check_same_as_model(raw: dict[str, Any]) -> bool:
    """The fast path's verdict on ``raw``, and when it accepts, the model agrees in full."""
    if not fastcheck.accepts(raw):
        return False
    try:
        expected = Event.model_validate(raw)
    except ValidationError as exc:
        pytest.fail(f"the fast path accepted what the model refuses: {raw!r}\n{exc}")
    made = Event.from_checked(raw)
    assert made == expected
    assert made.model_fields_set == expected.model_fields_set
    assert made.model_extra == expected.model_extra
    assert made.model_dump() == expected.model_dump()
    assert list(made.__dict__) == list(expected.__dict__)[: len(made.__dict__)]
    try:
        record = reference_record(expected)
    except (ValueError, UnicodeEncodeError):
        with pytest.raises(ValueError):
            made.to_record()
        return True
    assert made.to_record() == record
    assert list(made.to_record()) == list(record)
    return True


def test_every_valid_fixture_takes_the_fast_path_and_comes_out_the_same():
    for case in EVENTS["valid"]:
        assert check_same_as_model(case["event"]), case["name"]


def test_no_invalid_fixture_takes_the_fast_path():
    for case in EVENTS["invalid"]:
        assert not fastcheck.accepts(case["event"]), case["name"]


def test_simulator_traffic_takes_the_fast_path(simulated):
    assert len(simulated) > 100
    assert all(check_same_as_model(event) for event in simulated)


def test_mutated_events_never_pass_where_the_model_refuses(simulated):
    bases = [case["event"] for case in EVENTS["valid"]] + simulated[:40]
    accepted = sum(check_same_as_model(raw) for raw in mutations(bases))
    assert accepted > 500  # the fast path is taken for most of what is valid


def test_records_of_events_the_model_validated_are_its_dump():
    bases = [case["event"] for case in EVENTS["valid"]]
    compared = 0
    for raw in bases + mutations(bases):
        try:
            event = Event.model_validate(raw)
        except ValidationError:
            continue
        try:
            expected = reference_record(event)
        except (ValueError, UnicodeEncodeError):
            with pytest.raises(ValueError):
                event.to_record()
            continue
        assert event.to_record() == expected
        assert list(event.to_record()) == list(expected)
        compared += 1
    assert compared > 500


def test_to_record_gives_a_new_dict_each_time():
    event = parse_event(EVENTS["valid"][0]["event"], "shop")
    first = event.to_record()
    first.pop("url")
    assert "url" in event.to_record()
