"""The ``clicktrail`` command: one entry point for every service and tool."""

from __future__ import annotations

import json
import sys
import time
from importlib.metadata import EntryPoint, entry_points

import click

from clicktrail.settings import ConfigError, Settings, configuration_markdown
from clicktrail.simulator.command import simulate
from clicktrail.sites.commands import sites
from clicktrail.tokens.commands import tokens

# Services add their commands through this entry point group (setup.cfg), so the core never
# imports a service package: ``clicktrail pipeline``, ``clicktrail collector``, ...
COMMANDS_GROUP = "clicktrail.commands"


def load_settings() -> Settings:
    """Settings from the environment, or exit with the message naming each bad variable."""
    try:
        return Settings.from_env()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


class ServiceCommands(click.Group):
    """The core's commands plus each service's, loaded from the entry points only when named
    (``clicktrail sites list`` does not import the pipeline)."""

    def _entry_points(self) -> dict[str, EntryPoint]:
        return {point.name: point for point in entry_points(group=COMMANDS_GROUP)}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self._entry_points()})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None and (point := self._entry_points().get(cmd_name)) is not None:
            command = point.load()
        return command


@click.group(cls=ServiceCommands)
@click.version_option(package_name="clicktrail")
def cli() -> None:
    """Clicktrail: self-hosted web tracking and personalization."""


@cli.group()
def config() -> None:
    """Inspect the configuration (CLICKTRAIL_* variables)."""


@config.command("check")
def config_check() -> None:
    """Validate every CLICKTRAIL_* variable and print the settings in force."""
    settings = load_settings()
    for name, value in vars(settings).items():
        click.echo(f"{name} = {value}")


@config.command("services")
def config_services() -> None:
    """Print the services the settings in force need, one per line (``make up`` starts only
    these): both Redis roles always; the ClickHouse server only when CLICKTRAIL_CLICKHOUSE_URL
    names one (the default is embedded chdb); the Kafka broker only when
    CLICKTRAIL_EVENT_LOG_URL is a kafka:// URL (the default is Redis Streams)."""
    from clicktrail.settings import needed_services

    for name in needed_services(load_settings()):
        click.echo(name)


@config.command("docs")
def config_docs() -> None:
    """Print the variable table of docs/configuration.md."""
    click.echo(configuration_markdown(), nl=False)


@cli.group()
def secrets() -> None:
    """Signing keys (the cookieless daily salt rotates by itself)."""


@secrets.command("rotate-signing-key")
def rotate_signing_key() -> None:
    """Make a new signing key; the old one keeps verifying for the grace period."""
    from clicktrail.secrets.keyring import rotate_keyring

    settings = load_settings()
    keyring = rotate_keyring(
        settings.secrets_file, settings.signing_key_grace_days * 86400, int(time.time())
    )
    click.echo(f"new signing key {keyring.current.key_id}; {len(keyring.keys)} keys kept")


@secrets.command("list")
def list_signing_keys() -> None:
    """List signing keys (ids and dates, never the secrets)."""
    from clicktrail.secrets.keyring import load_keyring

    settings = load_settings()
    keyring = load_keyring(
        settings.secrets_file, settings.signing_key_grace_days * 86400, int(time.time())
    )
    for key in keyring.keys:
        state = "signing" if key.retired_at is None else f"retired {key.retired_at}"
        click.echo(f"{key.key_id}  created {key.created_at}  {state}")


@cli.group()
def contract() -> None:
    """The event contract (docs/protocol.md)."""


@contract.command("schema")
def contract_schema() -> None:
    """Print the JSON Schema of one event."""
    from clicktrail.contract.event import Event

    json.dump(Event.model_json_schema(), sys.stdout, indent=2)
    click.echo()


cli.add_command(sites)
cli.add_command(tokens)
cli.add_command(simulate)


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
