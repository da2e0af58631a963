"""``clicktrail reports`` (the API under gunicorn) and ``clicktrail report <name>`` (one
report on the terminal, as CSV or JSON)."""

from __future__ import annotations

import json
import os
import sys
import time

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
@click.option("--limit", default=1000, show_default=True, type=int)
@click.option("--format", "output", type=click.Choice(("table", "csv", "json")), default="table")
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
    limit: int,
    output: str,
) -> None:
    """Print report NAME (audience, interests, products) for a site, as /v1/reports/NAME."""
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
