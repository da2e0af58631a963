"""``clicktrail simulate``: make deterministic shop traffic, write it to files or POST it."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import click

from clicktrail.contract.envelope import MAX_EVENTS, SITE_ID
from clicktrail.settings import ConfigError, Settings
from clicktrail.simulator import difficulty
from clicktrail.simulator.batching import DEFAULT_BATCH_SIZE
from clicktrail.simulator.demand import SalesPattern, parse_weekly
from clicktrail.simulator.devices import load_user_agents
from clicktrail.simulator.geography import load_network_pool
from clicktrail.simulator.output import write_batches, write_truth
from clicktrail.simulator.sender import SenderOptions, check_collector_url, send_batches
from clicktrail.simulator.simulation import (
    DEFAULT_SITE,
    DEFAULT_START,
    SimulationConfig,
    run_simulation,
)


def _parse_start(_ctx: click.Context, _param: click.Parameter, value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"expected an ISO date such as 2025-01-06, got {value!r}"
        ) from None


def _parse_weekly(
    _ctx: click.Context, _param: click.Parameter, value: str | None
) -> tuple[float, ...] | None:
    if value is None:
        return None
    try:
        return parse_weekly(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _check_site(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    if not SITE_ID.fullmatch(value):
        raise click.BadParameter("must be 1-64 letters, digits, '-' or '_'")
    return value


@click.command("simulate")
@click.option("--seed", type=int, default=1, show_default=True, help="Same seed, same traffic.")
@click.option(
    "--visitors",
    type=click.IntRange(1, 10_000_000),
    default=1000,
    show_default=True,
    help="Simulated people (bots included); each may use several visitor ids.",
)
@click.option(
    "--days",
    type=click.IntRange(1, 366),
    default=7,
    show_default=True,
    help="Simulated days from --start.",
)
@click.option(
    "--start",
    default=DEFAULT_START.isoformat(),
    show_default=True,
    callback=_parse_start,
    help="First simulated day (UTC), ISO date.",
)
@click.option(
    "--site",
    default=DEFAULT_SITE,
    show_default=True,
    callback=_check_site,
    help="Site id the events are sent for.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write one batch envelope per line (JSON lines).",
)
@click.option(
    "--truth",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the ground truth (JSON): visitor ids, personas, places, devices, bots.",
)
@click.option("--collector", help="POST the batches to this base URL, e.g. http://127.0.0.1:8080.")
@click.option("--write-key", help="The site's write key (needed with --collector).")
@click.option(
    "--batch-size",
    type=click.IntRange(1, MAX_EVENTS),
    default=DEFAULT_BATCH_SIZE,
    show_default=True,
    help="Most events per batch (one visitor per batch).",
)
@click.option(
    "--concurrency",
    type=click.IntRange(1, 256),
    default=4,
    show_default=True,
    help="Parallel connections to the collector.",
)
@click.option(
    "--off-persona-share",
    type=click.FloatRange(0.0, 1.0, max_open=True),
    default=difficulty.NOISE_SHARE,
    show_default=True,
    help="Share of each person's category choices (so product views) outside their persona.",
)
@click.option(
    "--trend",
    type=click.FloatRange(-0.5, 0.5, min_open=True, max_open=True),
    default=0.0,
    show_default=True,
    help="Planted daily growth of the purchase rate (0.01: +1 % a day).",
)
@click.option(
    "--weekly",
    callback=_parse_weekly,
    help="Planted purchase multipliers per weekday, Monday first, e.g. 1,1,1,1,1.2,1.5,1.3.",
)
@click.option(
    "--geoip-db",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="MaxMind DB to draw addresses from [default: CLICKTRAIL_GEOIP_DB].",
)
def simulate(
    seed: int,
    visitors: int,
    days: int,
    start: dt.date,
    site: str,
    out: Path | None,
    truth: Path | None,
    collector: str | None,
    write_key: str | None,
    batch_size: int,
    concurrency: int,
    off_persona_share: float,
    trend: float,
    weekly: tuple[float, ...] | None,
    geoip_db: Path | None,
) -> None:
    """Simulate shop traffic: people with interests browse, buy, and return over days."""
    if out is None and collector is None:
        raise click.UsageError("give --out FILE, --collector URL, or both")
    if collector is not None:
        if not write_key:
            raise click.UsageError("--collector needs --write-key")
        try:
            check_collector_url(collector)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--collector") from None
    sales = SalesPattern(trend, weekly) if weekly else SalesPattern(trend)
    config = SimulationConfig(
        seed, visitors, days, start, site, batch_size, off_persona_share, sales
    )

    began = time.perf_counter()
    networks = load_network_pool(geoip_db or _configured_geoip_db(), seed)
    result = run_simulation(config, networks, load_user_agents())
    elapsed = time.perf_counter() - began
    events = result.event_count
    click.echo(
        f"generated {events} events in {len(result.batches)} batches for "
        f"{result.truth['people']} people ({len(result.truth['visitors'])} visitor ids) "
        f"in {elapsed:.2f} s ({events / max(elapsed, 1e-9):.0f} events/s)",
        err=True,
    )
    if out is not None:
        write_batches(out, result.batches)
        click.echo(f"wrote {out}", err=True)
    if truth is not None:
        write_truth(truth, result.truth)
        click.echo(f"wrote {truth}", err=True)
    if collector is not None:
        assert write_key is not None
        options = SenderOptions(collector, write_key, concurrency=concurrency)
        summary = send_batches(result.batches, options)
        click.echo(summary.as_text())
        if summary.failed or summary.rejected:
            raise SystemExit(1)


def _configured_geoip_db() -> Path:
    try:
        return Settings.from_env().geoip_db
    except ConfigError as exc:
        raise click.UsageError(f"{exc}\n(or pass --geoip-db)") from None
