from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from clicktrail.cli import cli
from clicktrail.sites.model import Site, SiteError, generate_write_key
from clicktrail.sites.registry import SiteRegistry, edit_sites, parse_sites, read_sites

SHOP = {
    "origins": ["https://shop.example.test", "https://*.shop.example.test"],
    "timezone": "Europe/Berlin",
    "url_rules": [
        {"kind": "product", "pattern": "^/p/(?P<sku>[^/]+)"},
        {"kind": "category", "pattern": "^/c/(?P<category>[^?]+)"},
    ],
}


def shop(**changes) -> Site:
    return Site.from_json("shop", {**SHOP, **changes})


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("https://shop.example.test", True),
        ("https://shop.example.test:443", True),
        ("https://www.shop.example.test", True),
        ("https://a.b.shop.example.test", True),
        ("http://shop.example.test", False),
        ("https://shop.example.test:8443", False),
        ("https://evilshop.example.test", False),
        ("https://shop.example.test.evil.test", False),
        ("null", False),
        ("", False),
    ],
)
def test_origins(origin, allowed):
    assert shop().allows_origin(origin) is allowed


def test_write_key_is_stored_as_a_digest():
    key, digest = generate_write_key()
    site = shop(write_key_sha256=digest)
    assert site.accepts_write_key(key)
    assert not site.accepts_write_key(key + "x")
    assert not site.accepts_write_key("")
    assert key not in json.dumps(site.to_json())
    assert not shop().accepts_write_key(key)  # no key configured: server-side writes refused


@pytest.mark.parametrize(
    ("ip", "stored"),
    [
        ("203.0.113.77", "203.0.113.0"),
        ("2001:db8:1234:5678::1", "2001:db8:1234::"),
    ],
)
def test_ip_truncation(ip, stored):
    assert shop().truncate_ip(ip) == stored
    assert shop(ipv4_prefix=32, ipv6_prefix=128).truncate_ip(ip) == ip


@pytest.mark.parametrize(
    ("ip", "v4", "v6", "stored"),
    [
        ("203.0.113.77", 16, 48, "203.0.0.0"),
        ("203.0.113.77", 0, 48, "0.0.0.0"),
        ("2001:db8:1234:5678::1", 24, 64, "2001:db8:1234:5678::"),
        ("2001:db8:1234:5678::1", 24, 0, "::"),
        ("2001:DB8:1234:5678::1", 24, 128, "2001:db8:1234:5678::1"),
        # An IPv4 client seen through a dual-stack socket is an IPv4 address: the IPv4 prefix.
        ("::ffff:203.0.113.77", 24, 128, "203.0.113.0"),
        ("::ffff:203.0.113.77", 24, 48, "203.0.113.0"),
        ("fe80::1:2:3:4%eth0", 24, 48, "fe80::"),  # the zone is dropped
        (" 203.0.113.77\n", 24, 48, "203.0.113.0"),
    ],
)
def test_ip_truncation_prefixes(ip, v4, v6, stored):
    assert shop(ipv4_prefix=v4, ipv6_prefix=v6).truncate_ip(ip) == stored


@pytest.mark.parametrize(
    "ip", ["", "unknown", "203.0.113", "203.0.113.300", "203.0.113.0/24", "1.2.3.4:5678",
           "2001:db8::1::2", "[2001:db8::1]", "\x00", "\ud800", "203.0.113.77 evil"],
)  # fmt: skip
def test_text_that_is_no_address_is_not_stored(ip):
    assert shop().truncate_ip(ip) == ""


def test_url_rules():
    assert shop().classify_path("/p/SKU-1/reviews") == {"sku": "SKU-1"}
    assert shop().classify_path("/c/shoes/running") == {"category": "shoes/running"}
    assert shop().classify_path("/about") == {}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"origins": ["shop.example.test"]}, "origins"),
        ({"origins": ["https://shop.example.test/path"]}, "no path"),
        ({"timezone": "Mars/Base"}, "timezone"),
        ({"consent": "maybe"}, "consent"),
        ({"honor_dnt": "yes"}, "honor_dnt"),
        ({"ipv4_prefix": 33}, "ipv4_prefix"),
        ({"retention_days": 0}, "retention_days"),
        ({"write_key_sha256": "plain-text-key"}, "write_key_sha256"),
        ({"url_rules": [{"kind": "product", "pattern": "^/p/(.+)"}]}, "(?P<sku>"),
        ({"url_rules": [{"kind": "product", "pattern": "(?P<sku>["}]}, "invalid"),
        ({"url_rules": [{"kind": "brand", "pattern": "x"}]}, "kind"),
    ],
)
def test_invalid_sites_name_the_field(changes, message):
    with pytest.raises(SiteError) as error:
        shop(**changes)
    assert "site 'shop'" in str(error.value)
    assert message in str(error.value)


