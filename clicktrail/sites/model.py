"""A site: who may send its events, and how they are treated. Pure: no files, no I/O."""

from __future__ import annotations

import functools
import hashlib
import hmac
import ipaddress
import re
import secrets
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

SITE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
CONSENT_POLICIES = ("opt_out", "opt_in")  # opt_in: nothing stored before consent is granted
URL_RULE_GROUPS = {"product": "sku", "category": "category"}


class SiteError(ValueError):
    """A site definition is invalid; the message names the site and the field."""


@dataclass(frozen=True)
class UrlRule:
    """``pattern`` (a regular expression searched in the URL path) names a product page with a
    ``(?P<sku>...)`` group or a category page with a ``(?P<category>...)`` group."""

    kind: str
    pattern: str

    def match(self, path: str) -> str | None:
        found = re.search(self.pattern, path)
        return found.group(URL_RULE_GROUPS[self.kind]) if found else None


@dataclass(frozen=True)
class Site:
    site_id: str
    name: str = ""
    origins: tuple[str, ...] = ()
    write_key_sha256: str | None = None
    timezone: str = "UTC"
    consent: str = "opt_out"
    honor_dnt: bool = True
    honor_gpc: bool = True
    internal_hosts: tuple[str, ...] = ()
    url_rules: tuple[UrlRule, ...] = ()
    ipv4_prefix: int = 24  # bits of an IPv4 address kept in storage
    ipv6_prefix: int = 48
    retention_days: int = 395
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def allows_origin(self, origin: str) -> bool:
        """Does a browser ``Origin`` header match one of the allowed origins?

        ``https://shop.example`` matches itself only; ``https://*.shop.example`` matches every
        subdomain (not the bare domain)."""
        try:
            scheme, host, port = _origin_parts(origin)
        except ValueError:
            return False
        for allowed in self.origins:
            a_scheme, a_host, a_port = _origin_parts(allowed)
            if (a_scheme, a_port) != (scheme, port):
                continue
            if a_host == host or (a_host.startswith("*.") and host.endswith(a_host[1:])):
                return True
        return False

    def accepts_write_key(self, key: str) -> bool:
        if not self.write_key_sha256 or not key:
            return False
        digest = hashlib.sha256(key.encode()).hexdigest()
        return hmac.compare_digest(digest, self.write_key_sha256)

    def truncate_ip(self, ip: str) -> str:
        """The address as stored: its host bits zeroed to the site's prefix.

        An IPv4-mapped IPv6 address (``::ffff:a.b.c.d``, what a dual-stack socket reports for
        an IPv4 client) is an IPv4 address and gets the IPv4 prefix. Text that is no address
        gives "": server-side senders state ``ip`` as free text, and whatever it holds must
        not reach storage untruncated."""
        try:
            address = ipaddress.ip_address(ip.strip())
        except (ValueError, AttributeError):
            return ""
        if address.version == 6 and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if address.version == 4:
            return str(ipaddress.IPv4Network((int(address), self.ipv4_prefix), strict=False)[0])
        # int() drops a zone ("fe80::1%eth0"): the zone names the receiving host's interface
        return str(ipaddress.IPv6Network((int(address), self.ipv6_prefix), strict=False)[0])

    def classify_path(self, path: str) -> dict[str, str]:
        """``sku`` and/or ``category`` from the first matching rule of each kind."""
        found: dict[str, str] = {}
        for rule in self.url_rules:
            group = URL_RULE_GROUPS[rule.kind]
            if group not in found and (value := rule.match(path)):
                found[group] = value
        return found

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("site_id")
        extra = data.pop("extra")
        data["origins"] = list(self.origins)
        data["internal_hosts"] = list(self.internal_hosts)
        data["url_rules"] = [asdict(rule) for rule in self.url_rules]
        return {**extra, **data}

    @classmethod
    def from_json(cls, site_id: str, data: Any) -> Site:
        """Validate one entry of the registry file; raises ``SiteError`` naming the field."""
        where = f"site {site_id!r}"
        if not SITE_ID.fullmatch(site_id):
            raise SiteError(f"{where}: the id must be 1-64 letters, digits, '-' or '_'")
        if not isinstance(data, dict):
            raise SiteError(f"{where}: must be an object")
        known = set(cls.__dataclass_fields__) - {"site_id", "extra"}
        values: dict[str, Any] = {name: data[name] for name in known if name in data}
        extra = {name: value for name, value in data.items() if name not in known}

        def check(name: str, ok: bool, expected: str) -> None:
            if name in values and not ok:
                raise SiteError(f"{where}: {name} must be {expected}, got {values[name]!r}")

        check("name", isinstance(values.get("name"), str), "a string")
        check("origins", _string_list(values.get("origins")), "a list of strings")
        for origin in values.get("origins", ()):
            try:
                _origin_parts(origin)
            except ValueError as exc:
                raise SiteError(f"{where}: origins: {exc}") from None
        key = values.get("write_key_sha256")
        check("write_key_sha256", key is None or _is_sha256(key), "null or 64 hex digits")
        check("timezone", _is_zone(values.get("timezone")), "an IANA time zone like Europe/Berlin")
        check("consent", values.get("consent") in CONSENT_POLICIES, " or ".join(CONSENT_POLICIES))
        for flag in ("honor_dnt", "honor_gpc"):
            check(flag, isinstance(values.get(flag), bool), "true or false")
        check("internal_hosts", _string_list(values.get("internal_hosts")), "a list of host names")
        check("ipv4_prefix", _int_between(values.get("ipv4_prefix"), 0, 32), "0-32")
        check("ipv6_prefix", _int_between(values.get("ipv6_prefix"), 0, 128), "0-128")
        check("retention_days", _int_between(values.get("retention_days"), 1, 36500), "1-36500")
        rules = values.get("url_rules", [])
        check("url_rules", isinstance(rules, list), "a list")
        values["url_rules"] = tuple(_url_rule(where, rule) for rule in rules)
        for name in ("origins", "internal_hosts"):
            if name in values:
                values[name] = tuple(values[name])
        return cls(site_id=site_id, extra=extra, **values)


