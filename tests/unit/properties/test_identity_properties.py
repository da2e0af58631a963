"""Visitor identity on any input: the cross-domain identifier, client addresses, request
facts, cookies and the resolution order never raise, and round-trip what they should."""

from __future__ import annotations

import ipaddress
import string

from hypothesis import assume, given
from hypothesis import strategies as st

from clicktrail.contract.linker import MAX_AGE_S, MAX_FUTURE_S, check_linker, make_linker
from clicktrail.contract.protocol import COLLECTOR_COOKIE
from clicktrail.identity import (
    client_ip,
    cookieless_id,
    request_facts,
    resolve,
    valid_visitor_id,
)
from clicktrail.sites.model import Site
from tests.unit.properties.strategies import ANY_TEXT, IDS

HEADER_TEXT = st.text(st.characters(min_codepoint=0, max_codepoint=255), max_size=80)  # latin-1
NOW_S = st.integers(min_value=0, max_value=2**40)
ADDRESSES = st.ip_addresses().map(str)
NETWORKS = st.lists(
    st.ip_addresses().map(lambda ip: ipaddress.ip_network(f"{ip}/{ip.max_prefixlen}")),
    max_size=3,
)
SITES = st.builds(
    Site,
    site_id=IDS,
    consent=st.sampled_from(["opt_out", "opt_in"]),
    honor_dnt=st.booleans(),
    honor_gpc=st.booleans(),
)


@given(IDS, NOW_S, ANY_TEXT)
def test_a_linker_round_trips_for_its_browser_within_its_life(visitor_id, now_s, user_agent):
    value = make_linker(visitor_id, now_s, user_agent)
    for later in (now_s, now_s + MAX_AGE_S, now_s - MAX_FUTURE_S):
        checked = check_linker(value, user_agent, later)
        assert (checked.visitor_id, checked.reason) == (visitor_id, "valid")
    assert check_linker(value, user_agent, now_s + MAX_AGE_S + 1).reason == "expired"
    assert check_linker(value, user_agent, now_s - MAX_FUTURE_S - 1).reason == "future"


@given(IDS, NOW_S, ANY_TEXT, ANY_TEXT)
def test_a_linker_of_another_browser_is_refused(visitor_id, now_s, user_agent, other):
    value = make_linker(visitor_id, now_s, user_agent)
    # FNV-1a over the whole text: two agents collide only if their hashes do
    assume(make_linker(visitor_id, now_s, other) != value)
    assert check_linker(value, other, now_s).visitor_id is None


@given(ANY_TEXT | st.from_regex(r"\A[A-Za-z0-9_-]{1,64}\.[0-9a-z]{1,8}\.[0-9a-f]{8}\Z"))
def test_any_linker_value_is_checked_without_raising(value):
    checked = check_linker(value, "agent", 1_764_000_000)
    assert checked.reason in ("valid", "malformed", "hash_mismatch", "expired", "future")
    assert (checked.visitor_id is not None) == (checked.reason == "valid")


@given(ANY_TEXT | ADDRESSES, st.none() | ANY_TEXT | st.lists(ADDRESSES).map(", ".join), NETWORKS)
def test_the_client_address_is_the_peer_or_a_forwarded_address(peer, forwarded, trusted):
    found = client_ip(peer, forwarded, trusted)
    assert found == peer or found in {str(ipaddress.ip_address(found))}


@given(ADDRESSES, st.lists(ADDRESSES, min_size=1, max_size=4))
def test_an_untrusted_peer_is_never_overridden(peer, hops):
    assert client_ip(peer, ", ".join(hops), []) == peer


@given(
    SITES,
    st.dictionaries(
        st.sampled_from(["User-Agent", "X-Forwarded-For", "DNT", "Sec-GPC"]), HEADER_TEXT
    ),
    st.dictionaries(st.sampled_from([COLLECTOR_COOKIE, "other"]), HEADER_TEXT),
    ANY_TEXT,
    NETWORKS,
)
def test_request_facts_never_raise_and_keep_only_a_valid_cookie(
    site, headers, cookies, peer, trusted
):
    facts = request_facts(
        site, peer=peer, headers=headers, cookies=cookies, trusted_proxies=trusted
    )
    assert facts.collector_cookie is None or valid_visitor_id(facts.collector_cookie)
    assert len(facts.user_agent) <= 1024
    if facts.collector_cookie is None and cookies.get(COLLECTOR_COOKIE):
        assert not valid_visitor_id(cookies[COLLECTOR_COOKIE])


@given(st.text(string.printable, max_size=70))
def test_a_valid_visitor_id_is_what_the_collector_could_make(value):
    assert valid_visitor_id(value) == (
        0 < len(value) <= 64
        and all(c in string.ascii_letters + string.digits + "_-" for c in value)
    )


@given(
    SITES,
    st.booleans(),
    st.none() | IDS,
    st.none() | IDS,
    st.none() | ANY_TEXT,
    st.none() | st.sampled_from(["granted", "denied"]),
    st.booleans(),
    st.booleans(),
    NOW_S,
)
def test_resolution_never_raises_and_follows_the_site_policy(
    site, server_side, event_visitor_id, cookie, linker, consent, dnt, gpc, now_s
):
    headers = {"User-Agent": "agent", "DNT": "1" if dnt else "0", "Sec-GPC": "1" if gpc else "0"}
    facts = request_facts(
        site,
        peer="192.0.2.1",
        headers=headers,
        cookies={COLLECTOR_COOKIE: cookie} if cookie else {},
        trusted_proxies=[],
        linker=linker,
        server_side=server_side,
    )
    identity = resolve(
        facts, event_visitor_id, consent, now_s * 1000, lambda: b"salt" * 8, lambda: "new1"
    )
    assert valid_visitor_id(identity.visitor_id)
    refused = (
        consent == "denied"
        or (site.honor_dnt and dnt)
        or (site.honor_gpc and gpc)
        or (site.consent == "opt_in" and consent != "granted")
    )
    if server_side:
        assert not identity.cookies_allowed
        assert identity.id_source == ("server" if event_visitor_id else "cookieless")
    elif refused:
        assert (identity.id_source, identity.cookies_allowed) == ("cookieless", False)
    else:
        assert identity.cookies_allowed
        assert identity.id_source in ("url", "cookie", "collector_cookie")


# Valid Unicode: the address and agent come from latin-1 headers or from an event's declared
# fields, which refuse lone surrogates (test_contract_properties covers them).
@given(st.binary(min_size=1, max_size=80), IDS, st.text(max_size=80), st.text(max_size=80))
def test_the_cookieless_id_is_a_stable_digest(salt, site_id, ip, user_agent):
    first = cookieless_id(salt, site_id, ip, user_agent)
    assert first == cookieless_id(salt, site_id, ip, user_agent)
    assert len(first) == 32 and set(first) <= set(string.hexdigits.lower())
