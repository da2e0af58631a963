"""VersionedCache tells when a background reload swapped a new copy in (the worker then freezes
it out of the garbage collector's view)."""

from __future__ import annotations

import threading

from personalizer.versioned import VersionedCache


def test_a_background_reload_calls_on_reloaded_after_the_swap() -> None:
    versions = {"shop": 1}
    swapped = threading.Event()
    seen: list[int] = []
    cache: VersionedCache[int] = VersionedCache(
        "numbers",
        lambda site_id: versions[site_id],
        lambda site_id: versions[site_id] * 10,
        (OSError,),
        poll_seconds=0,
        background=True,
        on_reloaded=lambda: (seen.append(cache.get("shop") or 0), swapped.set()),
    )
    assert cache.get("shop") == 10
    assert not swapped.is_set()  # a first load is not a reload
    versions["shop"] = 2
    cache.get("shop")  # starts the reload
    assert swapped.wait(5)
    assert seen == [20]  # called once the new copy serves
