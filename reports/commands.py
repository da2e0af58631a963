"""``clicktrail reports`` (the API under gunicorn) and ``clicktrail report <name>`` (one
report on the terminal, as CSV or JSON)."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import click

from clicktrail.cli import load_settings


@click.command()
@click.option("--workers", type=int, help="Worker processes (default CLICKTRAIL_REPORTS_WORKERS).")
@click.option("--bind", help="host:port (default CLICKTRAIL_REPORTS_BIND).")
def reports(workers: int | None, bind: str | None) -> None:
    """Run the reports API under gunicorn (replaces this process)."""
    load_settings()
    args = ["gunicorn", "-c", "python:reports.gunicorn_conf"]
    for flag, value in (("--workers", workers), ("--bind", bind)):
        if value is not None:
            args += [flag, str(value)]
    os.execvp(sys.executable, [sys.executable, "-m", *args, "reports.wsgi:app"])


@click.command()
@click.argument("name")
@click.option("--site", required=True, help="The site id.")
@click.option("--since", default="30d", show_default=True, help="<n>d or a date.")
@click.option("--until", help="Last day, included (default today in the site's zone).")
@click.option("--country", default="", help="ISO 3166 alpha-2 code.")
@click.option("--device", default="", help="desktop, mobile, tablet, bot or other.")
@click.option("--bots", is_flag=True, help="Count bots too (left out by default).")
@click.option(
    "--by",
    "breakdown",
    default="",
    help="Breakdown: one dimension for audience, comma-separated ones for interests.",
)
@click.option("--sort", default="", help="products: views, carts, units or revenue.")
@click.option("--segment", default="", help="An RFM segment: champions, loyal, at_risk, ...")
@click.option("--view", default="", help="retention: cohorts or lifecycle.")
@click.option("--members", is_flag=True, help="rfm: a row per customer.")
@click.option("--window", default="", help="campaigns: attribution window in days (default 7).")
@click.option(
    "--steps",
    default="",
    help="funnels: steps in order, e.g. page_view,product_view:sku=A,purchase",
)
@click.option("--within", default="", help="funnels: time from step 1 to the last, e.g. 30m, 1d.")
@click.option("--limit", default=1000, show_default=True, type=int, help="Most rows.")
@click.option(
    "--format",
    "output",
    type=click.Choice(("table", "csv", "json")),
    default="table",
    help="How to print the rows.",
)
def report(
    name: str,
    site: str,
    since: str,
    until: str | None,
    country: str,
    device: str,
    bots: bool,
    breakdown: str,
    sort: str,
    segment: str,
    view: str,
    members: bool,
    window: str,
    steps: str,
    within: str,
    limit: int,
    output: str,
) -> None:
    """Print report NAME (audience, interests, products, retention, rfm, ...) for a site, as
    /v1/reports/NAME."""
    from pipelines.warehouse.base import WarehouseError, WarehouseUnavailable
    from pipelines.warehouse.factory import open_warehouse
    from pipelines.warehouse.reader import WarehouseEventStore
    from pipelines.warehouse.rollups import local_today
    from reports.catalog import REPORTS
    from reports.query import ReportError, parse_query
    from reports.source import RollupSource

    settings = load_settings()
    kind = REPORTS.get(name)
    if kind is None:
        raise click.BadParameter(f"no report {name!r}; reports: {', '.join(REPORTS)}")
    from clicktrail.sites.registry import read_sites

    entry = read_sites(settings.sites_file).get(site)
    if entry is None:
        raise click.ClickException(f"no site {site!r} in {settings.sites_file}")
    params = {"since": since, "limit": str(limit), "bots": "1" if bots else "0"}
    if sort and "sort" not in kind.extra:
        raise click.BadParameter(f"{name} has no --sort", param_hint="--sort")
    for key, value in (("until", until), ("country", country), ("device", device), ("sort", sort)):
        if value:
            params[key] = value
    if breakdown:
        params[kind.breakdown_name] = breakdown
    for key, value in (
        ("segment", segment),
        ("view", view),
        ("members", "1" * members),
        ("window", window),
        ("steps", steps),
        ("within", within),
    ):
        if value and key not in kind.extra:
            raise click.BadParameter(f"{name} has no --{key}", param_hint=f"--{key}")
        if value:
            params[key] = value
    try:
        query = parse_query(
            params,
            site,
            entry.timezone,
            local_today(entry.timezone, time.time()),
            kind.breakdowns,
            kind.breakdown_name,
            kind.multiple,
            kind.extra,
        )
        answer_of = kind.run
    except ReportError as exc:
        raise click.BadParameter(str(exc)) from None
    started = time.perf_counter()
    click.echo(f"{name}: reading {site}, {query.period.days} days ...", err=True)
    try:
        with WarehouseEventStore(open_warehouse(settings.clickhouse_url)) as store:
            answer = answer_of(RollupSource(store), query)
    except (WarehouseUnavailable, WarehouseError) as exc:
        raise click.ClickException(f"the warehouse: {exc}") from None
    except ReportError as exc:
        raise click.BadParameter(str(exc)) from None
    click.echo(
        f"{name}: {len(answer.rows)} rows in {time.perf_counter() - started:.2f} s", err=True
    )
    if output == "csv":
        click.echo(answer.to_csv(), nl=False)
    elif output == "json":
        click.echo(json.dumps(answer.to_json(), ensure_ascii=False, indent=2))
    else:
        click.echo(answer.to_table(), nl=False)


@click.group("segment")
def segment() -> None:
    """RFM segments (docs/reports.md, "rfm")."""


@segment.command("export")
@click.option("--site", required=True, help="The site id.")
@click.option("--segment", "name", required=True, help="champions, loyal, at_risk, ... (rfm).")
@click.option("--day", help="As of this day (default today in the site's zone; the latest built).")
@click.option(
    "--offers",
    "count",
    type=click.IntRange(0, 50),
    default=6,
    show_default=True,
    help="The personalizer's top offers per user (0: none).",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the CSV here [default: standard output].",
)
def segment_export(site: str, name: str, day: str | None, count: int, out: Path | None) -> None:
    """A segment's customers as CSV for e-mail tools: user_id, visitor_ids, segment, r, f, m,
    recency_days, orders, revenue, top_categories, offers."""
    from datetime import date

    from clicktrail.sites.registry import read_sites
    from pipelines.warehouse.base import WarehouseError, WarehouseUnavailable
    from pipelines.warehouse.factory import open_warehouse
    from pipelines.warehouse.reader import WarehouseEventStore
    from pipelines.warehouse.rfm_scores import SEGMENTS
    from pipelines.warehouse.rollups import local_today
    from pipelines.warehouse.segments import segment_day, segment_members
    from reports.segments import CommandOffers, OffersUnavailable, export_csv, member_offers

    if name not in SEGMENTS:
        raise click.BadParameter(f"one of {', '.join(SEGMENTS)}", param_hint="--segment")
    settings = load_settings()
    entry = read_sites(settings.sites_file).get(site)
    if entry is None:
        raise click.ClickException(f"no site {site!r} in {settings.sites_file}")
    try:
        asked = date.fromisoformat(day) if day else local_today(entry.timezone, time.time())
    except ValueError:
        raise click.BadParameter(
            f"a date like 2025-01-31, got {day!r}", param_hint="--day"
        ) from None
    try:
        # a one-shot tool: closed before the offers' own process opens the warehouse
        with WarehouseEventStore(open_warehouse(settings.clickhouse_url)) as store:
            built = segment_day(store, site, asked)
            members = segment_members(store, site, built, name) if built else []
    except (WarehouseUnavailable, WarehouseError) as exc:
        raise click.ClickException(f"the warehouse: {exc}") from None
    if built is None:
        click.echo(f"{site}: no day built on or before {asked}: no segments yet", err=True)
    try:
        offers = member_offers(CommandOffers(settings.to_env()), site, members, count)
    except OffersUnavailable as exc:
        raise click.ClickException(f"the personalizer's offers: {exc}") from None
    text = export_csv(members, offers)
    if out:
        out.write_text(text, encoding="utf-8")
    else:
        click.echo(text, nl=False)
    click.echo(f"{name} as of {built}: {len(members)} customers", err=True)
