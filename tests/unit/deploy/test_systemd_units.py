"""The systemd units in deploy/systemd pass ``systemd-analyze verify`` and run the commands the
project has (docs/deploy.md, "systemd units")."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from clicktrail.cli import cli

UNITS = Path(__file__).parents[3] / "deploy" / "systemd"
SERVICES = ("collector", "personalizer", "reports")
INSTALLED = "/opt/clicktrail/venv/bin/clicktrail"  # where the guide installs the command


def _unit(name: str) -> dict[str, dict[str, str]]:
    """A unit file's sections and keys; a key given twice has its values joined by a space
    (as systemd does for lists such as Wants= and After=)."""
    sections: dict[str, dict[str, str]] = {}
    section: dict[str, str] = {}
    for line in (UNITS / name).read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            section = sections.setdefault(line.strip("[]"), {})
            continue
        key, _, value = line.partition("=")
        section[key] = f"{section[key]} {value}" if key in section else value
    return sections


@pytest.mark.skipif(
    shutil.which("systemd-analyze") is None,
    reason="systemd-analyze is not installed (Debian package systemd)",
)
def test_units_verify(tmp_path: Path):
    # verify checks that ExecStart's program exists: point it at this interpreter's command.
    command = f"{sys.executable} -m clicktrail.cli"
    for unit in UNITS.glob("*.service"):
        (tmp_path / unit.name).write_text(unit.read_text().replace(INSTALLED, command))
    shutil.copy(UNITS / "clicktrail.target", tmp_path)
    names = [
        "clicktrail.target",
        *(f"clicktrail-{name}.service" for name in SERVICES),
        "clicktrail-pipeline@17083.service",
    ]
    done = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *(f"./{name}" for name in names)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    # Unknown keys and bad values are only warnings (exit 0): any output is a failure.
    assert done.returncode == 0 and not done.stderr.strip() and not done.stdout.strip(), (
        done.stdout + done.stderr
    )


def test_the_target_wants_every_unit():
    wants = _unit("clicktrail.target")["Unit"]["Wants"]
    for name in SERVICES:
        assert f"clicktrail-{name}.service" in wants
    assert "clicktrail-pipeline@17083.service" in wants
    for unit in UNITS.glob("*.service"):
        assert _unit(unit.name)["Install"]["WantedBy"] == "clicktrail.target"
        assert _unit(unit.name)["Unit"]["PartOf"] == "clicktrail.target"


@pytest.mark.parametrize("unit", sorted(p.name for p in UNITS.glob("*.service")))
def test_each_unit_runs_a_clicktrail_command_with_its_options(unit: str):
    service = _unit(unit)["Service"]
    argv = shlex.split(service["ExecStart"].replace("%H", "host").replace("%i", "17083"))
    assert argv[0] == INSTALLED
    command = cli.get_command(None, argv[1])  # type: ignore[arg-type]
    assert command is not None, f"{unit}: no command `clicktrail {argv[1]}`"
    # The options parse as the command declares them (a renamed option fails here).
    context = command.make_context(argv[1], argv[2:], resilient_parsing=False)
    assert context.params is not None
    assert service["EnvironmentFile"] == "/etc/clicktrail/clicktrail.env"
    assert service["KillSignal"] == "SIGTERM"  # gunicorn and the worker stop gracefully on it


def test_a_dead_letter_storm_is_not_restarted():
    # The worker exits 3 when too many records are dead-lettered (pipelines/commands.py).
    service = _unit("clicktrail-pipeline@.service")["Service"]
    assert service["RestartPreventExitStatus"] == "3"


def test_the_environment_file_holds_only_known_variables():
    from clicktrail.settings import VARIABLES

    known = {variable.name for variable in VARIABLES}
    lines = (UNITS / "clicktrail.env").read_text().splitlines()
    names = [line.split("=", 1)[0] for line in lines if line and not line.startswith("#")]
    assert names, "no variables"
    assert set(names) <= known, set(names) - known


def test_the_environment_file_passes_the_settings_checks():
    from clicktrail.settings import KafkaTarget, Settings

    lines = (UNITS / "clicktrail.env").read_text().splitlines()
    env = dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))
    env.pop("CLICKTRAIL_GEOIP_DB")  # a file of the production machine, checked to exist there
    settings = Settings.from_env(env)  # each value parsed, the rules between them checked
    assert isinstance(settings.event_log_url, KafkaTarget)
    assert settings.event_log_replication == 3
    assert settings.trusted_proxies and all(n.is_loopback for n in settings.trusted_proxies)
