from __future__ import annotations

import importlib
import ipaddress

import pytest

from clicktrail.identity.client_ip import client_ip

PROXIES = [ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("::1/128")]


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("203.0.113.5", None, "203.0.113.5"),
        ("203.0.113.5", "198.51.100.1", "203.0.113.5"),  # untrusted peer: header ignored
        ("10.0.0.2", "198.51.100.1", "198.51.100.1"),
        ("10.0.0.2", "6.6.6.6, 198.51.100.1", "198.51.100.1"),  # client-written entry skipped
        ("10.0.0.2", "198.51.100.1, 10.0.0.9", "198.51.100.1"),  # chain of our proxies
        ("10.0.0.2", "garbage, 198.51.100.1", "198.51.100.1"),
        ("10.0.0.2", "198.51.100.1, garbage", "10.0.0.2"),  # unparsable nearest hop ends it
        ("10.0.0.2", "198.51.100.1:4711", "198.51.100.1"),
        ("10.0.0.2", "[2001:db8::7]:443", "2001:db8::7"),
        ("::1", "2001:db8::7", "2001:db8::7"),
        ("10.0.0.2", "10.0.0.3", "10.0.0.3"),  # only proxies: the farthest one
    ],
)
def test_client_ip(peer, forwarded, expected):
    assert client_ip(peer, forwarded, PROXIES) == expected


def test_no_trusted_proxies_means_the_peer():
    assert client_ip("10.0.0.2", "198.51.100.1", []) == "10.0.0.2"


def test_a_long_chain_is_read_alike_and_not_remembered():
    # the module, not the function the package exports under the same name
    module = importlib.import_module("clicktrail.identity.client_ip")

    chain = ", ".join(["garbage"] * 40 + ["198.51.100.1"] + ["10.0.0.9"] * 20)
    assert len(chain) > module._REMEMBERED_LENGTH
    remembered = module._remembered_walk.cache_info().currsize
    assert client_ip("10.0.0.2", chain, PROXIES) == "198.51.100.1"
    assert module._remembered_walk.cache_info().currsize == remembered


def test_an_answer_is_remembered_per_peer_header_and_proxies():
    # the same header from an untrusted peer, or with other proxies, is read again
    assert client_ip("10.0.0.2", "198.51.100.7", PROXIES) == "198.51.100.7"
    assert client_ip("203.0.113.5", "198.51.100.7", PROXIES) == "203.0.113.5"
    assert client_ip("10.0.0.2", "198.51.100.7", [ipaddress.ip_network("192.0.2.0/24")]) == (
        "10.0.0.2"
    )
