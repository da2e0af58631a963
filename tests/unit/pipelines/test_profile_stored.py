"""The stored format: the Lua scripts use exactly the names ``stored.py`` declares, and its
codecs read what the scripts write."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pipelines.profiles import stored

SCRIPTS = Path(stored.__file__).parent
LITERAL = re.compile(r"'((?:[^'\\]|\\.)*)'")

# Literals of the scripts that name nothing stored: replies, Lua string patterns, formats.
NOT_STORED = {"ok", "split", "dup", "", "%S+", "^(%d+)-(%d+)$", "^%[(%d+)", "%d", "%d-%d"}

DECLARED = (
    stored.PROFILE_FIELDS
    | stored.VISITOR_FIELDS
    | {stored.WATERMARK, *stored.KINDS, f"{stored.VISITOR}:", f"{stored.USER}:"}
    | {":"}  # between a key's parts
)


def names_in(script: str) -> set[str]:
    """String literals of a script that are not Redis commands or options (upper case)."""
    code = re.sub(r"--[^\n]*", "", (SCRIPTS / script).read_text())  # comments quote names
    literals = set(LITERAL.findall(code))
    return {text for text in literals if not re.fullmatch(r"[A-Z_]+", text)} - NOT_STORED


@pytest.mark.parametrize("script", ["apply.lua", "read.lua"])
def test_every_name_a_script_uses_is_declared(script: str):
    assert names_in(script) - DECLARED == set()


def test_every_declared_name_is_written_by_the_script():
    assert DECLARED - names_in("apply.lua") == set()


def test_the_reader_follows_the_links_the_writer_sets():
    assert names_in("read.lua") == {stored.MOVED_TO, stored.REDIRECT}


def test_key_layout():
    assert stored.visitor_key("shop", "a:b") == "profile:shop:v:a:b"
    assert stored.user_key("shop", "jane") == "profile:shop:u:jane"
    assert stored.sessions_key("profile:shop:u:jane") == "sessions:shop:u:jane"
    assert stored.seen_key("profile:shop:v:a:b") == "seen:shop:v:a:b"
    assert stored.coview_key("shop", "sku 1") == "coview:shop:sku 1"
    assert stored.site_patterns("shop") == [
        "profile:shop:*",
        "sessions:shop:*",
        "seen:shop:*",
        "coview:shop:*",
    ]
    assert stored.watermark_field("events/3") == "wm:events/3"
    assert stored.SITE_ID.fullmatch("my-shop_2") and not stored.SITE_ID.fullmatch("a:v:b")


def test_values_decode_as_the_script_encodes_them():
    # cjson escapes "/" and passes UTF-8 through
    assert stored.decode_recent('[["B\\/Fiction",9],["Bücher",8]]') == (
        ("B/Fiction", 9),
        ("Bücher", 8),
    )
    assert stored.decode_recent(None) == stored.decode_recent("") == ()
    assert stored.decode_scores('{"Books":1.5,"Garden":2}') == {"Books": 1.5, "Garden": 2.0}
    assert stored.decode_scores("{}") == stored.decode_scores("[]") == stored.decode_scores(None)
    with pytest.raises(ValueError, match="JSON object"):
        stored.decode_scores("[1]")
    assert stored.decode_location('[5,"CH","ZH","Zürich",47.3769,8.5417]') == (
        5,
        "CH",
        "ZH",
        "Zürich",
        47.3769,
        8.5417,
    )
    assert stored.decode_location('[5,"DE","","",0,0]')[4:] == (0.0, 0.0)
    assert stored.decode_device('[5,"mobile","Safari","iOS"]') == (5, "mobile", "Safari", "iOS")
    assert stored.decode_watermark("1042-7") == (1042, 7)


def test_location_and_device_encode_compactly_and_keep_non_ascii():
    # the script breaks ties at equal times by comparing these strings: one encoding only
    assert stored.encode_array([5, "CH", "ZH", "Zürich", 47.3769, 8.5417]) == (
        '[5,"CH","ZH","Zürich",47.3769,8.5417]'
    )
    values = (5, "mobile", "Safari", "iOS")
    assert stored.decode_device(stored.encode_array(values)) == values


def test_an_event_is_remembered_by_its_id_and_device_time():
    # the warehouse's dedup key within a visitor: the same id at another time is another event
    one = stored.event_id_hash("019ab4f1-0001-7000-8000-000000000001", 1764000001000)
    assert len(one) == stored.EVENT_ID_BYTES
    assert one == stored.event_id_hash("019ab4f1-0001-7000-8000-000000000001", 1764000001000)
    assert one != stored.event_id_hash("019ab4f1-0001-7000-8000-000000000001", 1764000001001)
    assert one != stored.event_id_hash("019ab4f1-0001-7000-8000-000000000002", 1764000001000)
