"""Gauges an operator misses, read from Redis when /metrics is scraped (at most every few seconds):
held inputs by reason and age, the oldest held input per reason, the last successful year-end and
expiry runs.

Held inputs: the members listed in ``idx:held`` (a sorted set by first hold, added by the engine
whenever it holds an input and by `harmony rebuild`; members of ``idx:unknown`` are included too) —
their ``{m:ID}:held`` hashes are read in chunks
(pipelined), so the cost follows the number of members with held inputs, not all members. A member
whose hash is empty is dropped from the index here. Job runs: ``jobs:last:<job>`` hashes written by
:func:`record_job_run` (every run goes through ``streams.runtime.app.run_job``: the CLI and the crontab).
"""
from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from datetime import time as dtime
from typing import Any

from processors.model import JST
from streams.redis.keys import index_key, job_last_key, member_keys
from streams.runtime.metrics import HELD_AGE_BUCKETS, Metrics

log = logging.getLogger(__name__)
HELD_INDEX = index_key("held")
REASONS = ("AWAITING_ENROLLMENT", "AWAITING_FX_RATE", "AWAITING_ORIGINAL")
JOBS = ("close-year", "expire")
CHUNK = 500


def record_job_run(redis, job: dict, report: dict) -> None:
    """Remember a completed job run (for the harmony_job_last_* gauges)."""
    name = job.get("job", "?")
    fields = {"at": f"{time.time():.3f}", "report": json.dumps(report)}
    if name == "close-year":
        fields["year"] = str(job["year"])
    elif name == "expire":
        fields["as_of"] = str(job["as_of"])
    try:
        redis.hset(job_last_key(name), mapping=fields)
    except Exception:  # noqa: BLE001 - a metric must never fail the job that already ran
        log.exception("could not record the %s run", name)


def held_summary(redis, now: datetime) -> tuple[dict[tuple[str, str], int], dict[str, float]]:
    """(count by (reason, age bucket), oldest age in seconds by reason) over every held input."""
    counts: dict[tuple[str, str], int] = {}
    oldest: dict[str, float] = {}
    members = {m.decode() if isinstance(m, bytes) else m for m in redis.zrange(index_key("unknown"), 0, -1)}
    cursor = 0
    while True:
        cursor, chunk = redis.zscan(HELD_INDEX, cursor, count=CHUNK)
        members.update(m.decode() if isinstance(m, bytes) else m for m, _ in chunk)
        if cursor == 0:
            break
    ids = sorted(members)
    empty = []
    for i in range(0, len(ids), CHUNK):
        part = ids[i:i + CHUNK]
        pipe = redis.pipeline(transaction=False)
        for mid in part:
            pipe.hvals(member_keys(mid)[2])
        for mid, values in zip(part, pipe.execute()):
            if not values:
                empty.append(mid)
            for v in values:
                h = json.loads(v)
                reason = h.get("reason") or "?"
                if reason == "RELEASED":
                    continue
                age = max((now - datetime.fromisoformat(h["first_seen"])).total_seconds(), 0.0)
                bucket = next(label for limit, label in HELD_AGE_BUCKETS if age < limit)
                counts[(reason, bucket)] = counts.get((reason, bucket), 0) + 1
                oldest[reason] = max(oldest.get(reason, 0.0), age)
    if empty:
        redis.zrem(HELD_INDEX, *empty)
    return counts, oldest


def refresher(redis_of: Callable[[], Any], clock: Callable[[], datetime] | None = None,
              min_interval: float = 5.0) -> Callable[[Metrics], None]:
    """A Metrics refresher reading the gauges from Redis (``redis_of()``: None while starting)."""
    state = {"next": 0.0}

    def refresh(metrics: Metrics) -> None:
        redis = redis_of()
        if redis is None or time.monotonic() < state["next"]:
            return
        state["next"] = time.monotonic() + min_interval
        now = clock() if clock else datetime.now(UTC)
        try:
            counts, oldest = held_summary(redis, now)
            jobs = {name: redis.hgetall(job_last_key(name)) for name in JOBS}
        except Exception:  # noqa: BLE001 - /metrics still answers with the rest
            log.exception("held-input / job metrics not refreshed")
            return
        metrics.clear("harmony_held_inputs")
        metrics.clear("harmony_held_oldest_seconds")
        for reason in sorted(set(REASONS) | {r for r, _ in counts}):
            for _, bucket in HELD_AGE_BUCKETS:
                metrics.set("harmony_held_inputs", counts.get((reason, bucket), 0), reason=reason, age=bucket)
            metrics.set("harmony_held_oldest_seconds", oldest.get(reason, 0.0), reason=reason)
        for name, fields in jobs.items():
            f = {k.decode() if isinstance(k, bytes) else k: v.decode() if isinstance(v, bytes) else v
                 for k, v in fields.items()}
            if "at" in f:
                metrics.set("harmony_job_last_success_timestamp_seconds", float(f["at"]), job=name)
            if name == "close-year" and "year" in f:
                metrics.set("harmony_job_last_year_closed", int(f["year"]))
            if name == "expire" and "as_of" in f:
                midnight = datetime.combine(date.fromisoformat(f["as_of"]), dtime(0), JST)
                metrics.set("harmony_job_last_expiry_as_of_timestamp_seconds", midnight.timestamp())

    return refresh
