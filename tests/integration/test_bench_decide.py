"""``make bench-decide`` in miniature: a small world, each part run for a moment, to show the
benchmark runs end to end (the personalizer under gunicorn, wrk, the ceilings). No speed is
asserted: the figures of a smoke run mean nothing."""

from __future__ import annotations

import shutil

import pytest

from bench import decide

pytestmark = [pytest.mark.redis, pytest.mark.clickhouse]


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is installed by make bench-decide")
def test_the_decision_benchmark_runs_end_to_end():
    document = decide.main(["--smoke"])
    figures = document["figures"]
    for name in (
        "p50 ms at 1000 rps",
        "p99 ms at 1000 rps",
        "max decisions/s",
        "ratio to bare",
        "in-process p50 us",
    ):
        assert figures[name] > 0, name
    assert figures["non-200 answers (paced and max)"] == 0
    assert any("decision logging on" in note for note in document["notes"])
