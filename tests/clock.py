"""A worker clock the test moves (`RunningWorker(settings, clock=Clock())`, then `clock.advance(hours=73)`)."""
from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


class Clock:
    """The worker's clock, moved by the test: starts at the real time now, moves only by `advance`."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)
        self.lock = threading.Lock()

    def __call__(self) -> datetime:
        with self.lock:
            return self.now

    def advance(self, **kw: float) -> None:
        """Move forward by `timedelta(**kw)` (e.g. hours=72, minutes=1)."""
        with self.lock:
            self.now += timedelta(**kw)
