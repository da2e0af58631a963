"""Every ``CLICKTRAIL_*`` variable in one place: its type, default and meaning.

``Settings.from_env()`` reads and validates them all at start. A bad value raises
``ConfigError`` naming each bad variable, so a service never starts half-configured.
``docs/configuration.md`` is generated from ``VARIABLES`` (``clicktrail config docs``).
"""

from __future__ import annotations

import dataclasses
import difflib
import ipaddress
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

from clicktrail import ports

PREFIX = "CLICKTRAIL_"


class ConfigError(ValueError):
    """One or more variables are invalid; the message names each of them."""


# --- connection targets, chosen by URL scheme ------------------------------------------------


@dataclass(frozen=True)
class RedisTarget:
    url: str  # redis://host:port/db, without the query string
    stream: str | None = None


@dataclass(frozen=True)
class KafkaTarget:
    bootstrap_servers: tuple[str, ...]
    topic: str


@dataclass(frozen=True)
class ClickHouseServerTarget:
    host: str
    port: int
    database: str
    user: str = "default"
    password: str = ""


@dataclass(frozen=True)
class ChdbTarget:
    path: Path
    database: str = "clicktrail"


EventLogTarget = RedisTarget | KafkaTarget
ClickHouseTarget = ClickHouseServerTarget | ChdbTarget


def parse_redis_url(raw: str) -> RedisTarget:
    parts = urlsplit(raw)
    if parts.scheme not in ("redis", "rediss", "unix"):
        raise ValueError(f"expected a redis:// URL, got {raw!r}")
    if parts.scheme != "unix" and not parts.hostname:
        raise ValueError(f"no host in {raw!r}")
    _ = parts.port  # raises ValueError on a bad port
    db = parts.path.strip("/") or "0"
    if not db.isdigit():
        raise ValueError(f"the database in {raw!r} must be a number, got {db!r}")
    stream = parse_qs(parts.query).get("stream", [None])[0]
    return RedisTarget(url=parts._replace(query="", fragment="").geturl(), stream=stream)


def parse_event_log_url(raw: str) -> EventLogTarget:
    """``kafka://host:port[,host:port]/topic`` or ``redis://host:port/db?stream=name``."""
    parts = urlsplit(raw)
    if parts.scheme == "kafka":
        servers = tuple(s for s in parts.netloc.split(",") if s)
        topic = parts.path.strip("/")
        if not servers or not all(_is_host_port(s) for s in servers):
            raise ValueError(f"expected kafka://host:port/topic, got {raw!r}")
        if not topic:
            raise ValueError(f"no topic in {raw!r} (kafka://host:port/topic)")
        return KafkaTarget(bootstrap_servers=servers, topic=topic)
    if parts.scheme in ("redis", "rediss", "unix"):
        target = parse_redis_url(raw)
        if not target.stream:
            raise ValueError(f"no stream in {raw!r} (redis://host:port/0?stream=events)")
        return target
    raise ValueError(f"the scheme must be kafka:// or redis://, got {raw!r}")


def parse_clickhouse_url(raw: str) -> ClickHouseTarget:
    """``clickhouse://[user[:password]@]host:port/database`` or ``chdb:///path/to/dir``."""
    parts = urlsplit(raw)
    if parts.scheme == "chdb":
        path = unquote(parts.netloc + parts.path)
        if not path:
            raise ValueError(f"no folder in {raw!r} (chdb:///path/to/dir)")
        database = parse_qs(parts.query).get("database", ["clicktrail"])[0]
        return ChdbTarget(path=Path(path), database=database)
    if parts.scheme == "clickhouse":
        if not parts.hostname:
            raise ValueError(f"no host in {raw!r}")
        database = parts.path.strip("/") or "clicktrail"
        return ClickHouseServerTarget(
            host=parts.hostname,
            port=parts.port or 9000,
            database=database,
            user=unquote(parts.username or "default"),
            password=unquote(parts.password or ""),
        )
    raise ValueError(f"the scheme must be clickhouse:// or chdb://, got {raw!r}")