def generate_write_key() -> tuple[str, str]:
    """A new secret write key and the SHA-256 the registry stores instead of it."""
    key = "ctk_" + secrets.token_urlsafe(32)
    return key, hashlib.sha256(key.encode()).hexdigest()


def _url_rule(where: str, rule: Any) -> UrlRule:
    if not isinstance(rule, dict) or set(rule) != {"kind", "pattern"}:
        raise SiteError(f"{where}: a url rule is {{'kind': ..., 'pattern': ...}}, got {rule!r}")
    kind, pattern = rule["kind"], rule["pattern"]
    if kind not in URL_RULE_GROUPS:
        raise SiteError(f"{where}: url rule kind must be product or category, got {kind!r}")
    try:
        compiled = re.compile(pattern)
    except (re.error, TypeError) as exc:
        raise SiteError(f"{where}: url rule pattern {pattern!r} is invalid: {exc}") from None
    if URL_RULE_GROUPS[kind] not in compiled.groupindex:
        group = URL_RULE_GROUPS[kind]
        raise SiteError(f"{where}: a {kind} rule needs a (?P<{group}>...) group: {pattern!r}")
    return UrlRule(kind, pattern)


@functools.lru_cache(maxsize=4096)  # a site's few origins are asked for on every request
def _origin_parts(origin: str) -> tuple[str, str, int]:
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"an origin is scheme://host[:port], got {origin!r}")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"an origin has no path or query, got {origin!r}")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return parts.scheme, parts.hostname, port


def _string_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) and item for item in value)


def _int_between(value: Any, low: int, high: int) -> bool:
    return type(value) is int and low <= value <= high


def _is_sha256(value: Any) -> bool:
    return isinstance(value, str) and re.fullmatch(r"[0-9a-f]{64}", value) is not None


def _is_zone(value: Any) -> bool:
    if not isinstance(value, str) or not value:
        return False
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True
