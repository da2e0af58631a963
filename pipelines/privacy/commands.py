"""``clicktrail forget``, ``clicktrail export-person`` and ``clicktrail retention run``."""

from __future__ import annotations

import json
import os

import click

from clicktrail.privacy.person import Subject, SubjectError
from clicktrail.settings import Settings
from pipelines.warehouse.base import WarehouseError, WarehouseUnavailable


def _settings() -> Settings:
    from clicktrail.cli import load_settings  # here: the CLI module imports the commands

    return load_settings()


def _subject(site: str, visitor: str | None, user: str | None) -> Subject:
    if (visitor is None) == (user is None):
        raise click.UsageError("name exactly one of --visitor and --user")
    try:
        if visitor is not None:
            return Subject(site, "visitor", visitor)
        return Subject(site, "user", user or "")
    except SubjectError as exc:
        raise click.BadParameter(str(exc)) from None


_site = click.option("--site", required=True, help="Site id.")
_visitor = click.option("--visitor", help="A visitor id of the person.")
_user = click.option("--user", help="A user id of the person.")


@click.command()
@_site
@_visitor
@_user
@click.option(
    "--settle-seconds",
    type=float,
    help="Wait after the tombstones before deleting (default CLICKTRAIL_PRIVACY_SETTLE_MS).",
)
def forget(site: str, visitor: str | None, user: str | None, settle_seconds: float | None) -> None:
    """Erase a person (every linked visitor id and user id) from every store; prints the
    receipt as JSON. Idempotent: run it again to remove what arrived meanwhile."""
    from pipelines.privacy.erase import Eraser
    from pipelines.privacy.factory import open_stores

    settings = _settings()
    subject = _subject(site, visitor, user)
    settle = settings.privacy_settle_ms / 1000 if settle_seconds is None else settle_seconds
    try:
        with open_stores(settings) as stores:
            receipt = Eraser(stores, settle_seconds=settle).forget(
                subject, f"cli:{os.environ.get('USER', 'unknown')}"
            )
    except (WarehouseUnavailable, WarehouseError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(json.dumps(receipt.to_json(), indent=2, ensure_ascii=False))


@click.command("export-person")
@_site
@_visitor
@_user
def export_person(site: str, visitor: str | None, user: str | None) -> None:
    """Print everything held about a person as JSON (events, identity links, rollup rows,
    profiles, co-view contributions, frequency caps, dead letters)."""
    from pipelines.privacy.export import export_person as export
    from pipelines.privacy.factory import open_stores

    settings = _settings()
    subject = _subject(site, visitor, user)
    try:
        with open_stores(settings) as stores:
            held = export(stores, subject)
    except (WarehouseUnavailable, WarehouseError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(json.dumps(held, indent=2, ensure_ascii=False))


@click.group()
def retention() -> None:
    """Each site's retention_days on raw events (the pipeline's retention step runs it too)."""


@retention.command("run")
def retention_run() -> None:
    """Delete every site's raw events (and identity links) older than its retention_days now,
    and wait until they are gone; the rollups stay. Prints what went, per site, as JSON."""
    from clicktrail.sites.registry import SiteRegistry
    from pipelines.privacy.factory import dead_letter_log, redis_client
    from pipelines.privacy.retention import RetentionJob
    from pipelines.warehouse.factory import open_warehouse

    settings = _settings()
    registry = SiteRegistry(settings.sites_file, settings.sites_reload_seconds)
    state = redis_client(settings.state_url.url)
    try:
        with open_warehouse(settings.clickhouse_url, timeout=600, role="tool") as warehouse:
            job = RetentionJob(
                warehouse,
                registry.all,
                dead_letter_log(settings, state),
                settings.event_log_retention_hours * 3_600_000,
            )
            done = job.run(wait=True)
    except (WarehouseUnavailable, WarehouseError) as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        state.close()
    click.echo(json.dumps([site.to_json() for site in done], indent=2))
