from __future__ import annotations

from pathlib import Path

import pytest

from clicktrail import ports
from clicktrail.settings import (
    ChdbTarget,
    ClickHouseServerTarget,
    ConfigError,
    KafkaTarget,
    RedisTarget,
    Settings,
    configuration_markdown,
    needed_services,
)

DOCS = Path(__file__).parents[3] / "docs" / "configuration.md"


def test_defaults_follow_the_port_offset():
    settings = Settings.from_env({"CLICKTRAIL_PORT_OFFSET": "100"})
    assert settings.event_log_url == RedisTarget(
        url=f"redis://127.0.0.1:{ports.BASE_PORTS['redis_state'] + 100}/0", stream="events"
    )
    assert settings.profile_url.url.endswith(f":{ports.BASE_PORTS['redis_profile'] + 100}/0")
    assert settings.clickhouse_url == ChdbTarget(path=Path("var/chdb"))


def test_urls_choose_the_implementation():
    settings = Settings.from_env(
        {
            "CLICKTRAIL_EVENT_LOG_URL": "kafka://127.0.0.1:9092,127.0.0.2:9092/clicks",
            "CLICKTRAIL_CLICKHOUSE_URL": "clickhouse://app:s%40cret@db:9440/analytics",
        }
    )
    assert settings.event_log_url == KafkaTarget(("127.0.0.1:9092", "127.0.0.2:9092"), "clicks")
    assert settings.clickhouse_url == ClickHouseServerTarget(
        "db", 9440, "analytics", "app", "s@cret"
    )


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("CLICKTRAIL_EVENT_LOG_URL", "kafka://host/topic", "expected kafka://host:port/topic"),
        ("CLICKTRAIL_EVENT_LOG_URL", "kafka://h:1/", "no topic"),
        ("CLICKTRAIL_EVENT_LOG_URL", "redis://h:1/0", "no stream"),
        ("CLICKTRAIL_EVENT_LOG_URL", "amqp://h/x", "scheme must be"),
        ("CLICKTRAIL_STATE_URL", "redis://h:1/zero", "must be a number"),
        ("CLICKTRAIL_CLICKHOUSE_URL", "postgres://h/db", "scheme must be"),
        ("CLICKTRAIL_SALT_ROTATION_HOUR", "24", "between 0 and 23"),
        ("CLICKTRAIL_PORT_OFFSET", "-1", "between 0 and 40000"),
        ("CLICKTRAIL_TRUSTED_PROXIES", "10.0.0.0/8,nonsense", "IP networks"),
        ("CLICKTRAIL_GEOIP_DB", "/nonexistent.mmdb", "no such file"),
        ("CLICKTRAIL_LOG_LEVEL", "loud", "must be DEBUG"),
        ("CLICKTRAIL_EVENTLOG_URL", "x", "did you mean CLICKTRAIL_EVENT_LOG_URL"),
    ],
)
def test_bad_values_name_the_variable(name, value, message):
    with pytest.raises(ConfigError) as error:
        Settings.from_env({name: value})
    assert f"{name}: " in str(error.value)
    assert message in str(error.value)


def test_every_bad_variable_is_reported_at_once():
    with pytest.raises(ConfigError) as error:
        Settings.from_env({"CLICKTRAIL_SALT_ROTATION_HOUR": "x", "CLICKTRAIL_LOG_LEVEL": "y"})
    assert "CLICKTRAIL_SALT_ROTATION_HOUR" in str(error.value)
    assert "CLICKTRAIL_LOG_LEVEL" in str(error.value)


def test_trusted_proxies_parse():
    settings = Settings.from_env({"CLICKTRAIL_TRUSTED_PROXIES": "10.0.0.0/8, ::1"})
    assert [str(n) for n in settings.trusted_proxies] == ["10.0.0.0/8", "::1/128"]


def test_docs_list_every_variable_with_its_default():
    assert configuration_markdown() in DOCS.read_text(), "run: clicktrail config docs"


