"""``clicktrail accounts add|list|remove``: the dashboard's sign-in accounts."""

from __future__ import annotations

import time
from pathlib import Path

import click

from clicktrail.accounts.model import ROLES, AccountError, new_account
from clicktrail.accounts.registry import edit_accounts, read_accounts
from clicktrail.settings import ConfigError, Settings


def _path() -> Path:
    try:
        return Settings.from_env().accounts_file
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


@click.group()
def accounts() -> None:
    """Dashboard accounts: a username and password, a role and the sites it may see."""


@accounts.command("add")
@click.argument("username")
@click.option(
    "--role",
    type=click.Choice(ROLES),
    required=True,
    help="admin and marketer (campaigns, catalog) or read (reports only).",
)
@click.option(
    "--site", "sites", multiple=True, required=True, help="Site id (repeat), or '*' for every site."
)
@click.password_option(help="Asked for when not given (at least 10 characters).")
@click.option("--replace", is_flag=True, help="Replace an account of that name (a new password).")
def add(username: str, role: str, sites: tuple[str, ...], password: str, replace: bool) -> None:
    """Add an account (only the password's scrypt hash is stored)."""
    try:
        account = new_account(username, password, role, tuple(sites), int(time.time()))
    except AccountError as exc:
        raise click.BadParameter(str(exc)) from None
    with edit_accounts(_path()) as entries:
        if username in entries and not replace:
            raise click.ClickException(f"account {username} exists (--replace to replace it)")
        entries[username] = account
    click.echo(f"account {username} ({role} on {', '.join(sites)})")


@accounts.command("list")
def list_accounts() -> None:
    """One line per account (never the hash)."""
    try:
        entries = read_accounts(_path())
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    for account in entries.values():
        click.echo(f"{account.username:24} {account.role:9} {','.join(account.sites)}")


@accounts.command("remove")
@click.argument("username")
def remove(username: str) -> None:
    """Remove an account: its sessions stop working within a second."""
    with edit_accounts(_path()) as entries:
        if entries.pop(username, None) is None:
            raise click.ClickException(f"no account {username}")
    click.echo(f"removed {username}")
