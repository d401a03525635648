"""`harmony bench` latency phase: while the engine's worker(s) run, new charges at a fixed offered
rate; one member charge in ~10 is tagged and its source record polled in Redis every
``LATENCY_POLL`` s, for the percentiles from ``produce()`` to the balance being visible."""
from __future__ import annotations

import os
import time

from .bench_base import Bench, BenchError, Child
from .bench_traffic import producer, totals, wait_positions
from .simulate import SimMessage
from .topics import Topics

LATENCY_POLL = 0.005


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return 0.0
    k = (len(sorted_values) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)


def latency_phase(b: Bench, E: Topics, r, group: str, msgs: list[SimMessage], workers: list[Child]) -> dict:
    """The ``latency`` section of the result (the engine phase calls it before stopping its workers)."""
    a = b.a
    rate = a.latency_rate
    every = max(1, round(rate / 200))  # ~200 samples a second
    from .member_store import member_keys
    tagged = {}
    k = 0
    for i, m in enumerate(msgs):
        if m.member_id:
            if k % every == 0:
                tagged[i] = (member_keys(m.member_id)[1], m.source_id)
            k += 1
    b.say(f"latency: {len(msgs):,} charges at {rate:,.0f}/s offered, {len(tagged):,} tagged ...")
    prod = producer(b)
    names = {attr: getattr(E, attr) for attr in {m.topic for m in msgs}}
    pending: dict[int, float] = {}
    lat: list[float] = []
    started = time.perf_counter()
    i, n = 0, len(msgs)
    deadline = None
    last_check = started
    while i < n or pending:
        now = time.perf_counter()
        due = min(n, int((now - started) * rate) + 1)
        while i < due:
            m = msgs[i]
            while True:
                try:
                    prod.produce(names[m.topic], m.value, m.key)
                    break
                except BufferError:
                    prod.poll(0.01)
            if i in tagged:
                pending[i] = time.perf_counter()
            i += 1
        prod.poll(0)
        if i >= n and deadline is None:
            offered_seconds = time.perf_counter() - started
            deadline = time.monotonic() + 120
        if pending:
            idx = list(pending)
            pipe = r.pipeline(transaction=False)
            for j in idx:
                pipe.hexists(*tagged[j])
            found = pipe.execute()
            seen = time.perf_counter()
            for j, ok in zip(idx, found):
                if ok:
                    lat.append(seen - pending.pop(j))
        if deadline is not None and time.monotonic() > deadline:
            raise BenchError(f"latency: {len(pending)} tagged charges never became visible (polled: HEXISTS "
                             "{m:ID}:src <source id>; did the Redis layout change?)")
        if now - last_check > 1.0:
            for w in workers:
                w.check()
            last_check = now
        time.sleep(max(0.0, LATENCY_POLL - (time.perf_counter() - now)))
    prod.flush(30)
    # everything (untagged too) applied before the memory/balances are read
    wait_positions(b, r, group, {t: c for t, c in totals(b, E).items()}, 300, workers)
    half = len(lat) // 2
    trend = [round(percentile(sorted(x * 1000 for x in part), 50), 2) for part in (lat[:half], lat[half:])]
    lat.sort()
    ms = [x * 1000 for x in lat]
    out = {"offered_rate": rate, "events": n, "achieved_rate": round(n / offered_seconds, 1),
           "samples": len(ms), "poll_ms": LATENCY_POLL * 1000,
           "p50_ms": round(percentile(ms, 50), 2), "p95_ms": round(percentile(ms, 95), 2),
           "p99_ms": round(percentile(ms, 99), 2), "max_ms": round(ms[-1], 2) if ms else 0.0,
           "min_ms": round(ms[0], 2) if ms else 0.0,
           # growing from the first to the second half: the worker(s) fell behind the offered rate
           "p50_first_half_ms": trend[0], "p50_second_half_ms": trend[1],
           "consumer_fetch_wait_max_ms": int(os.environ.get("KAFKA_CONFIG_FETCH_WAIT_MAX_MS",
                                                             _consumer_defaults().get("fetch.wait.max.ms", 500)))}
    b.say(f"latency: p50 {out['p50_ms']:.0f} ms, p95 {out['p95_ms']:.0f} ms, p99 {out['p99_ms']:.0f} ms "
          f"({len(ms):,} samples)")
    return out


def _consumer_defaults() -> dict:
    from .kafka import CONSUMER_DEFAULTS
    return CONSUMER_DEFAULTS
