"""``clicktrail personalizer``, ``clicktrail campaigns apply|export|history`` and
``clicktrail catalog import``."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from clicktrail.cli import load_settings
from personalizer.campaign_store import CampaignStore
from personalizer.catalog_store import CatalogStore


@click.command()
@click.option(
    "--workers", type=int, help="Worker processes (default CLICKTRAIL_PERSONALIZER_WORKERS)."
)
@click.option("--bind", help="host:port (default CLICKTRAIL_PERSONALIZER_BIND).")
def personalizer(workers: int | None, bind: str | None) -> None:
    """Run the decision service under gunicorn (replaces this process)."""
    load_settings()
    args = ["gunicorn", "-c", "python:personalizer.gunicorn_conf"]
    for flag, value in (("--workers", workers), ("--bind", bind)):
        if value is not None:
            args += [flag, str(value)]
    os.execvp(sys.executable, [sys.executable, "-m", *args, "personalizer.wsgi:app"])


def _stores() -> tuple[CampaignStore, CatalogStore]:
    from pipelines.profiles.clients import writer_client

    client = writer_client(load_settings().state_url.url)
    return CampaignStore(client), CatalogStore(client)


@click.group()
def campaigns() -> None:
    """Campaigns as files: apply a YAML or JSON file (with --dry-run for the diff), export."""


@campaigns.command("apply")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--site", required=True, help="The site the file's campaigns belong to.")
@click.option("--dry-run", is_flag=True, help="Show what would change; change nothing.")
@click.option("--prune", is_flag=True, help="Remove the site's campaigns the file omits.")
def apply(path: Path, site: str, dry_run: bool, prune: bool) -> None:
    """Make the site's campaigns what PATH says (``campaigns: [...]``)."""
    from personalizer.campaign_store import StoreUnavailable
    from personalizer.campaigns import CampaignError, parse_campaign

    documents = _campaign_documents(path)
    try:
        wanted = [parse_campaign({"site_id": site, **doc}) for doc in documents]
    except CampaignError as exc:
        raise click.ClickException(f"{path}: {exc}") from None
    store, _ = _stores()
    try:
        plan = store.plan(site, wanted, prune=prune)
        for line in plan.lines() or ["no changes"]:
            click.echo(line)
        if not dry_run and not plan.empty:
            version = store.apply(site, plan, actor=f"cli:{os.environ.get('USER', 'unknown')}")
            click.echo(f"applied (version {version})")
    except (StoreUnavailable, ValueError) as exc:
        raise click.ClickException(str(exc)) from None


@campaigns.command("export")
@click.option("--site", required=True, help="The site whose campaigns to print.")
def export(site: str) -> None:
    """Print the site's campaigns as YAML (what ``apply`` reads)."""
    import yaml

    store, _ = _stores()
    documents = [
        {k: v for k, v in c.model_dump(mode="json").items() if k != "site_id"}
        for _, c in sorted(store.load(site).items())
    ]
    click.echo(yaml.safe_dump({"campaigns": documents}, sort_keys=False, allow_unicode=True))


@campaigns.command("history")
@click.option("--site", required=True, help="The site whose changes to list.")
@click.option("--count", default=20, show_default=True, help="How many changes, newest first.")
def history(site: str, count: int) -> None:
    """The latest changes: when, who, what."""
    store, _ = _stores()
    for entry in store.history(site, count):
        click.echo(f"{entry['at']}  {entry['actor']:20} {entry['action']:6} {entry['campaign']}")


def _campaign_documents(path: Path) -> list[dict[str, Any]]:
    import yaml

    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise click.ClickException(f"{path}: not YAML or JSON: {exc}") from None
    if isinstance(document, dict):
        document = document.get("campaigns")
    if not isinstance(document, list) or not all(isinstance(d, dict) for d in document):
        raise click.ClickException(f"{path}: expected campaigns: [ {{id: ..., ...}}, ... ]")
    return document


@click.group()
def catalog() -> None:
    """The product catalog the offers come from."""


@catalog.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--site", required=True, help="The site the feed's products belong to.")
@click.option("--replace", is_flag=True, help="Remove products the feed does not list.")
def import_feed(path: Path, site: str, replace: bool) -> None:
    """Import a CSV or JSON feed (by its suffix); prints what was rejected and why."""
    from personalizer.catalog import parse_feed

    kind = "csv" if path.suffix.lower() == ".csv" else "json"
    try:
        feed = parse_feed(path.read_text(encoding="utf-8"), kind)
    except ValueError as exc:
        raise click.ClickException(f"{path}: {exc}") from None
    _, store = _stores()
    result = store.import_products(site, feed.products, replace=replace)
    for rejected in feed.rejected:
        click.echo(
            f"rejected line {rejected.line} ({rejected.sku or '?'}): {rejected.reason}", err=True
        )
    click.echo(
        json.dumps(
            {
                "written": result.written,
                "unchanged": result.unchanged,
                "removed": result.removed,
                "rejected": len(feed.rejected),
            }
        )
    )
