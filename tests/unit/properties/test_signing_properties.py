"""Signed impression and click URLs on any input: what is signed verifies to the same values;
any change to a signed value, the signature or the action is refused with ``SignatureError``;
any query at all is either verified or refused, never another exception."""

from __future__ import annotations

import dataclasses

from hypothesis import example, given
from hypothesis import strategies as st

from clicktrail.secrets.keyring import Keyring, SigningKey
from personalizer.signing import FIELDS, MAX_VALUE, SIGNATURE, SignatureError, Signed, sign, verify
from tests.unit.properties.strategies import ANY_TEXT

NOW = 1_780_000_000
KEY = SigningKey("k1", "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA", NOW - 100)
KEYRING = Keyring((KEY,), grace_seconds=86_400)
ACTIONS = st.sampled_from(["impression", "click"])
# What a query string decodes to (Werkzeug replaces undecodable bytes): any valid Unicode.
VALUES = st.text(max_size=MAX_VALUE)
SIGNED = st.builds(
    Signed,
    decision_id=VALUES,
    site_id=VALUES,
    campaign_id=VALUES,
    creative_id=VALUES,
    placement=VALUES,
    visitor_id=VALUES,
    holdout=st.booleans(),
    expires=st.integers(NOW, NOW + 10**9),
)
KEYS = [key for key, _ in FIELDS]
SIGNED_EXAMPLE = Signed("d1", "shop", "c1", "r1", "top", "v1", False, NOW + 60)


@given(ACTIONS, SIGNED)
def test_what_is_signed_verifies_to_the_same_values(action, signed):
    assert verify(action, sign(action, signed, KEYRING), KEYRING, NOW) == signed


@given(ACTIONS, SIGNED, st.sampled_from([*KEYS, SIGNATURE]), VALUES)
def test_any_changed_value_is_refused(action, signed, key, value):
    query = sign(action, signed, KEYRING)
    if query[key] == value:
        return
    query[key] = value
    try:
        verified = verify(action, query, KEYRING, NOW)
    except SignatureError:
        return
    # only a holdout flag spelled otherwise than "1" reads the same as "0": still unchanged
    assert key == "h" and verified == dataclasses.replace(signed, holdout=value == "1")
    raise AssertionError(f"a changed {key!r} was accepted")


@given(ACTIONS, SIGNED)
def test_a_signature_is_for_its_action_only(action, signed):
    other = "click" if action == "impression" else "impression"
    try:
        verify(other, sign(action, signed, KEYRING), KEYRING, NOW)
    except SignatureError:
        return
    raise AssertionError("an impression's signature verified a click")


@given(
    ACTIONS,
    st.dictionaries(st.sampled_from([*KEYS, SIGNATURE, "url"]) | ANY_TEXT, ANY_TEXT, max_size=10),
    st.sampled_from(["", "k1.", "nokey.", "k1"]),
)
def test_any_query_is_verified_or_refused(action, query, prefix):
    if SIGNATURE in query:
        query[SIGNATURE] = prefix + query[SIGNATURE]
    try:
        verify(action, query, KEYRING, NOW)
    except SignatureError as exc:
        assert str(exc)


@given(ACTIONS, SIGNED, ANY_TEXT)
@example("click", SIGNED_EXAMPLE, "\u00e9")  # found: TypeError (a 500) from compare_digest
def test_any_signature_with_a_known_key_id_is_refused(action, signed, mac):
    query = sign(action, signed, KEYRING)
    query[SIGNATURE] = f"{KEY.key_id}.{mac}"
    try:
        verify(action, query, KEYRING, NOW)
    except SignatureError:
        return
    raise AssertionError(f"a made-up signature {mac!r} verified")
