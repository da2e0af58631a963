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
