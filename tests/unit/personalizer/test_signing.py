"""Signed impression and click URLs: every tampering, expiry and key rotation is refused."""

from __future__ import annotations

import dataclasses
from urllib.parse import parse_qsl, urlencode

import pytest

from clicktrail.secrets.keyring import Keyring, SigningKey
from personalizer.signing import FIELDS, SignatureError, Signed, sign, signed_queries, verify

NOW = 1_780_000_000
SIGNED = Signed("dec-1", "shop", "spring", "spring-a", "top", "v1", False, NOW + 3600)
KEYRING = Keyring((SigningKey.new(NOW - 100),), grace_seconds=86_400)


def test_round_trip():
    query = sign("click", SIGNED, KEYRING)
    assert verify("click", query, KEYRING, NOW) == SIGNED


@pytest.mark.parametrize("key", [key for key, _ in FIELDS])
def test_any_changed_value_is_refused(key):
    query = sign("click", SIGNED, KEYRING)
    query[key] = query[key] + "x" if key != "h" else "1"
    with pytest.raises(SignatureError, match="bad signature|expiry"):
        verify("click", query, KEYRING, NOW)


def test_values_cannot_move_between_fields():
    shifted = Signed("dec-1s", "hop", *list(SIGNED.__dict__.values())[2:])
    query = sign("click", shifted, KEYRING)
    query["d"], query["s"] = "dec-1", "shop"  # the same characters, split differently
    with pytest.raises(SignatureError):
        verify("click", query, KEYRING, NOW)


def test_an_impression_signature_is_not_a_click_signature():
    with pytest.raises(SignatureError):
        verify("click", sign("impression", SIGNED, KEYRING), KEYRING, NOW)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda q: q.pop("sig"), "missing parameters: sig"),
        (lambda q: q.pop("c"), "missing parameters: c"),
        (lambda q: q.update(url="https://evil.example"), "unexpected parameters: url"),
        (lambda q: q.update(sig="nokey.abc"), "bad signature"),
        (lambda q: q.update(d="x" * 500), "too long"),
    ],
)
def test_malformed_queries(change, message):
    query = sign("click", SIGNED, KEYRING)
    change(query)
    with pytest.raises(SignatureError, match=message):
        verify("click", query, KEYRING, NOW)


def test_expired_links_are_refused():
    query = sign("click", SIGNED, KEYRING)
    with pytest.raises(SignatureError, match="expired"):
        verify("click", query, KEYRING, SIGNED.expires + 1)


def test_a_rotated_key_verifies_for_its_grace_only():
    query = sign("click", SIGNED, KEYRING)
    rotated = KEYRING.rotated(NOW)
    assert verify("click", query, rotated, NOW + 10) == SIGNED
    late = Signed(*list(SIGNED.__dict__.values())[:-1], NOW + 10 * 86_400)
    old_link = sign("click", late, KEYRING)
    with pytest.raises(SignatureError, match="retired"):
        verify("click", old_link, rotated, NOW + 2 * 86_400)


def test_the_signature_is_the_keyrings_and_follows_a_rotation():
    query = sign("impression", SIGNED, KEYRING)
    message = "".join(f"{len(p)}:{p}" for p in ["impression", *list(query.values())[:-1]])
    assert query["sig"] == KEYRING.sign(message.encode())
    newer = SigningKey.new(NOW)
    retired = dataclasses.replace(KEYRING.keys[0], retired_at=NOW)
    rotated = Keyring((retired, newer), grace_seconds=86_400)
    assert sign("impression", SIGNED, rotated)["sig"].startswith(f"{newer.key_id}.")
    assert sign("impression", SIGNED, rotated)["sig"] == rotated.sign(message.encode())


@pytest.mark.parametrize(
    "signed",
    [
        SIGNED,
        dataclasses.replace(SIGNED, holdout=True, visitor_id="a b+c", placement="ümlaut&=?#%"),
        dataclasses.replace(SIGNED, visitor_id="", creative_id="\x7f\n"),
    ],
)
def test_signed_queries_are_the_signed_urls_query_strings(signed):
    impression, click = signed_queries(signed, KEYRING)
    assert impression == urlencode(sign("impression", signed, KEYRING))
    assert click == urlencode(sign("click", signed, KEYRING))
    assert verify("click", dict(parse_qsl(click, keep_blank_values=True)), KEYRING, NOW) == signed
