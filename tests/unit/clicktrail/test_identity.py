from __future__ import annotations

import dataclasses

import pytest

from clicktrail.contract.linker import make_linker
from clicktrail.identity.visitor import RequestFacts, cookieless_id, resolve
from clicktrail.sites.model import Site

UA = "Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0.0.0"
NOW_MS = 1_764_000_000_000
SALT = b"s" * 32
SITE = Site("shop", origins=("https://shop.example.test",))
FACTS = RequestFacts(
    site=SITE,
    ip="203.0.113.5",
    user_agent=UA,
    collector_cookie=None,
    linker=None,
    do_not_track=False,
    global_privacy_control=False,
    server_side=False,
)


def facts(**changes) -> RequestFacts:
    return dataclasses.replace(FACTS, **changes)


def identify(request: RequestFacts, visitor: str | None = "snippet-id", consent=None):
    return resolve(request, visitor, consent, NOW_MS, lambda: SALT, lambda: "new-id")


def test_snippet_cookie_wins_over_the_collector_cookie():
    identity = identify(facts(collector_cookie="collector-id"))
    assert (identity.visitor_id, identity.id_source) == ("snippet-id", "cookie")


def test_collector_cookie_when_the_snippet_has_none():
    identity = identify(facts(collector_cookie="collector-id"), visitor=None)
    assert (identity.visitor_id, identity.id_source) == ("collector-id", "collector_cookie")


def test_a_new_collector_id_when_nothing_is_known():
    identity = identify(FACTS, visitor=None)
    assert (identity.visitor_id, identity.id_source, identity.cookies_allowed) == (
        "new-id",
        "collector_cookie",
        True,
    )


def test_a_valid_cross_domain_identifier_wins_and_records_the_replaced_id():
    linker = make_linker("linked-id", NOW_MS // 1000 - 30, UA)
    identity = identify(facts(linker=linker, collector_cookie="collector-id"))
    assert identity.visitor_id == "linked-id"
    assert identity.id_source == "url"
    assert identity.replaced_visitor_id == "snippet-id"


def test_the_same_id_arriving_by_url_replaces_nothing():
    linker = make_linker("snippet-id", NOW_MS // 1000, UA)
    assert identify(facts(linker=linker)).replaced_visitor_id is None


@pytest.mark.parametrize(
    "linker",
    [
        make_linker("linked-id", NOW_MS // 1000 - 301, UA),  # expired
        make_linker("linked-id", NOW_MS // 1000, UA + "x"),  # another browser
        make_linker("linked-id", NOW_MS // 1000, UA).replace("linked", "linkex"),  # tampered
        "garbage",
    ],
)
def test_an_invalid_identifier_falls_back_to_the_next_source(linker):
    identity = identify(facts(linker=linker))
    assert (identity.visitor_id, identity.id_source) == ("snippet-id", "cookie")


@pytest.mark.parametrize(
    ("site", "request_facts", "consent"),
    [
        (SITE, {}, "denied"),
        (SITE, {"do_not_track": True}, None),
        (SITE, {"global_privacy_control": True}, "granted"),
        (dataclasses.replace(SITE, consent="opt_in"), {}, None),
    ],
)
def test_refused_cookies_give_the_cookieless_id(site, request_facts, consent):
    request = facts(site=site, collector_cookie="collector-id", **request_facts)
    identity = identify(request, consent=consent)
    assert identity.id_source == "cookieless"
    assert identity.cookies_allowed is False
    assert identity.visitor_id == cookieless_id(SALT, "shop", "203.0.113.5", UA)


@pytest.mark.parametrize(
    ("site", "request_facts", "consent"),
    [
        (dataclasses.replace(SITE, honor_dnt=False), {"do_not_track": True}, None),
        (dataclasses.replace(SITE, honor_gpc=False), {"global_privacy_control": True}, None),
        (dataclasses.replace(SITE, consent="opt_in"), {}, "granted"),
    ],
)
def test_signals_the_site_does_not_honour_keep_cookies(site, request_facts, consent):
    identity = identify(facts(site=site, **request_facts), consent=consent)
    assert identity.id_source == "cookie"


def test_cookieless_id_changes_with_the_salt_and_hides_its_inputs():
    first = cookieless_id(SALT, "shop", "203.0.113.5", UA)
    assert cookieless_id(b"t" * 32, "shop", "203.0.113.5", UA) != first
    assert cookieless_id(SALT, "other", "203.0.113.5", UA) != first
    assert "203" not in first and len(first) == 32


def test_the_salt_is_fetched_only_when_needed():
    def no_salt() -> bytes:
        raise AssertionError("salt fetched for a cookie visitor")

    resolve(FACTS, "snippet-id", None, NOW_MS, no_salt, lambda: "new-id")


def test_server_side_senders_name_their_visitors():
    identity = identify(facts(server_side=True))
    assert (identity.id_source, identity.cookies_allowed) == ("server", False)
    anonymous = identify(facts(server_side=True), visitor=None)
    assert anonymous.id_source == "cookieless"