def test_unknown_fields_survive_a_round_trip():
    site = shop(owner="marketing")
    assert site.to_json()["owner"] == "marketing"
    assert Site.from_json("shop", site.to_json()) == site


def test_registry_file_round_trip(tmp_path):
    path = tmp_path / "sites.json"
    with edit_sites(path) as sites:
        sites["shop"] = shop()
    assert read_sites(path) == {"shop": shop()}
    assert parse_sites(path.read_text())["shop"].timezone == "Europe/Berlin"


def test_a_failed_edit_writes_nothing(tmp_path):
    path = tmp_path / "sites.json"
    with edit_sites(path) as sites:
        sites["shop"] = shop()
    before = path.read_text()
    with pytest.raises(RuntimeError), edit_sites(path) as sites:
        sites.clear()
        raise RuntimeError("abort")
    assert path.read_text() == before


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_registry_picks_up_changes_after_the_reload_interval(tmp_path):
    path = tmp_path / "sites.json"
    clock = FakeClock()
    registry = SiteRegistry(path, reload_seconds=1.0, clock=clock)
    assert registry.get("shop") is None
    with edit_sites(path) as sites:
        sites["shop"] = shop()
    assert registry.get("shop") is None  # not yet due
    clock.now = 1.0
    assert registry.get("shop") == shop()


def test_an_invalid_file_keeps_the_last_good_registry(tmp_path, caplog):
    path = tmp_path / "sites.json"
    with edit_sites(path) as sites:
        sites["shop"] = shop()
    clock = FakeClock()
    registry = SiteRegistry(path, reload_seconds=0.5, clock=clock)
    path.write_text('{"version": 1, "sites": {"shop": {"timezone": "Nowhere/Land"}}}')
    clock.now = 1.0
    assert registry.get("shop") == shop()
    assert "keeping the previous one" in caplog.text


def test_an_invalid_file_at_start_raises(tmp_path):
    path = tmp_path / "sites.json"
    path.write_text("{not json")
    with pytest.raises(SiteError, match="not valid JSON"):
        SiteRegistry(path)


def test_cli_manages_sites(tmp_path):
    runner = CliRunner()
    env = {"CLICKTRAIL_DATA_DIR": str(tmp_path)}
    added = runner.invoke(
        cli,
        [
            "sites",
            "add",
            "shop",
            "--origin",
            "https://shop.example.test",
            "--consent",
            "opt_in",
            "--url-rule",
            "product=^/p/(?P<sku>[^/]+)",
        ],
        env=env,
    )
    assert added.exit_code == 0, added.output
    key = added.output.split()[-1]
    site = read_sites(tmp_path / "sites.json")["shop"]
    assert site.accepts_write_key(key) and site.consent == "opt_in"

    updated = runner.invoke(cli, ["sites", "update", "shop", "--ignore-dnt"], env=env)
    assert updated.exit_code == 0, updated.output
    site = read_sites(tmp_path / "sites.json")["shop"]
    assert site.honor_dnt is False and site.consent == "opt_in"

    rotated = runner.invoke(cli, ["sites", "rotate-key", "shop"], env=env)
    new_key = rotated.output.split()[-1]
    site = read_sites(tmp_path / "sites.json")["shop"]
    assert site.accepts_write_key(new_key) and not site.accepts_write_key(key)

    bad = runner.invoke(cli, ["sites", "update", "shop", "--timezone", "Mars/Base"], env=env)
    assert bad.exit_code != 0 and "timezone" in bad.output
    duplicate = runner.invoke(cli, ["sites", "add", "shop"], env=env)
    assert duplicate.exit_code != 0 and "exists" in duplicate.output

    listed = runner.invoke(cli, ["sites", "list"], env=env)
    assert listed.output.startswith("shop\topt_in")
    assert runner.invoke(cli, ["sites", "validate"], env=env).exit_code == 0
    assert runner.invoke(cli, ["sites", "remove", "shop"], env=env).exit_code == 0
    assert read_sites(tmp_path / "sites.json") == {}
