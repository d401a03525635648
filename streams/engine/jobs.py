"""Scheduled / on-demand jobs over many members: year-end status evaluation and point expiry.

Both walk a Redis index (never every member), ``chunk`` members at a time, through the same
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
from streams.engine.batch import CLOSED_YEARS, BatchResult, Engine

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


def _scan(redis, key: str, chunk: int):
    cursor = 0
    while True:
        cursor, members = redis.sscan(key, cursor, count=chunk)
        if members:
            yield [m.decode() for m in members]
        if cursor == 0:
            return


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
    redis = engine.store.redis
    redis.sadd(CLOSED_YEARS, str(year))
    for key in (f"idx:active:{year}", f"idx:status:{year}"):
        for members in _scan(redis, key, chunk):
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
    redis = engine.store.redis
    due = sorted(d for d in (date.fromisoformat(x.decode()) for x in redis.smembers("idx:lotdates"))
                 if is_expired(d, as_of))
    for lot in due:
        key = f"idx:lots:{lot.isoformat()}"
        for members in _scan(redis, key, chunk):
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
                redis.srem(key, *gone)
        if not redis.scard(key):
            redis.srem("idx:lotdates", lot.isoformat())
    report.seconds = time.perf_counter() - started
    return report
