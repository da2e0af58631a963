"""Who a person is: the links followed, and those not followed (a shared computer)."""

from __future__ import annotations

import random

import pytest

from clicktrail.privacy.person import Link, Subject, SubjectError, expand, plan, start


def visitor(value: str) -> Subject:
    return Subject("shop", "visitor", value)


def user(value: str) -> Subject:
    return Subject("shop", "user", value)


LINKS = [
    Link("phone", "user", "alice"),
    Link("laptop", "user", "alice"),
    Link("laptop-other-domain", "visitor", "laptop"),  # a cross-domain id replaced laptop's
    Link("later-domain", "visitor", "laptop-other-domain"),
    Link("bob-phone", "user", "bob"),
]


def test_a_user_reaches_every_device_and_every_cross_domain_id():
    person = plan(user("alice"), LINKS)
    assert person.user_ids == {"alice"}
    assert person.visitor_ids == {"phone", "laptop", "laptop-other-domain", "later-domain"}


def test_a_visitor_reaches_its_user_and_the_users_other_devices():
    person = plan(visitor("later-domain"), LINKS)
    assert person.user_ids == {"alice"}
    assert person.visitor_ids == {"phone", "laptop", "laptop-other-domain", "later-domain"}


def test_an_unlinked_visitor_is_itself_alone():
    person = plan(visitor("stranger"), LINKS)
    assert person.visitor_ids == {"stranger"} and person.user_ids == frozenset()


def test_a_shared_computer_joins_no_other_user():
    links = [*LINKS, Link("library", "user", "alice"), Link("library", "user", "bob")]
    alice = plan(user("alice"), links)
    assert "library" in alice.visitor_ids and alice.shared_visitor_ids == {"library"}
    assert alice.user_ids == {"alice"} and "bob-phone" not in alice.visitor_ids
    # Asked for by the device's own id on the admin path (CLI, admin token): what it did under
    # every login goes.
    device = plan(visitor("library"), links)
    assert device.user_ids == {"alice", "bob"}
    assert {"phone", "bob-phone"} <= device.visitor_ids
    # Self-service, which proves only the device's cookie, follows no link (Eraser.forget with
    # follow_links=False): the device's own id alone.
    own = start(visitor("library"))
    assert own.visitor_ids == {"library"} and own.user_ids == frozenset()


def test_the_result_does_not_depend_on_link_order_or_rounds():
    links = [*LINKS, Link("library", "user", "alice"), Link("library", "user", "bob")]
    want = plan(user("alice"), links)
    shuffled = list(links)
    for seed in range(20):
        random.Random(seed).shuffle(shuffled)
        assert plan(user("alice"), shuffled) == want
    # Rounds as the warehouse side runs them: only the links of the ids found so far.
    person = start(user("alice"))
    for _ in range(10):
        known = person.visitor_ids | person.user_ids
        seen = [link for link in links if {link.visitor_id, link.linked_id} & known]
        person = expand(start(user("alice")), seen)
    assert person == want


@pytest.mark.parametrize(
    ("site", "kind", "value"),
    [
        ("bad site", "visitor", "v"),
        ("shop", "visitor", ""),
        ("shop", "user", "x" * 257),
        ("shop", "user", "a\nb"),
        ("shop", "device", "v"),
    ],
)
def test_a_bad_subject_is_a_clear_error(site, kind, value):
    with pytest.raises(SubjectError):
        Subject(site, kind, value)
