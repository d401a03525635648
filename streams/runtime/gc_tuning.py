"""Garbage-collector settings for the batch loop.

A batch keeps ~100 objects per input alive until it is published (messages, events, decisions,
records, member snapshots). With CPython's default thresholds (a young collection every 700
allocations) those survivors are traversed again and again while the batch grows: measured on the
bench's ceiling phase, 30 % of the time per event. The engine's objects are freed by reference
counting (no cycles on the hot path), so collecting rarely loses nothing: the young generation is
collected every ``gen0`` allocations instead, and what was loaded at start-up (configuration, codec,
schemas, modules) is frozen out of the collector's view.
"""
from __future__ import annotations

import gc

DEFAULT_GEN0 = 50_000
THRESHOLDS = (DEFAULT_GEN0, 20, 10)


def tune(gen0: int = DEFAULT_GEN0) -> tuple[int, int, int]:
    """Apply the batch loop's thresholds (``gen0`` <= 0: keep CPython's); returns the previous ones."""
    previous = gc.get_threshold()
    if gen0 > 0:
        gc.collect()
        gc.freeze()
        gc.set_threshold(gen0, *THRESHOLDS[1:])
    return previous
