"""What a served worker does with the cyclic garbage collector after loading (heap.py)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from clicktrail.serving import heap


@pytest.fixture
def collector_restored() -> Iterator[None]:
    thresholds = gc.get_threshold()
    gc.unfreeze()
    heap._frozen = False
    yield
    gc.unfreeze()  # the test process keeps collecting everything, as before
    gc.set_threshold(*thresholds)
    heap._frozen = False


def test_freeze_loaded_moves_what_is_alive_out_of_collection(collector_restored: None) -> None:
    loaded = [[n] for n in range(1000)]  # lists: always tracked (small dicts may not be)
    heap.freeze_loaded()
    assert gc.get_freeze_count() >= len(loaded)
    assert gc.get_threshold() == (heap.YOUNG_ALLOCATIONS, heap.OLDER_EVERY, heap.OLDER_EVERY)


def test_refreeze_does_nothing_in_a_process_that_never_froze(collector_restored: None) -> None:
    heap.refreeze()
    assert gc.get_freeze_count() == 0


def test_refreeze_freezes_what_was_loaded_since(collector_restored: None) -> None:
    heap.freeze_loaded()
    before = gc.get_freeze_count()
    reloaded = [[n] for n in range(1000)]  # lists: always tracked (small dicts may not be)
    heap.refreeze()
    assert gc.get_freeze_count() >= before + len(reloaded)
