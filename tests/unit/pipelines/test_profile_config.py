"""Profile configuration: defaults, validation, and the CLICKTRAIL_PROFILE_* variables."""

from __future__ import annotations

import pytest

from clicktrail.settings import ConfigError, Settings
from pipelines.profiles.config import DAY_MS, MINUTE_MS, ProfileConfig


def test_from_settings_reads_every_profile_variable():
    settings = Settings.from_env(
        {
            "CLICKTRAIL_PROFILE_HALF_LIFE_DAYS": "1.5",
            "CLICKTRAIL_PROFILE_RECENT_PRODUCTS": "12",
            "CLICKTRAIL_PROFILE_RECENT_CATEGORIES": "4",
            "CLICKTRAIL_PROFILE_PURCHASED_ITEMS": "6",
            "CLICKTRAIL_PROFILE_TTL_DAYS": "3",
            "CLICKTRAIL_PROFILE_INCLUDE_BOTS": "yes",
            "CLICKTRAIL_PROFILE_COVIEW_WINDOW_MINUTES": "10",
            "CLICKTRAIL_PROFILE_COVIEW_NEIGHBOURS": "12",
        }
    )
    config = ProfileConfig.from_settings(settings)
    assert config.half_life_ms == 1.5 * DAY_MS
    assert (config.recent_products, config.recent_categories, config.purchased_items) == (
        12,
        4,
        6,
    )
    assert config.ttl_ms == 3 * DAY_MS
    assert config.include_bots is True
    assert config.coview_window_ms == 10 * MINUTE_MS
    assert config.coview_neighbours == 12


def test_defaults_match_the_documented_ones():
    assert ProfileConfig.from_settings(Settings.from_env({})) == ProfileConfig()


def test_bad_values_name_the_variable():
    with pytest.raises(ConfigError, match="CLICKTRAIL_PROFILE_INCLUDE_BOTS"):
        Settings.from_env({"CLICKTRAIL_PROFILE_INCLUDE_BOTS": "maybe"})
    too_many = {
        "CLICKTRAIL_PROFILE_RECENT_PRODUCTS": "3",
        "CLICKTRAIL_PROFILE_COVIEW_NEIGHBOURS": "4",
    }
    # the settings may refuse the pair themselves (a cross-field rule), else the config must
    with pytest.raises(ConfigError, match="CLICKTRAIL_PROFILE_COVIEW_NEIGHBOURS"):
        ProfileConfig.from_settings(Settings.from_env(too_many))


def test_bounds_must_be_positive():
    with pytest.raises(ValueError, match="recent_products"):
        ProfileConfig(recent_products=0)


def test_remembered_event_ids_may_be_turned_off_but_not_negative():
    assert ProfileConfig().event_ids_kept == 256  # the snippet's whole queue (200) sent twice
    assert ProfileConfig(event_ids_kept=0).event_ids_kept == 0
    with pytest.raises(ValueError, match="event_ids_kept"):
        ProfileConfig(event_ids_kept=-1)


def test_the_event_ids_kept_follow_the_setting():
    settings = Settings.from_env({"CLICKTRAIL_PROFILE_EVENT_IDS_KEPT": "0"})
    assert ProfileConfig.from_settings(settings).event_ids_kept == 0
    assert ProfileConfig.from_settings(Settings.from_env({})).event_ids_kept == 256
