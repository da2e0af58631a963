"""The planted sales pattern (--trend, --weekly): the factors, that a flat pattern leaves the
traffic byte-identical, and that purchases follow a planted pattern."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from clicktrail.simulator.command import simulate
from clicktrail.simulator.demand import SalesPattern, parse_weekly
from clicktrail.simulator.devices import load_user_agents
from clicktrail.simulator.geography import load_network_pool
from clicktrail.simulator.simulation import SimulationConfig, run_simulation

START = dt.date(2025, 3, 3)  # a Monday
START_MS = int(dt.datetime.combine(START, dt.time(), tzinfo=dt.UTC).timestamp()) * 1000


def test_factors_peak_at_one_and_follow_trend_and_weekday():
    weekly = (1.0, 1.0, 1.0, 1.0, 1.0, 2.0, 1.0)
    factors = SalesPattern(trend=0.1, weekly=weekly).factors(START, 14)
    assert max(factors) == 1.0
    assert factors[12] == 1.0  # the second Saturday: latest peak weekday
    assert factors[1] / factors[0] == pytest.approx(1.1)
    assert factors[5] / factors[4] == pytest.approx(2.0 * 1.1)
    assert SalesPattern().factors(START, 14) == ()  # flat: no factors at all


@pytest.mark.parametrize("text", ["1,2,3", "1,1,1,1,1,1,0", "a,1,1,1,1,1,1", ""])
def test_bad_weekly_is_refused(text):
    with pytest.raises(ValueError, match="weekly"):
        parse_weekly(text)


def test_trend_out_of_range_is_refused():
    with pytest.raises(ValueError, match="trend"):
        SalesPattern(trend=0.7)


def _run(geoip: Path, sales: SalesPattern, visitors: int = 300, days: int = 14):
    config = SimulationConfig(
        seed=4, visitors=visitors, days=days, start=START, site_id="shop", sales=sales
    )
    return run_simulation(config, load_network_pool(geoip, config.seed), load_user_agents())


def test_flat_pattern_changes_nothing(shared_small_geoip_db):
    plain = _run(shared_small_geoip_db, SalesPattern())
    flat = _run(shared_small_geoip_db, SalesPattern(trend=0.0, weekly=(2.0,) * 7))
    assert [b.body for b in plain.batches] == [b.body for b in flat.batches]
    assert "sales_pattern" not in plain.truth


def _orders_per_day(result) -> Counter:
    days: Counter = Counter()
    for batch in result.batches:
        for event in json.loads(batch.body)["events"]:
            if event["event_type"] == "purchase":
                days[(event["created_at"] - START_MS) // 86_400_000] += 1
    return days


def test_purchases_follow_the_planted_weekday(shared_small_geoip_db):
    # Weekends only: a weekday checkout never buys (factor 1e-9 of the peak).
    weekly = (1e-9, 1e-9, 1e-9, 1e-9, 1e-9, 1.0, 1.0)
    result = _run(shared_small_geoip_db, SalesPattern(weekly=weekly), visitors=600)
    days = _orders_per_day(result)
    assert sum(days.values()) > 10
    weekdays = {(START + dt.timedelta(days=day)).weekday() for day in days}
    assert weekdays <= {5, 6}
    assert result.truth["sales_pattern"]["weekly"] == list(weekly)


def test_purchases_grow_with_the_planted_trend(shared_small_geoip_db):
    result = _run(shared_small_geoip_db, SalesPattern(trend=0.15), visitors=800)
    days = _orders_per_day(result)
    first, last = sum(days[d] for d in range(7)), sum(days[d] for d in range(7, 14))
    # 1.15 ** 7 = 2.7 times as likely a week later; sessions per day stay about flat.
    assert last > 1.8 * first


def test_command_takes_trend_and_weekly(tmp_path, shared_small_geoip_db):
    out = tmp_path / "sim.jsonl"
    truth = tmp_path / "truth.json"
    args = ["--visitors", "30", "--days", "7", "--out", str(out), "--truth", str(truth)]
    args += ["--geoip-db", str(shared_small_geoip_db), "--trend", "0.02"]
    result = CliRunner().invoke(simulate, [*args, "--weekly", "1,1,1,1,1.2,1.5,1.3"])
    assert result.exit_code == 0, result.output
    assert json.loads(truth.read_text())["sales_pattern"]["trend"] == 0.02
    bad = CliRunner().invoke(simulate, [*args, "--weekly", "1,1"])
    assert bad.exit_code == 2 and "weekly" in bad.output
