"""Host names: the registrable domain ("eTLD+1") of a host, from the Public Suffix List.

``shop.example.co.uk`` and ``www.example.co.uk`` share ``example.co.uk``; ``a.github.io`` and
``b.github.io`` do not (``github.io`` is a public suffix). The list is the one the
``publicsuffixlist`` package ships, updated with its releases; nothing is fetched at run time.
"""

from __future__ import annotations

import functools
import ipaddress

from publicsuffixlist import PublicSuffixList


@functools.cache
def _list() -> PublicSuffixList:
    return PublicSuffixList()  # parses the bundled list once: about 40 ms


def normalize_host(host: str) -> str:
    """Lower case, no trailing dot, no IPv6 brackets."""
    return host.strip().strip("[]").rstrip(".").lower()


@functools.lru_cache(maxsize=8192)
def registrable_domain(host: str) -> str:
    """The registrable domain of ``host`` (normalised first); an IP address, a bare public
    suffix or a single label (``localhost``) is its own."""
    host = normalize_host(host)
    if not host or _is_ip(host):
        return host
    return _list().privatesuffix(host) or host


@functools.lru_cache(maxsize=8192)
def public_suffix(host: str) -> str:
    host = normalize_host(host)
    if not host or _is_ip(host):
        return ""
    return _list().publicsuffix(host) or ""


def _is_ip(host: str) -> bool:
    if not (host[0].isdigit() or ":" in host):
        return False
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
