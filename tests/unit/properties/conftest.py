"""Hypothesis for the property tests: deterministic by default (``derandomize``: the same
examples on every run, so ``make test`` is reproducible in CI), a bounded number of examples,
no deadline (2 shared cores make timings noise). ``HYPOTHESIS_PROFILE=explore`` searches at
random with more examples and keeps what it finds in ``.cache/hypothesis`` (not committed)."""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis.database import DirectoryBasedExampleDatabase

ROOT = Path(__file__).parents[3]

settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.register_profile(
    "explore",
    max_examples=5000,
    deadline=None,
    database=DirectoryBasedExampleDatabase(ROOT / ".cache" / "hypothesis"),
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
