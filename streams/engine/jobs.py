"""Scheduled / on-demand jobs over many members: year-end status evaluation and point expiry.

Both walk an index of the store (never every member), ``chunk`` members at a time, through the same
compare-and-set path as the earn path — so they never block it for more than one chunk and can run
while it runs. Both are idempotent: a year is closed once per member; a lot expires once.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from processors.validity import is_expired, jst_date
from streams.engine.batch import Engine
from streams.engine.messages import BatchResult
from streams.engine.releases import LOT_DATES, lots_of

log = logging.getLogger(__name__)


@dataclass
class JobReport:
    job: str
    members: int = 0
    changed: int = 0
    points: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return {"job": self.job, "members": self.members, "changed": self.changed, "points": self.points,
                "seconds": round(self.seconds, 3)}


def close_year(engine: Engine, year: int, publish: Callable[[BatchResult], None], chunk: int = 1000) -> JobReport:
    """Evaluate ``year`` for every member active in it or holding a status during it (program-rules §2).

    The year is first marked closed (``jobs:closed-years``): from then on a late posting for it
    evaluates it for its member, also for a member the walk below finds inactive (or misses: SSCAN
    may miss members added meanwhile). Idempotent: a member's year already closed is evaluated again
    only while the year is open (before its status takes effect), and changes only if its counters
    changed (processors/year_end.py). Closing years out of order: a later year already closed
    follows the new carry-forward, in each member's aggregate."""
    report = JobReport(f"close-year {year}")
    started = time.perf_counter()
    index = engine.store.index
    index.close_year(year)
    for name in (f"active:{year}", f"status:{year}"):
        for members in index.scan(name, chunk):
            ctx = engine.context()
            today = jst_date(ctx.now)
            result = BatchResult()
            done = engine.run({mid: [] for mid in members}, ctx, result,
                              job=lambda m, ctx=ctx, today=today: m.close_year(year, ctx.cfg, today, ctx.closed_years),
                              publish_first=publish)
            report.members += len(done)
            report.changed += sum(1 for m in done.values() if m.effects.status_changes)
            publish(result)
    report.seconds = time.perf_counter() - started
    return report


def expire(engine: Engine, as_of: date, publish: Callable[[BatchResult], None], chunk: int = 1000) -> JobReport:
    """Expire every lot whose validity ended before ``as_of`` (program-rules §3)."""
    report = JobReport(f"expire as of {as_of.isoformat()}")
    started = time.perf_counter()
    index = engine.store.index
    due = sorted(d for d in (date.fromisoformat(x) for x in index.members(LOT_DATES)) if is_expired(d, as_of))
    for lot in due:
        name = lots_of(lot.isoformat())
        for members in index.scan(name, chunk):
            ctx = engine.context()
            result = BatchResult()
            expired: dict[str, int] = {}
            done = engine.run({mid: [] for mid in members}, ctx, result,
                              job=lambda m, expired=expired: expired.__setitem__(m.member_id, m.expire(as_of)),
                              publish_first=publish)
            publish(result)
            report.members += len(done)
            report.changed += sum(1 for mid in done if expired.get(mid))
            report.points += sum(expired.get(mid, 0) for mid in done)
            gone = [mid for mid, m in done.items() if not m.lots.by_expiry.get(lot)]
            if gone:
                index.remove(name, gone)
        if not index.size(name):
            index.remove(LOT_DATES, [lot.isoformat()])
    report.seconds = time.perf_counter() - started
    return report
