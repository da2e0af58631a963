"""``clicktrail simulate`` end to end: files, determinism, options, sending."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from clicktrail.contract.envelope import parse_batch
from clicktrail.simulator.command import simulate
from clicktrail.simulator.output import read_batches


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(simulate, list(args))
    return result.exit_code, result.stdout, result.stderr


def _files(tmp_path: Path, name: str, db: Path, *extra: str) -> tuple[bytes, bytes]:
    out, truth = tmp_path / f"{name}.jsonl", tmp_path / f"{name}.json"
    code, _, err = _run(
        "--visitors", "80", "--days", "3", "--geoip-db", str(db),
        "--out", str(out), "--truth", str(truth), *extra,
    )  # fmt: skip
    assert code == 0, err
    assert "generated" in err
    return out.read_bytes(), truth.read_bytes()


def test_same_seed_same_bytes_other_seed_other_traffic(tmp_path: Path, small_geoip_db: Path):
    first = _files(tmp_path, "a", small_geoip_db, "--seed", "42")
    again = _files(tmp_path, "b", small_geoip_db, "--seed", "42")
    other = _files(tmp_path, "c", small_geoip_db, "--seed", "43")
    assert first == again
    assert first[0] != other[0] and first[1] != other[1]


def test_options_shape_the_output(tmp_path: Path, small_geoip_db: Path):
    batches, truth = _files(
        tmp_path, "x", small_geoip_db,
        "--site", "my-shop", "--start", "2024-02-28", "--batch-size", "5",
    )  # fmt: skip
    envelopes = read_batches(tmp_path / "x.jsonl")
    assert len(envelopes) == batches.count(b"\n")
    assert all(envelope["site_id"] == "my-shop" for envelope in envelopes)
    assert max(len(envelope["events"]) for envelope in envelopes) == 5
    assert all(not parse_batch(json.dumps(e).encode()).rejected for e in envelopes)
    document = json.loads(truth)
    assert document["start"] == "2024-02-28"
    assert (document["days"], document["site_id"]) == (3, "my-shop")
    first = min(event["created_at"] for e in envelopes for event in e["events"])
    assert first >= 1_709_078_400_000  # 2024-02-28T00:00Z


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "--out FILE, --collector URL"),
        (("--collector", "http://127.0.0.1:1"), "--collector needs --write-key"),
        (("--collector", "ftp://x", "--write-key", "k"), "collector URL"),
        (("--out", "x.jsonl", "--start", "yesterday"), "ISO date"),
        (("--out", "x.jsonl", "--site", "bad site"), "letters, digits"),
        (("--out", "x.jsonl", "--batch-size", "101"), "101"),
    ],
)
def test_bad_options_are_refused(args: tuple[str, ...], message: str, small_geoip_db: Path):
    code, _, err = _run("--geoip-db", str(small_geoip_db), *args)
    assert code == 2
    assert message in err


@pytest.fixture
def accepting_collector() -> Iterator[tuple[str, list[bytes]]]:
    bodies: list[bytes] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, *args) -> None:
            pass

        def do_POST(self) -> None:  # noqa: N802 - the http.server API
            body = self.rfile.read(int(self.headers["Content-Length"]))
            bodies.append(body)
            payload = json.dumps({"accepted": len(parse_batch(body).events), "rejected": []})
            self.send_response(202)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload.encode())

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", bodies
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_sends_to_a_collector(small_geoip_db: Path, accepting_collector, tmp_path: Path):
    url, bodies = accepting_collector
    out = tmp_path / "sent.jsonl"
    code, stdout, err = _run(
        "--visitors", "30", "--days", "2", "--geoip-db", str(small_geoip_db),
        "--collector", url, "--write-key", "k", "--concurrency", "2", "--out", str(out),
    )  # fmt: skip
    assert code == 0, err
    events = sum(len(json.loads(body)["events"]) for body in bodies)
    assert f"sent {events} events in {len(bodies)} batches" in stdout
    assert f"accepted {events}, rejected 0, failed 0" in stdout
    assert sorted(bodies) == sorted(out.read_bytes().splitlines())
