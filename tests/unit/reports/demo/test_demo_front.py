"""The demo front's headers: the visitor's stated address replaces whatever the browser put in
X-Forwarded-For, and hop-by-hop headers are not relayed."""

from __future__ import annotations

from reports.demo.front import relayed_headers


def test_the_front_states_the_address_and_drops_the_browsers_own() -> None:
    headers = relayed_headers(
        [
            ("Origin", "http://127.0.0.1:17082"),
            ("Cookie", "ct_vid=abc"),
            ("X-Forwarded-For", "1.2.3.4"),
            ("x-real-ip", "1.2.3.4"),
            ("Forwarded", "for=1.2.3.4"),
            ("Connection", "keep-alive"),
            ("Host", "127.0.0.1:17082"),
            ("Content-Length", "12"),
            ("Content-Type", "text/plain"),
        ],
        "85.214.132.117",
        "http",
    )
    assert headers == {
        "Origin": "http://127.0.0.1:17082",
        "Cookie": "ct_vid=abc",
        "Content-Type": "text/plain",
        "X-Forwarded-For": "85.214.132.117",
        "X-Forwarded-Proto": "http",
    }
