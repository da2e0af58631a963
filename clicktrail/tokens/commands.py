"""``clicktrail tokens add|list|revoke``."""

from __future__ import annotations

import time
from pathlib import Path

import click

from clicktrail.settings import ConfigError, Settings
from clicktrail.tokens.model import ROLES, TokenError, new_token
from clicktrail.tokens.registry import edit_tokens, read_tokens


def _path() -> Path:
    try:
        return Settings.from_env().tokens_file
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


@click.group()
def tokens() -> None:
    """API tokens: roles per site for the management API, trusted decisions and reports."""


@tokens.command("add")
@click.option("--site", required=True, help="Site id, or '*' for every site.")
@click.option(
    "--role",
    type=click.Choice(ROLES),
    required=True,
    help="admin, marketer (campaigns, catalog), adserver (trusted decisions) or read (reports).",
)
@click.option("--note", default="", help="Who or what holds it.")
def add(site: str, role: str, note: str) -> None:
    """Make a token and print it (shown only this once; only its digest is stored)."""
    try:
        secret, token = new_token(site, role, int(time.time()), note)
    except TokenError as exc:
        raise click.BadParameter(str(exc)) from None
    with edit_tokens(_path()) as entries:
        entries[token.token_id] = token
    click.echo(f"token {token.token_id} ({role} on {site}); store it now, it is not kept:")
    click.echo(secret)


@tokens.command("list")
def list_tokens() -> None:
    """One line per token (never the secret)."""
    try:
        entries = read_tokens(_path())
    except TokenError as exc:
        raise click.ClickException(str(exc)) from None
    for token in entries.values():
        click.echo(f"{token.token_id}  {token.role:9} {token.site_id:20} {token.note}")


@tokens.command("revoke")
@click.argument("token_id")
def revoke(token_id: str) -> None:
    """Remove a token: it stops working within a second everywhere the file is read."""
    with edit_tokens(_path()) as entries:
        if entries.pop(token_id, None) is None:
            raise click.ClickException(f"no token {token_id}")
    click.echo(f"revoked {token_id}")