def _is_host_port(value: str) -> bool:
    host, _, port_text = value.rpartition(":")
    return bool(host) and port_text.isdigit() and 0 < int(port_text) < 65536


# --- small parsers ---------------------------------------------------------------------------


def _int_range(low: int, high: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise ValueError(f"must be a whole number, got {raw!r}") from None
        if not low <= value <= high:
            raise ValueError(f"must be between {low} and {high}, got {value}")
        return value

    return parse


def _float_range(low: float, high: float) -> Callable[[str], float]:
    def parse(raw: str) -> float:
        try:
            value = float(raw)
        except ValueError:
            raise ValueError(f"must be a number, got {raw!r}") from None
        if not low <= value <= high:
            raise ValueError(f"must be between {low} and {high}, got {value}")
        return value

    return parse


def _networks(raw: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    items = [item.strip() for item in raw.split(",") if item.strip()]
    try:
        return tuple(ipaddress.ip_network(item, strict=False) for item in items)
    except ValueError as exc:
        raise ValueError(f"must be a comma-separated list of IP networks: {exc}") from None


def _rate_limit(raw: str) -> str:
    from clicktrail.serving.ratelimit import parse_limit

    parse_limit(raw)  # raises ValueError with the reason
    return raw.strip()


def _choice(*allowed: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if raw not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)}, got {raw!r}")
        return raw

    return parse


def _flag(raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"must be true or false, got {raw!r}")


def _loopback_address(raw: str) -> str:
    try:
        address = ipaddress.ip_address(raw.strip())
    except ValueError:
        raise ValueError(f"must be an IP address, got {raw!r}") from None
    if not address.is_loopback:
        raise ValueError(f"must be a loopback address (127.0.0.0/8, ::1), got {raw!r}")
    return str(address)


def _log_level(raw: str) -> str:
    level = raw.upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise ValueError(f"must be DEBUG, INFO, WARNING, ERROR or CRITICAL, got {raw!r}")
    return level


def _default_geoip_path() -> str:
    try:
        from geolite2 import geolite2_database
    except ImportError:  # pragma: no cover - the package is a dependency
        return ""
    return str(geolite2_database())


def _existing_file(raw: str) -> Path:
    path = Path(raw)
    if not path.is_file():
        raise ValueError(f"no such file: {raw!r}")
    return path


# --- the variables: each declared once, as a field of Settings ----------------------------


def _text(raw: str) -> str:
    return raw


def _rate(raw: str) -> str:
    if not re.fullmatch(r"[1-9][0-9]{0,5} per (second|minute|hour|day)", raw.strip()):
        raise ValueError(f"must be like '10 per minute' (second, minute, hour or day), got {raw!r}")
    return raw.strip()


def _host_port(raw: str) -> str:
    if not _is_host_port(raw):
        raise ValueError(f"must be host:port, got {raw!r}")
    return raw


def setting(section: str, parse: Callable[[str], Any], default: str, doc: str) -> Any:
    """Declare one ``CLICKTRAIL_<FIELD>`` variable: the section (service) it belongs to, how
    its text is parsed and checked, its default (may name other settings as ``{data_dir}`` and
    ports as ``{port:redis_state}``) and what it means (``docs/configuration.md``)."""
    return dataclasses.field(
        metadata={"section": section, "parse": parse, "default": default, "doc": doc}
    )


@dataclass(frozen=True)
class Settings:
    """Every ``CLICKTRAIL_*`` variable, parsed. Build with ``from_env``; ``to_env`` gives the
    variables back (tests and benches start processes with it)."""

    # general
    port_offset: int = setting(
        "general",
        _int_range(0, 40000),
        "0",
        "Added to every port of the port map (docs/services.md), so several copies of "
        "Clicktrail run side by side.",
    )
    data_dir: Path = setting(
        "general",
        Path,
        "var",
        "Folder for local state: the site registry, secrets, the chdb database.",
    )
    sites_file: Path = setting(
        "general",
        Path,
        "{data_dir}/sites.json",
        "The site registry (docs/sites.md). Running services pick up changes by themselves.",
    )
    tokens_file: Path = setting(
        "general",
        Path,
        "{data_dir}/tokens.json",
        "API tokens and their roles (clicktrail tokens); only digests are stored.",
    )
    sites_reload_seconds: float = setting(
        "general",
        _float_range(0.0, 3600.0),
        "1.0",
        "How often a running service checks the site registry file for changes.",
    )
    log_level: str = setting("general", _log_level, "INFO", "Python logging level.")

    # identity and privacy
    secrets_file: Path = setting(
        "identity",
        Path,
        "{data_dir}/secrets.json",
        "Signing keys (docs/secrets.md). Created on first use with mode 0600.",
    )
    signing_key_grace_days: int = setting(
        "identity",
        _int_range(0, 365),
        "30",
        "How long a rotated-out signing key still verifies.",
    )
    signing_key_reload_seconds: float = setting(
        "identity",
        _float_range(0.1, 3600.0),
        "60",
        "How often a running personalizer re-reads CLICKTRAIL_SECRETS_FILE, so a rotation "
        "(clicktrail secrets rotate-signing-key) reaches every process: new links carry the "
        "new key within this long. A file that cannot be read keeps the keys loaded before.",
    )
    salt_rotation_hour: int = setting(
        "identity",
        _int_range(0, 23),
        "0",
        "Hour of the day (UTC) at which the cookieless daily salt is replaced.",
    )
    salt_grace_minutes: int = setting(
        "identity",
        _int_range(0, 720),
        "30",
        "How long the previous daily salt is kept after a rotation (to match sessions "
        "that span it); then it is deleted.",
    )
    trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = setting(
        "identity",
        _networks,
        "",
        "Comma-separated networks (CIDR) whose X-Forwarded-For the services believe.",
    )
    state_url: RedisTarget = setting(
        "identity",
        parse_redis_url,
        "redis://127.0.0.1:{port:redis_state}/0",
        "Redis for durable state (daily salts, dedup marks). Must not evict: "
        "maxmemory-policy noeviction.",
    )

    # event log
    event_log_url: EventLogTarget = setting(
        "event log",
        parse_event_log_url,
        "redis://127.0.0.1:{port:redis_state}/0?stream=events",
        "The event log: kafka://host:port[,host:port]/topic or redis://host:port/db?stream=name.",
    )
    event_log_partitions: int = setting(
        "event log",
        _int_range(1, 1024),
        "4",
        "Partitions of the event log (Kafka partitions, or Redis streams <name>:<n>); a "
        "visitor's records stay in one.",
    )
    event_log_replication: int = setting(
        "event log",
        _int_range(1, 16),
        "1",
        "Kafka replication factor of a topic Clicktrail creates (min.insync.replicas is one less).",
    )
    event_log_retention_hours: int = setting(
        "event log",
        _int_range(1, 24 * 365),
        "168",
        "How long the event log keeps records. They hold raw IP addresses: keep it short.",
    )
    kafka_linger_ms: int = setting(
        "event log",
        _int_range(0, 1000),
        "5",
        "Kafka producer batching delay (measured: docs/benchmarks.md); less than "
        "CLICKTRAIL_ACK_TIMEOUT_MS.",
    )
    kafka_delivery_timeout_ms: int = setting(
        "event log",
        _int_range(2000, 600_000),
        "30000",
        "How long the Kafka producer keeps trying a record before it gives up (the collector "
        "has long answered 503 by then and the sender resends).",
    )
    kafka_producer: str = setting(
        "event log",
        _choice("confluent", "kafka-python"),
        "confluent",
        "The Kafka client that writes to the event log: confluent (librdkafka, native threads) "
        "or kafka-python (pure Python). Same acknowledgements; measured: docs/benchmarks.md.",
    )

    # collector
    ack_timeout_ms: int = setting(
        "collector",
        _int_range(1, 10_000),
        "50",
        "How long the collector waits for the event log's acknowledgement before answering 503.",
    )
    collector_rate_limit: str = setting(
        "collector",
        _rate_limit,
        "100/second;3000/minute",
        "Requests a browser's address (after trusted proxies; an IPv6 /64) may send, per "
        "collector worker process, before 429 with Retry-After; the snippet sends again "
        "later. `off` turns it off. Notation: docs/reliability.md.",
    )
    collector_server_rate_limit: str = setting(
        "collector",
        _rate_limit,
        "5000/second",
        "Requests a site's server-side senders (with its write key) may send, per worker "
        "process, before 429. `off` turns it off.",
    )
    personalizer_rate_limit: str = setting(
        "personalizer",
        _rate_limit,
        "50/second;1500/minute",
        "Decisions a browser's address (after trusted proxies; an IPv6 /64) may ask for, per "
        "personalizer worker process, before 429 with Retry-After. `off` turns it off.",
    )
    personalizer_adserver_rate_limit: str = setting(
        "personalizer",
        _rate_limit,
        "5000/second",
        "Decisions one ad-server token may ask for, per personalizer worker process, before "
        "429. `off` turns it off.",
    )
    collector_bind: str = setting(
        "collector",
        _host_port,
        "127.0.0.1:{port:collector}",
        "Address the collector (gunicorn) listens on.",
    )
    collector_workers: int = setting(
        "collector",
        _int_range(1, 64),
        "2",
        "Collector worker processes (measured best on 2 cores: docs/benchmarks.md).",
    )
    collector_worker_class: str = setting(
        "collector",
        _choice("gevent", "gthread"),
        "gevent",
        "gunicorn worker class of the collector (gevent measured best: docs/benchmarks.md).",
    )
    collector_connections: int = setting(
        "collector",
        _int_range(1, 10_000),
        "256",
        "Requests one gevent worker serves at once (their log acknowledgements overlap).",
    )
    collector_threads: int = setting(
        "collector",
        _int_range(1, 256),
        "16",
        "Threads per worker with the gthread worker class.",
    )

    # personalizer
    personalizer_bind: str = setting(
        "personalizer",
        _host_port,
        "127.0.0.1:{port:personalizer}",
        "Address the personalizer (gunicorn) listens on.",
    )
    personalizer_workers: int = setting(
        "personalizer",
        _int_range(1, 64),
        "2",
        "Personalizer worker processes.",
    )
    personalizer_threads: int = setting(
        "personalizer",
        _int_range(1, 64),
        "8",
        "Threads of each personalizer worker (gunicorn gthread); at most the Redis pools' size.",
    )
    personalizer_public_url: str = setting(
        "personalizer",
        _text,
        "http://127.0.0.1:{port:personalizer}",
        "Where browsers reach the personalizer: the base of impression and click URLs, and "
        "of the decision endpoint behind the collector's origin (docs/personalizer.md).",
    )
    personalizer_log_decisions: bool = setting(
        "personalizer",
        _flag,
        "true",
        "Write every decision (holdout ones included) to the event log as decision events, "
        "for attribution (docs/personalizer.md). Impressions and clicks are written either way.",
    )
    personalizer_log_queue: int = setting(
        "personalizer",
        _int_range(1, 1_000_000),
        "10000",
        "Decisions and clicks waiting for the event log, per worker process; beyond it new "
        "ones are dropped and counted (clicktrail_personalizer_log_dropped_total).",
    )
    personalizer_log_timeout_ms: int = setting(
        "personalizer",
        _int_range(1, 10_000),
        "200",
        "How long a write to the event log may wait for its acknowledgement: a batch of "
        "decisions (then dropped and counted), or an impression (then answered 503, so the "
        "browser sends it again).",
    )
    personalizer_counters_max_age_ms: int = setting(
        "personalizer",
        _int_range(0, 60_000),
        "1000",
        "How old a campaign's site-wide counts (impressions today and in all, its creatives' "
        "impressions and clicks: pacing, goals, click-through) may be when a decision uses "
        "them; each worker reads them again after this, in the round trip of the visitor's "
        "caps. A goal may be passed by what the other workers served in that time; a "
        "visitor's frequency cap is read on every decision and is exact. 0: read every time.",
    )
    state_timeout_ms: int = setting(
        "personalizer",
        _int_range(1, 10_000),
        "50",
        "How long a decision waits for the durable Redis (caps, pacing) before it serves "
        "only uncapped campaigns.",
    )

    # reports
    reports_bind: str = setting(
        "reports",
        _host_port,
        "127.0.0.1:{port:reports}",
        "Address the reports API (gunicorn) listens on.",
    )
    reports_workers: int = setting(
        "reports",
        _int_range(1, 64),
        "1",
        "Reports API worker processes (each runs at most CLICKTRAIL_WAREHOUSE_CONNECTIONS "
        "queries at once); the warehouse, not the workers, bounds reports (measured: "
        "docs/deploy.md).",
    )

    # dashboard (the reports service's pages, docs/dashboard.md)
    accounts_file: Path = setting(
        "dashboard",
        Path,
        "{data_dir}/accounts.json",
        "Dashboard sign-in accounts (clicktrail accounts); only password hashes are stored.",
    )
    dashboard_session_key_file: Path = setting(
        "dashboard",
        Path,
        "{data_dir}/dashboard-session.key",
        "The key that signs the dashboard's session cookies; made (mode 0600) on first start. "
        "Every worker and every reports process must read the same file.",
    )
    dashboard_session_hours: int = setting(
        "dashboard",
        _int_range(1, 24 * 30),
        "12",
        "How long a dashboard sign-in lasts.",
    )
    dashboard_signin_limit: str = setting(
        "dashboard",
        _rate,
        "10 per minute",
        "Sign-in attempts allowed per client address (`<n> per second|minute|hour|day`), "
        "counted in the state Redis (CLICKTRAIL_STATE_URL) across workers.",
    )
    dashboard_collector_url: str = setting(
        "dashboard",
        _text,
        "http://127.0.0.1:{port:collector}",
        "The collector's public URL, shown in the embed code on the pages of a site without "
        "events.",
    )

    # the demo shop (reports/demo, docs/demo.md): `DEMO=1 make up` only
    demo: bool = setting(
        "demo",
        _flag,
        "false",
        "Serve the demo shop under /demo on the reports service, with its front to the "
        "collector. Never in production: the front states the visitors' addresses.",
    )
    demo_front_address: str = setting(
        "demo",
        _loopback_address,
        "127.0.0.2",
        "Loopback address the demo shop's front connects to the collector from. With "
        "CLICKTRAIL_DEMO on, make up adds this one address to the collector's "
        "CLICKTRAIL_TRUSTED_PROXIES, so no other client may state where it browses from.",
    )

    # profiles
    profile_url: RedisTarget = setting(
        "profiles",
        parse_redis_url,
        "redis://127.0.0.1:{port:redis_profile}/0",
        "Redis for visitor profiles and caches; may evict (allkeys-lru).",
    )
    profile_half_life_days: float = setting(
        "profiles",
        _float_range(0.01, 365.0),
        "7",
        "Half-life of a visitor's category interest scores, decayed on event time "
        "(docs/profiles.md).",
    )
    profile_recent_products: int = setting(
        "profiles",
        _int_range(1, 200),
        "20",
        "Recently viewed products kept per profile (also the co-view neighbours' pool).",
    )
    profile_recent_categories: int = setting(
        "profiles",
        _int_range(1, 200),
        "10",
        "Recently viewed categories kept per profile.",
    )
    profile_purchased_items: int = setting(
        "profiles",
        _int_range(1, 200),
        "20",
        "Purchased products kept per profile.",
    )
    profile_ttl_days: int = setting(
        "profiles",
        _int_range(1, 3650),
        "30",
        "A profile (and a co-view list) expires after this many days without events.",
    )
    profile_include_bots: bool = setting(
        "profiles",
        _flag,
        "false",
        "Whether events flagged as bots update profiles and co-views.",
    )
    profile_coview_window_minutes: int = setting(
        "profiles",
        _int_range(1, 7 * 24 * 60),
        "30",
        "Two products viewed by one visitor within this time count as viewed together.",
    )
    profile_coview_neighbours: int = setting(
        "profiles",
        _int_range(0, 200),
        "5",
        "Most co-view pairs one product view adds (0: no co-views); at most "
        "CLICKTRAIL_PROFILE_RECENT_PRODUCTS.",
    )

    profile_event_ids_kept: int = setting(
        "profiles",
        _int_range(0, 100_000),
        "256",
        "Event ids remembered per visitor, so an event a client sent twice counts once in the "
        "profile when fewer than this many of the visitor's events came between the copies "
        "(0: only copies within one batch are caught; docs/profiles.md).",
    )
    profile_read_timeout_ms: int = setting(
        "profiles",
        _int_range(1, 10_000),
        "50",
        "How long a serving read of a profile (the decision service) waits for Redis before "
        "it answers without the profile.",
    )
    profile_connect_timeout_ms: int = setting(
        "profiles",
        _int_range(1, 10_000),
        "50",
        "How long a serving read waits to connect to Redis, or for a free pooled connection.",
    )
    profile_read_pool_size: int = setting(
        "profiles",
        _int_range(1, 1024),
        "16",
        "Connections a serving process keeps to the profile Redis (reads beyond wait).",
    )

    # warehouse
    clickhouse_url: ClickHouseTarget = setting(
        "warehouse",
        parse_clickhouse_url,
        "chdb://{data_dir}/chdb",
        "The event store: clickhouse://[user[:password]@]host:port/database (server, "
        "native protocol) or chdb:///path/to/dir (embedded, one process owns the folder).",
    )

    warehouse_connections: int = setting(
        "warehouse",
        _int_range(1, 256),
        "4",
        "Queries one serving process (personalizer, reports) runs at once: server connections "
        "in its pool, or sockets to the chdb folder's owner.",
    )
    warehouse_read_timeout_ms: int = setting(
        "warehouse",
        _int_range(100, 3_600_000),
        "30000",
        "How long a serving read may take (and wait for a free connection) before it fails.",
    )
    chdb_read_sessions: int = setting(
        "warehouse",
        _int_range(1, 64),
        "2",
        "chdb only: read-only sessions the folder's owner runs beside its ingest session, so a "
        "long report never stalls ingest (docs/warehouse.md).",
    )

    # pipeline
    geoip_db: Path = setting(
        "pipeline",
        _existing_file,
        "{geolite2}",
        "MaxMind DB file (GeoIP2/GeoLite2 City). Default: the 2018 GeoLite2 City file "
        "from the maxminddb-geolite2 package (docs/geoip.md).",
    )
    geoip_check_seconds: float = setting(
        "pipeline",
        _float_range(0.0, 86_400.0),
        "60",
        "How often a running pipeline worker or personalizer looks whether CLICKTRAIL_GEOIP_DB "
        "was replaced (one stat of the file); a new file is opened and swapped in without a "
        "restart, a broken one is logged and the loaded one kept (docs/deploy.md). 0: never.",
    )
    pipeline_group: str = setting(
        "pipeline",
        _text,
        "pipeline",
        "Consumer group of the pipeline workers; workers of one group share the partitions.",
    )
    pipeline_batch_events: int = setting(
        "pipeline",
        _int_range(1, 100_000),
        "9000",
        "A pipeline batch ends at this many events... (a worker holds about two batches: 10,000"
        " took its peak resident memory to ~252 MB, 9,000 to ~247 MB, at the same rate)",
    )
    pipeline_batch_ms: int = setting(
        "pipeline",
        _int_range(10, 60_000),
        "1000",
        "...or this long after its first record, whichever comes first.",
    )
    dead_letter_max_share: float = setting(
        "pipeline",
        _float_range(0.0, 1.0),
        "0.2",
        "A worker stops (exit 3) when more than this share of the last 1,000 records went to "
        "the dead-letter log: a bad deploy must not dead-letter everything.",
    )

    # privacy (docs/privacy.md) ----------------------------------------------------------------
    privacy_forget_me_per_hour: int = setting(
        "privacy",
        _int_range(1, 1000),
        "5",
        "Self-service erasures (POST /v1/privacy/forget-me) the collector accepts per client "
        "address and hour; more are answered 429.",
    )
    privacy_settle_ms: int = setting(
        "privacy",
        _int_range(0, 600_000),
        "3000",
        "An erasure waits this long after burying the person's tombstones before it deletes, "
        "so a batch the pipeline was already writing lands first (more than one batch time and "
        "the tombstone refresh).",
    )
    privacy_tombstone_refresh_ms: int = setting(
        "privacy",
        _int_range(100, 60_000),
        "1000",
        "How often the pipeline checks the tombstones' version (one GET) and reloads them when "
        "they changed.",
    )
    retention_interval_minutes: int = setting(
        "privacy",
        _int_range(1, 10_080),
        "60",
        "How often the pipeline's retention step deletes each site's raw events older than "
        "its retention_days (clicktrail retention run does it at once).",
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Read every variable (``overrides`` win, already parsed) and validate them, each on
        its own and then together (``RULES``). Raises ``ConfigError`` naming every bad one."""
        env = dict(os.environ if environ is None else environ)
        errors = _unknown_variables(env)
        raw: dict[str, str] = {}
        values: dict[str, Any] = {}
        offset = 0
        for variable in VARIABLES:
            if variable.field in overrides:
                values[variable.field] = overrides[variable.field]
                raw[variable.field] = _format(overrides[variable.field])
                if variable.field == "port_offset":
                    offset = overrides["port_offset"]
                continue
            text = env.get(variable.name)
            if text is None:
                text = _expand_default(variable.default, raw, offset)
            raw[variable.field] = text
            try:
                values[variable.field] = variable.parse(text)
            except ValueError as exc:
                errors.append(f"{variable.name}: {exc}")
                continue
            if variable.field == "port_offset":
                offset = values["port_offset"]
        if errors:
            raise ConfigError("invalid configuration:\n  " + "\n  ".join(errors))
        settings = cls(**values)
        settings.check()
        return settings

    def check(self) -> None:
        """The rules that tie variables together; ``ConfigError`` naming each broken one."""
        errors = [message for rule in RULES if (message := rule(self))]
        if errors:
            raise ConfigError("invalid configuration:\n  " + "\n  ".join(errors))

    def replace(self, **changes: Any) -> Settings:
        """A copy with ``changes`` (parsed values), checked by the same rules."""
        settings = dataclasses.replace(self, **changes)
        settings.check()
        return settings

    def to_env(self) -> dict[str, str]:
        """Every variable as text, such that ``Settings.from_env(s.to_env()) == s``."""
        return {variable.name: _format(getattr(self, variable.field)) for variable in VARIABLES}

    def section(self, name: str) -> dict[str, Any]:
        """The settings of one section (``SECTIONS``), by field name."""
        return {v.field: getattr(self, v.field) for v in VARIABLES if v.section == name}


@dataclass(frozen=True)
class Variable:
    """One environment variable, as ``setting`` declared it on a ``Settings`` field."""

    field: str
    section: str
    parse: Callable[[str], Any]
    default: str
    doc: str

    @property
    def name(self) -> str:
        return PREFIX + self.field.upper()


VARIABLES: tuple[Variable, ...] = tuple(
    Variable(field.name, **field.metadata) for field in dataclasses.fields(Settings)
)
SECTIONS: tuple[str, ...] = tuple(dict.fromkeys(v.section for v in VARIABLES))

# Variables read by other tools that are not settings of a service.
OTHER_VARIABLES = {
    "CLICKTRAIL_SERVICES_DIR": "Run folder of `scripts/services` (default var/run/<offset>).",
}


# --- rules between variables -----------------------------------------------------------------


def _coviews_within_recent_products(settings: Settings) -> str | None:
    if settings.profile_coview_neighbours > settings.profile_recent_products:
        return (
            "CLICKTRAIL_PROFILE_COVIEW_NEIGHBOURS: at most CLICKTRAIL_PROFILE_RECENT_PRODUCTS "
            f"({settings.profile_recent_products}), got {settings.profile_coview_neighbours}"
        )
    return None


def _linger_within_ack_bound(settings: Settings) -> str | None:
    if (
        isinstance(settings.event_log_url, KafkaTarget)
        and settings.kafka_linger_ms >= settings.ack_timeout_ms
    ):
        return (
            f"CLICKTRAIL_KAFKA_LINGER_MS: must be less than CLICKTRAIL_ACK_TIMEOUT_MS "
            f"({settings.ack_timeout_ms}), got {settings.kafka_linger_ms}: every request "
            "would wait out the bound and answer 503"
        )
    return None


def _durable_log_on_the_state_redis(settings: Settings) -> str | None:
    log = settings.event_log_url
    if isinstance(log, RedisTarget) and log.url == settings.profile_url.url:
        return (
            "CLICKTRAIL_EVENT_LOG_URL: must not be the profile Redis "
            f"(CLICKTRAIL_PROFILE_URL, {log.url}), which may evict: records would be lost"
        )
    if settings.state_url.url == settings.profile_url.url:
        return (
            "CLICKTRAIL_STATE_URL: must not be the profile Redis (CLICKTRAIL_PROFILE_URL), "
            "which may evict: salts would be lost"
        )
    return None


RULES: tuple[Callable[[Settings], str | None], ...] = (
    _coviews_within_recent_products,
    _linger_within_ack_bound,
    _durable_log_on_the_state_redis,
)


# --- text back from values ---------------------------------------------------------------------


def _format(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, RedisTarget):
        return f"{value.url}?stream={value.stream}" if value.stream else value.url
    if isinstance(value, KafkaTarget):
        return f"kafka://{','.join(value.bootstrap_servers)}/{value.topic}"
    if isinstance(value, ClickHouseServerTarget):
        user = quote(value.user, safe="")
        password = f":{quote(value.password, safe='')}" if value.password else ""
        return f"clickhouse://{user}{password}@{value.host}:{value.port}/{value.database}"
    if isinstance(value, ChdbTarget):
        text = f"chdb://{quote(str(value.path), safe='/')}"
        return text if value.database == "clicktrail" else f"{text}?database={value.database}"
    if isinstance(value, tuple):
        return ",".join(_format(item) for item in value)
    return str(value)


def _expand_default(template: str, raw: Mapping[str, str], offset: int) -> str:
    if template == "{geolite2}":
        return _default_geoip_path()
    text = template.replace("{data_dir}", raw.get("data_dir", "var"))
    for name in ports.BASE_PORTS:
        text = text.replace("{port:" + name + "}", str(ports.BASE_PORTS[name] + offset))
    return text


def _unknown_variables(env: Mapping[str, str]) -> list[str]:
    known = {v.name for v in VARIABLES} | set(OTHER_VARIABLES)
    errors = []
    for name in sorted(env):
        if name.startswith(PREFIX) and name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            errors.append(f"{name}: unknown variable{hint}")
    return errors


def configuration_markdown() -> str:
    """The variable tables of ``docs/configuration.md``, one per section."""
    lines: list[str] = []
    for section in SECTIONS:
        lines += [f"### {section}", "", "| Variable | Default | Meaning |", "|---|---|---|"]
        for variable in VARIABLES:
            if variable.section != section:
                continue
            if variable.default == "{geolite2}":
                shown = "GeoLite2 City from `maxminddb-geolite2`"
            else:
                default = _expand_default(variable.default, {"data_dir": "var"}, 0)
                shown = f"`{default}`" if default else "(empty)"
            lines.append(f"| `{variable.name}` | {shown} | {variable.doc} |")
        lines.append("")
    lines += ["### other tools", "", "| Variable | Meaning |", "|---|---|"]
    for name, doc in OTHER_VARIABLES.items():
        lines.append(f"| `{name}` | {doc} |")
    return "\n".join(lines) + "\n"


def needed_services(settings: Settings) -> list[str]:
    """The external services (``clicktrail.services`` names) these settings connect to."""
    needed = ["redis-state", "redis-profile"]
    if isinstance(settings.clickhouse_url, ClickHouseServerTarget):
        needed.append("clickhouse")
    if isinstance(settings.event_log_url, KafkaTarget):
        needed.append("kafka")
    return needed
