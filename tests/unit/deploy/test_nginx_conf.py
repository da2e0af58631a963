"""deploy/nginx/clicktrail.conf passes ``nginx -t`` with a throwaway self-signed certificate, and
routes as docs/personalizer.md says."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

CONF = Path(__file__).parents[3] / "deploy" / "nginx" / "clicktrail.conf"


def _certificate(folder: Path) -> tuple[Path, Path]:
    """A throwaway self-signed certificate (openssl, as bench/harness does)."""
    cert, key = folder / "test.pem", folder / "test.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
        + ["-nodes", "-days", "1", "-subj", "/CN=collect.shop.example"]
        + ["-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key


def _nginx_t(tmp_path: Path, site: str) -> subprocess.CompletedProcess[str]:
    cert, key = _certificate(tmp_path)
    site = re.sub(r"/etc/ssl/clicktrail/\S+\.pem", str(cert), site)
    site = re.sub(r"/etc/ssl/clicktrail/\S+\.key", str(key), site)
    site = site.replace("/var/log/nginx/", f"{tmp_path}/")
    (tmp_path / "site.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\n"
        f"error_log {tmp_path}/error.log;\n"
        "events {}\n"
        f"http {{\n    access_log {tmp_path}/access.log;\n    include {tmp_path}/site.conf;\n}}\n"
    )
    return subprocess.run(
        [
            "nginx",
            "-t",
            "-p",
            str(tmp_path),
            "-e",
            str(tmp_path / "error.log"),
            "-c",
            str(tmp_path / "nginx.conf"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )


needs_nginx = pytest.mark.skipif(
    shutil.which("nginx") is None or shutil.which("openssl") is None,
    reason="nginx or openssl is not installed (Debian packages nginx, openssl)",
)


@needs_nginx
def test_nginx_accepts_the_configuration(tmp_path: Path):
    done = _nginx_t(tmp_path, CONF.read_text())
    assert done.returncode == 0, done.stderr
    assert "syntax is ok" in done.stderr


@needs_nginx
def test_nginx_t_fails_on_a_broken_configuration(tmp_path: Path):
    # The check above can fail: a missing brace is refused.
    done = _nginx_t(tmp_path, CONF.read_text().replace("keepalive 64;\n}", "keepalive 64;", 1))
    assert done.returncode != 0


def _server(name: str) -> str:
    text = CONF.read_text()
    start = text.index(f"server_name {name};")
    end = text.find("\nserver {", start)
    return text[start : end if end > 0 else len(text)]


def test_the_personalizers_browser_paths_go_to_the_personalizer():
    collect = _server("collect.shop.example")
    for location in ("location = /v1/decide {", "location ^~ /v1/pz/ {"):
        block = collect[collect.index(location) :].split("}", 1)[0]
        assert "proxy_pass http://clicktrail_personalizer;" in block
    default = collect[collect.index("location / {") :].split("}", 1)[0]
    assert "proxy_pass http://clicktrail_collector;" in default


def test_the_client_address_is_set_by_nginx_not_taken_from_the_client():
    for name in ("collect.shop.example", "reports.shop.example"):
        server = _server(name)
        assert "proxy_set_header X-Forwarded-For $remote_addr;" in server
        assert "ssl_certificate " in server
        assert "location = /metrics {\n        return 404;" in server


def test_upstreams_are_the_services_default_ports():
    from clicktrail import ports

    text = CONF.read_text()
    for upstream, port in (
        ("clicktrail_collector", "collector"),
        ("clicktrail_personalizer", "personalizer"),
        ("clicktrail_reports", "reports"),
    ):
        block = text[text.index(f"upstream {upstream} {{") :].split("}", 1)[0]
        assert f"server 127.0.0.1:{ports.BASE_PORTS[port]};" in block


def test_no_server_logs_a_raw_client_address():
    """Each server says where its access log goes (none inherits the host's, which logs the
    full address): off, or the anonymized format; and errors at level error (docs/privacy.md)."""
    text = CONF.read_text()
    formats = re.findall(r"log_format (\S+)\s+([^;]+);", text)
    assert [name for name, _ in formats] == ["clicktrail_anonymized"]
    assert "$remote_addr" not in formats[0][1] and "$request " not in formats[0][1]
    assert "$clicktrail_client_network" in formats[0][1]
    servers = text.split("\nserver {")[1:]
    assert len(servers) == 3
    for server in servers:
        logs = re.findall(r"^\s*access_log ([^;]+);", server, re.M)
        assert logs in (["off"], ["/var/log/nginx/clicktrail-access.log clicktrail_anonymized"])
        errors = re.findall(r"^\s*error_log ([^;]+);", server, re.M)
        assert errors == ["/var/log/nginx/clicktrail-error.log error"]


def test_logs_are_rotated_within_the_event_logs_retention():
    from clicktrail.settings import Settings

    rotate = (CONF.parent / "logrotate").read_text()
    assert "/var/log/nginx/*.log {" in rotate and "\tdaily\n" in rotate
    kept = int(re.search(r"^\s*rotate (\d+)$", rotate, re.M)[1])  # type: ignore[index]
    days = Settings.from_env({}).event_log_retention_hours / 24  # the default
    assert kept + 1 <= days  # today's file and the rotated ones
    assert int(re.search(r"^\s*maxage (\d+)$", rotate, re.M)[1]) <= days  # type: ignore[index]
