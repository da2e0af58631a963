"""An engine of a test's or a benchmark's own: settings with a fresh event log stream or topic,
its own data folder and site registry, on the running services."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

from clicktrail import ports
from clicktrail.settings import Settings, parse_event_log_url
from clicktrail.sites.model import Site, generate_write_key
from clicktrail.sites.registry import edit_sites

SHOP_ORIGINS = ("https://shop.example.test", "https://*.shop.example.test")


@dataclass(frozen=True)
class Engine:
    """Settings for one test: its own data folder, site registry and event log stream/topic."""

    settings: Settings
    write_key: str
    data_dir: Path

    def env(self) -> dict[str, str]:
        """The same settings as environment variables, for a server started as a process."""
        return self.settings.to_env()


def make_engine(tmp_path: Path, log: str, **overrides) -> Engine:
    """``log`` is ``"redis"`` or ``"kafka"``; each engine gets a fresh stream or topic."""
    name = f"test-{uuid.uuid4().hex[:10]}"
    if log == "kafka":
        url = f"kafka://127.0.0.1:{ports.port('kafka')}/{name}"
    else:
        url = f"redis://127.0.0.1:{ports.port('redis_state')}/0?stream={name}"
    key, digest = generate_write_key()
    settings = Settings.from_env(
        {},
        port_offset=ports.port_offset(),  # the run's own services (CLICKTRAIL_PORT_OFFSET)
        data_dir=tmp_path,
        sites_file=tmp_path / "sites.json",
        secrets_file=tmp_path / "secrets.json",
        sites_reload_seconds=0.1,
        event_log_url=parse_event_log_url(url),
        event_log_partitions=2,
        **overrides,
    )
    with edit_sites(settings.sites_file) as sites:
        sites["shop"] = Site("shop", origins=SHOP_ORIGINS, write_key_sha256=digest)
        sites["strict"] = Site("strict", origins=("https://strict.example.test",), consent="opt_in")
    return Engine(settings, key, tmp_path)
