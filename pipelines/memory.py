"""The pipeline worker's process-wide memory settings (glibc malloc), applied once at start.

The worker's threads (reader, writer, one per step) each get a malloc arena of their own by
default, and glibc raises its mmap threshold as big buffers are freed, after which a batch's
multi-megabyte insert and Redis buffers come from the heaps and leave holes there. Two arenas
and a fixed threshold keep a batch's big buffers in mappings that are returned when freed.
Measured (both sinks, ClickHouse server, docs/benchmarks.md): a few MB of peak RSS.
"""

from __future__ import annotations

import ctypes
import logging
import os

log = logging.getLogger("clicktrail.pipeline")

# mallopt(3) parameters
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8

ARENAS = 2
MMAP_THRESHOLD = 128 * 1024  # glibc's initial value, kept fixed


def tune_malloc() -> bool:
    """Apply the settings unless glibc's own environment variables set them (theirs win).
    False where the C library is not glibc."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    chosen = {
        "MALLOC_ARENA_MAX": (M_ARENA_MAX, ARENAS),
        "MALLOC_MMAP_THRESHOLD_": (M_MMAP_THRESHOLD, MMAP_THRESHOLD),
        "MALLOC_TRIM_THRESHOLD_": (M_TRIM_THRESHOLD, 2 * MMAP_THRESHOLD),
    }
    for variable, (parameter, value) in chosen.items():
        if variable not in os.environ and not mallopt(parameter, value):
            log.warning("mallopt(%d, %d) refused", parameter, value)
    return True
