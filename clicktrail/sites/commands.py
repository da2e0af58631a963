"""``clicktrail sites ...``: manage the site registry file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from clicktrail.settings import ConfigError, Settings
from clicktrail.sites.model import CONSENT_POLICIES, Site, SiteError, generate_write_key
from clicktrail.sites.registry import edit_sites, parse_sites, read_sites, site_from_options


def _registry_path() -> Path:
    try:
        return Settings.from_env().sites_file
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def _url_rules(values: tuple[str, ...]) -> list[dict[str, str]] | None:
    rules = []
    for value in values:
        kind, sep, pattern = value.partition("=")
        if not sep:
            raise click.BadParameter(f"expected KIND=REGEX, got {value!r}", param_hint="--url-rule")
        rules.append({"kind": kind, "pattern": pattern})
    return rules or None


_site_options = [
    click.option("--name", help="Display name."),
    click.option(
        "--origin",
        "origins",
        multiple=True,
        help="Allowed browser origin, e.g. https://shop.example or https://*.shop.example "
        "(repeat; replaces the list).",
    ),
    click.option("--timezone", help="IANA time zone for reports, e.g. Europe/Berlin."),
    click.option(
        "--consent",
        type=click.Choice(CONSENT_POLICIES),
        help="opt_in: nothing stored before consent; opt_out: track until denied.",
    ),
    click.option("--honor-dnt/--ignore-dnt", default=None, help="Treat DNT: 1 as a refusal."),
    click.option("--honor-gpc/--ignore-gpc", default=None, help="Treat Sec-GPC: 1 as a refusal."),
    click.option(
        "--internal-host",
        "internal_hosts",
        multiple=True,
        help="Host name of the site itself (repeat; replaces the list).",
    ),
    click.option(
        "--url-rule",
        "url_rules",
        multiple=True,
        help="KIND=REGEX with KIND product or category and a (?P<sku>...) or "
        "(?P<category>...) group (repeat; replaces the list).",
    ),
    click.option("--ipv4-prefix", type=int, help="Bits of an IPv4 address kept in storage."),
    click.option("--ipv6-prefix", type=int, help="Bits of an IPv6 address kept in storage."),
    click.option("--retention-days", type=int, help="Days events are kept."),
]


def site_options(function: Any) -> Any:
    for option in reversed(_site_options):
        function = option(function)
    return function


def _options(raw: dict[str, Any]) -> dict[str, Any]:
    options = dict(raw)
    for name in ("origins", "internal_hosts"):
        options[name] = list(options[name]) or None
    options["url_rules"] = _url_rules(options["url_rules"])
    return options


@click.group()
def sites() -> None:
    """Manage sites: origins, write keys, consent policy, URL rules (docs/sites.md)."""


@sites.command("add")
@click.argument("site_id")
@site_options
def add_site(site_id: str, **raw: Any) -> None:
    """Register a site and print its write key (shown only this once)."""
    key, digest = generate_write_key()
    try:
        with edit_sites(_registry_path()) as registry:
            if site_id in registry:
                raise click.ClickException(f"site {site_id!r} exists; use 'sites update'")
            registry[site_id] = site_from_options(
                site_id, {**_options(raw), "write_key_sha256": digest}
            )
    except SiteError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"added site {site_id}")
    click.echo(f"write key (store it now; only its digest is kept): {key}")


@sites.command("update")
@click.argument("site_id")
@site_options
def update_site(site_id: str, **raw: Any) -> None:
    """Change a site's settings; options not given stay as they are."""
    try:
        with edit_sites(_registry_path()) as registry:
            if site_id not in registry:
                raise click.ClickException(f"no site {site_id!r}")
            registry[site_id] = site_from_options(site_id, _options(raw), registry[site_id])
    except SiteError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"updated site {site_id}")


@sites.command("rotate-key")
@click.argument("site_id")
def rotate_key(site_id: str) -> None:
    """Replace a site's write key; the old key stops working at once."""
    key, digest = generate_write_key()
    with edit_sites(_registry_path()) as registry:
        if site_id not in registry:
            raise click.ClickException(f"no site {site_id!r}")
        registry[site_id] = site_from_options(
            site_id, {"write_key_sha256": digest}, registry[site_id]
        )
    click.echo(f"new write key for {site_id}: {key}")


@sites.command("remove")
@click.argument("site_id")
def remove_site(site_id: str) -> None:
    """Remove a site: its events are refused from now on (stored data stays)."""
    with edit_sites(_registry_path()) as registry:
        if registry.pop(site_id, None) is None:
            raise click.ClickException(f"no site {site_id!r}")
    click.echo(f"removed site {site_id}")


@sites.command("list")
def list_sites() -> None:
    """One line per site."""
    try:
        registry = read_sites(_registry_path())
    except SiteError as exc:
        raise click.ClickException(str(exc)) from None
    for site_id, site in sorted(registry.items()):
        origins = ",".join(site.origins) or "-"
        click.echo(f"{site_id}\t{site.consent}\t{site.timezone}\t{origins}")


@sites.command("show")
@click.argument("site_id")
def show_site(site_id: str) -> None:
    """A site's settings as JSON."""
    site: Site | None = read_sites(_registry_path()).get(site_id)
    if site is None:
        raise click.ClickException(f"no site {site_id!r}")
    click.echo(json.dumps({site_id: site.to_json()}, indent=2))


@sites.command("validate")
@click.argument("path", required=False, type=click.Path(dir_okay=False, path_type=Path))
def validate_sites(path: Path | None) -> None:
    """Check a registry file (default: the configured one) without changing it."""
    path = path or _registry_path()
    try:
        registry = parse_sites(path.read_text(encoding="utf-8"))
    except (OSError, SiteError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{path}: {len(registry)} sites, valid")
