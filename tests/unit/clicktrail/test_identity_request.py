"""Request parts to facts to a visitor, with no web framework: what the collector and the
decision service share."""

from __future__ import annotations

import ipaddress

import pytest

from clicktrail.contract.linker import make_linker
from clicktrail.contract.protocol import COLLECTOR_COOKIE
from clicktrail.identity import request_facts, resolve, valid_visitor_id
from clicktrail.sites.model import Site

UA = "Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0.0.0"
SITE = Site("shop", origins=("https://shop.example.test",))
PROXY = (ipaddress.ip_network("10.0.0.0/8"),)
NOW_MS = 1_764_000_000_000


def facts(headers=None, cookies=None, peer="10.1.2.3", **kwargs):
    return request_facts(
        SITE,
        peer=peer,
        headers={"User-Agent": UA, **(headers or {})},
        cookies=cookies or {},
        trusted_proxies=PROXY,
        **kwargs,
    )


def test_a_trusted_proxy_names_the_client():
    assert facts({"X-Forwarded-For": "198.51.100.7, 10.0.0.2"}).ip == "198.51.100.7"
    assert facts({"X-Forwarded-For": "198.51.100.7"}, peer="203.0.113.9").ip == "203.0.113.9"


@pytest.mark.parametrize(
    ("cookie", "kept"),
    [("abc_DEF-123", True), ("", False), ("x" * 65, False), ("a b", False), ("é", False)],
)
def test_only_a_well_formed_collector_cookie_is_believed(cookie, kept):
    assert (facts(cookies={COLLECTOR_COOKIE: cookie}).collector_cookie == cookie) is kept
    assert valid_visitor_id(cookie) is kept


def test_privacy_signals_and_a_long_user_agent():
    seen = facts({"DNT": "1", "Sec-GPC": "1", "User-Agent": "x" * 5000})
    assert seen.do_not_track and seen.global_privacy_control
    assert len(seen.user_agent) == 1024


def test_the_same_visitor_whatever_service_asks():
    """The collector set the cookie; a later decision request carrying it is the same person,
    and a cross-domain identifier wins over it as it does at the collector."""
    cookie_only = facts(cookies={COLLECTOR_COOKIE: "v_123"})
    identity = resolve(cookie_only, None, None, NOW_MS, lambda: b"s" * 32, lambda: "new")
    assert (identity.visitor_id, identity.id_source) == ("v_123", "collector_cookie")

    linker = make_linker("v_linked", NOW_MS // 1000, UA)
    linked = facts(cookies={COLLECTOR_COOKIE: "v_123"}, linker=linker)
    identity = resolve(linked, None, None, NOW_MS, lambda: b"s" * 32, lambda: "new")
    assert (identity.visitor_id, identity.replaced_visitor_id) == ("v_linked", "v_123")