@pytest.mark.parametrize(
    "environ",
    [
        {},
        {
            "CLICKTRAIL_PORT_OFFSET": "300",
            "CLICKTRAIL_DATA_DIR": "/tmp/ct data",
            "CLICKTRAIL_EVENT_LOG_URL": "kafka://a:1,b:2/clicks",
            "CLICKTRAIL_CLICKHOUSE_URL": "clickhouse://app:s%40c:r%2Ft@db:9440/analytics",
            "CLICKTRAIL_TRUSTED_PROXIES": "10.0.0.0/8,::1",
            "CLICKTRAIL_PROFILE_INCLUDE_BOTS": "yes",
        },
        {"CLICKTRAIL_CLICKHOUSE_URL": "chdb:///srv/ch%20db?database=other"},
    ],
)
def test_to_env_gives_back_the_same_settings(environ):
    settings = Settings.from_env(environ)
    assert Settings.from_env(settings.to_env()) == settings


def test_overridden_data_dir_moves_the_defaults_with_it(tmp_path):
    settings = Settings.from_env({}, data_dir=tmp_path)
    assert settings.sites_file == tmp_path / "sites.json"
    assert settings.clickhouse_url == ChdbTarget(path=tmp_path / "chdb")


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        (
            {"CLICKTRAIL_PROFILE_COVIEW_NEIGHBOURS": "50"},
            "CLICKTRAIL_PROFILE_COVIEW_NEIGHBOURS: at most CLICKTRAIL_PROFILE_RECENT_PRODUCTS",
        ),
        (
            {"CLICKTRAIL_EVENT_LOG_URL": "kafka://k:1/e", "CLICKTRAIL_KAFKA_LINGER_MS": "50"},
            "CLICKTRAIL_KAFKA_LINGER_MS: must be less than CLICKTRAIL_ACK_TIMEOUT_MS",
        ),
        (
            {"CLICKTRAIL_EVENT_LOG_URL": "redis://127.0.0.1:17380/0?stream=e"},
            "CLICKTRAIL_EVENT_LOG_URL: must not be the profile Redis",
        ),
        (
            {"CLICKTRAIL_STATE_URL": "redis://127.0.0.1:17380/0"},
            "CLICKTRAIL_STATE_URL: must not be the profile Redis",
        ),
        ({"CLICKTRAIL_COLLECTOR_BIND": "localhost"}, "must be host:port"),
    ],
)
def test_rules_between_variables(environ, message):
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(environ)


def test_replace_checks_the_rules_too():
    with pytest.raises(ConfigError, match="COVIEW"):
        Settings.from_env({}).replace(profile_coview_neighbours=21)


def test_a_redis_log_with_a_long_linger_is_fine():
    assert Settings.from_env({"CLICKTRAIL_KAFKA_LINGER_MS": "500"}).kafka_linger_ms == 500


def test_every_variable_has_a_section_and_a_doc():
    from clicktrail.settings import SECTIONS, VARIABLES

    assert {v.section for v in VARIABLES} == set(SECTIONS)
    assert all(v.doc and v.name.startswith("CLICKTRAIL_") for v in VARIABLES)
    assert Settings.from_env({}).section("collector")["ack_timeout_ms"] == 50


def test_the_defaults_need_only_redis():
    assert needed_services(Settings.from_env({})) == ["redis-state", "redis-profile"]


def test_a_clickhouse_server_and_a_kafka_log_are_needed_when_named():
    settings = Settings.from_env(
        {
            "CLICKTRAIL_CLICKHOUSE_URL": "clickhouse://127.0.0.1:17900/clicktrail",
            "CLICKTRAIL_EVENT_LOG_URL": "kafka://127.0.0.1:17092/events",
        }
    )
    assert needed_services(settings) == ["redis-state", "redis-profile", "clickhouse", "kafka"]
