"""The cyclic garbage collector, tuned for a long-running process that loads a large, lasting
data set at start (a catalog, compiled expressions, modules) and then allocates short-lived
objects per request or batch, freed by reference counting.

Why: with CPython's defaults every collection of the oldest generation traverses everything
loaded at start. Measured (2026-12-03, docs/benchmarks.md): a full collection of a personalizer
holding a 50,000-product catalog takes ~120 ms, and one ran every ~15,000 decisions: a pause
of every thread of the worker, in the p99 of the decision endpoint. Objects frozen here are
still freed by reference counting when they go (a replaced catalog); only cycles among them
would stay, and the loaded data holds none.
"""

from __future__ import annotations

import gc

# Young objects allocated before a collection of the youngest generation (CPython: 700), and
# collections of each generation before one of the next (CPython: 10, 10). Per request the
# processes allocate a few thousand objects without cycles; collecting every few hundred
# allocations rescans the ones in flight again and again.
YOUNG_ALLOCATIONS = 50_000
OLDER_EVERY = 1_000
_frozen = False  # whether this process froze what it loaded (a served worker)


def freeze_loaded(young_allocations: int = YOUNG_ALLOCATIONS) -> None:
    """Collect once, move every object alive now out of the collector's view (``gc.freeze``),
    and collect the generations less often. Call after the lasting data is loaded; again
    after a large reload (the new copy is then frozen too)."""
    global _frozen
    gc.collect()
    gc.freeze()
    gc.set_threshold(young_allocations, OLDER_EVERY, OLDER_EVERY)
    _frozen = True


def refreeze() -> None:
    """Freeze what was loaded since the last freeze (a reloaded catalog), without a collection
    and without changing the thresholds: cheap enough for the thread that loaded it. Nothing
    in a process that never called ``freeze_loaded`` (a test, a command)."""
    if _frozen:
        gc.freeze()
