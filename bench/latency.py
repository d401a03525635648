"""`harmony bench` latency phase: while the engine's worker(s) run, new charges at a fixed offered
rate; one member charge in ~10 is tagged and its source record polled in Redis every
``LATENCY_POLL`` s, for the percentiles from ``produce()`` to the balance being visible.

Polling costs the same whatever the latency: the worker applies a partition's messages in offset
order, so only the oldest tagged charge still pending of each partition is polled (the partition
comes from its delivery report); when it is visible, the next one of that partition is polled at
once. Polling every pending charge instead loads Redis and the machine in proportion to the
backlog, which slows the worker and grows the backlog: the measurement would feed on itself.
"""
from __future__ import annotations

import os
import time
from collections import deque

from bench.base import Bench, BenchError, Child, cpu_delta, cpu_snapshot
from bench.traffic import producer, totals, wait_positions
from streams.kafka.topics import Topics
from streams.simulate.messages import SimMessage

LATENCY_POLL = 0.005


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return 0.0
    k = (len(sorted_values) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)


def latency_phase(b: Bench, E: Topics, r, group: str, msgs: list[SimMessage], workers: list[Child],
                  rate: float) -> dict:
    """The ``latency`` section of the result (the engine phase calls it before stopping its workers)."""
    every = max(1, round(rate / 200))  # ~200 samples a second
    from streams.redis.keys import member_keys
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
    published: dict[int, float] = {}  # tagged message -> produce() time
    queues: dict[tuple[str, int], deque] = {}  # (topic, partition) -> tagged messages pending, offset order
    placed: list[tuple[int, str, int]] = []

    acked: list[float] = []  # produce() -> delivery report, the broker's share

    def delivered(i, err, msg):
        if err is None:
            placed.append((i, msg.topic(), msg.partition()))
            acked.append(time.perf_counter() - published[i])

    lat: list[float] = []
    cpu0 = cpu_snapshot(b, workers)
    started = time.perf_counter()
    i, n = 0, len(msgs)
    deadline = None
    last_check = started
    while i < n or published:
        now = time.perf_counter()
        due = min(n, int((now - started) * rate) + 1)
        while i < due:
            m = msgs[i]
            while True:
                try:
                    if i in tagged:
                        prod.produce(names[m.topic], m.value, m.key,
                                     on_delivery=lambda err, msg, j=i: delivered(j, err, msg))
                        published[i] = time.perf_counter()
                    else:
                        prod.produce(names[m.topic], m.value, m.key)
                    break
                except BufferError:
                    prod.poll(0.01)
            i += 1
        prod.poll(0)
        for j, topic, part in sorted(placed, key=lambda x: x[0]):
            queues.setdefault((topic, part), deque()).append(j)
        placed.clear()
        if i >= n and deadline is None:
            offered_seconds = time.perf_counter() - started
            deadline = time.monotonic() + 120
        heads = [q for q in queues.values() if q]
        while heads:  # the oldest of each partition; again for the partitions whose oldest was visible
            pipe = r.pipeline(transaction=False)
            for q in heads:
                pipe.hexists(*tagged[q[0]])
            found = pipe.execute()
            seen = time.perf_counter()
            moved = []
            for q, ok in zip(heads, found):
                if ok:
                    lat.append(seen - published.pop(q.popleft()))
                    if q:
                        moved.append(q)
            heads = moved
        if deadline is not None and time.monotonic() > deadline:
            raise BenchError(f"latency: {len(published)} tagged charges never became visible (polled: HEXISTS "
                             "{m:ID}:src <source id>; did the Redis layout change?)")
        if now - last_check > 1.0:
            for w in workers:
                w.check()
            last_check = now
        time.sleep(max(0.0, LATENCY_POLL - (time.perf_counter() - now)))
    prod.flush(30)
    cpu = cpu_delta(cpu0, cpu_snapshot(b, workers))
    cpu_wall = time.perf_counter() - started
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
           "acked_p50_ms": round(percentile(sorted(x * 1000 for x in acked), 50), 2),
           "acked_p99_ms": round(percentile(sorted(x * 1000 for x in acked), 99), 2),
           # share of one CPU per process while the charges were offered and applied
           "cpu_percent": {k: round(100 * v / cpu_wall, 1) for k, v in cpu.items()},
           # growing from the first to the second half: the worker(s) fell behind the offered rate
           "p50_first_half_ms": trend[0], "p50_second_half_ms": trend[1],
           "consumer_fetch_wait_max_ms": int(os.environ.get("KAFKA_CONFIG_FETCH_WAIT_MAX_MS",
                                                             _consumer_defaults().get("fetch.wait.max.ms", 500)))}
    b.say(f"latency: p50 {out['p50_ms']:.0f} ms, p95 {out['p95_ms']:.0f} ms, p99 {out['p99_ms']:.0f} ms "
          f"({len(ms):,} samples)")
    return out


def _consumer_defaults() -> dict:
    from streams.kafka.clients import CONSUMER_DEFAULTS
    return CONSUMER_DEFAULTS
