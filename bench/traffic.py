"""`harmony bench` traffic: generating it (seeded, Avro-encoded before anything is timed), publishing
it (at once, in a thread, or at an offered rate) and waiting until it is consumed — a consumer group's
positions in Redis (``pos:<group>:<topic>:<partition>``) reaching the messages published."""
from __future__ import annotations

import gc
import threading
import time
from collections import Counter
from datetime import date

from bench.base import Bench, BenchError, Child, sweep_rates
from streams.kafka.topics import Topics
from streams.simulate.generator import Generator
from streams.simulate.messages import SimMessage
from streams.simulate.publish import publish as publish_messages


def generate(b: Bench, skip: set[str]) -> tuple[list, list, list, list]:
    """The FX rates, enrollments, charges and latency charges of the run (``result["generate"]``)."""
    a, res = b.a, b.result
    b.say(f"generating {a.events:,} charges for {a.members:,} members (seed {a.seed}) ...")
    t0 = time.perf_counter()
    gen = Generator(a.members, a.events, seed=a.seed, start=date.fromisoformat(a.start), days=a.days, zipf=a.zipf)
    fx = gen.fx_rates()
    enrollments = gen.enrollments()
    charges = gen.charges(a.events)
    summary = gen.summary(charges)
    n_lat = sum(int(rate * a.latency_seconds) for rate in [a.latency_rate] + sweep_rates(a)) \
        if "latency" not in skip else 0
    latency_charges = gen.charges(n_lat)
    gen_seconds = time.perf_counter() - t0
    res["generate"] = {"seconds": round(gen_seconds, 2), "fx_rates": len(fx), "enrollments": len(enrollments),
                       "charges": len(charges), "latency_charges": len(latency_charges), "summary": summary}
    for line in summary:
        b.say("  " + line)
    b.say(f"generated and encoded {len(fx) + len(enrollments) + len(charges) + len(latency_charges):,} "
          f"messages in {gen_seconds:.1f} s")
    gc.collect()
    gc.freeze()  # the pre-encoded traffic is never garbage: keep the collector off it
    return fx, enrollments, charges, latency_charges


def producer(b: Bench, **kw):
    from streams.kafka.clients import make_producer
    return make_producer(b.bootstrap, **{"queue.buffering.max.messages": 1_000_000, **kw})


def publish(b: Bench, topics: Topics, msgs: list[SimMessage], rate: float = 0.0, **producer_conf) -> float:
    p = producer(b, **producer_conf)
    return publish_messages(p, topics, msgs, rate)


def publish_async(b: Bench, topics: Topics, msgs: list[SimMessage], **producer_conf) -> tuple[threading.Thread, dict]:
    box: dict = {}

    def run():
        try:
            box["seconds"] = publish(b, topics, msgs, **producer_conf)
        except BaseException as exc:  # noqa: BLE001 - reported by the caller
            box["error"] = exc
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, box


def counts(msgs: list[SimMessage], topics: Topics) -> dict[str, int]:
    c = Counter(getattr(topics, m.topic) for m in msgs)
    return dict(c)


def totals(b: Bench, E: Topics) -> dict[str, int]:
    """Messages in each member input topic of E, from the partitions' true ends."""
    from streams.kafka.lag import LagProbe
    topics = [E.postings, E.bills, E.enrollments]
    with LagProbe(b.bootstrap) as probe:
        ends = probe.end_offsets(topics, timeout=30)
    out: Counter = Counter()
    for (t, _), end in ends.items():
        out[t] += end
    return {t: out[t] for t in topics}


def positions(b: Bench, r, group: str, targets: dict[str, int]) -> dict[str, int]:
    from streams.redis.keys import position_key
    keys = [(t, position_key(group, t, p)) for t in targets for p in range(b.a.partitions)]
    values = r.mget([k for _, k in keys])
    done: Counter = Counter()
    for (t, _), v in zip(keys, values):
        if v is not None:
            done[t] += int(v)
    return {t: done[t] for t in targets}


def wait_positions(b: Bench, r, group: str, targets: dict[str, int], timeout: float, watch: list[Child],
                   poll: float = 0.01) -> float:
    """perf_counter() when the positions of ``group`` reach ``targets`` (messages per topic)."""
    deadline = time.monotonic() + timeout
    last_check = 0.0
    while True:
        now = time.perf_counter()
        pos = positions(b, r, group, targets)
        if all(pos[t] >= n for t, n in targets.items()):
            return now
        if time.monotonic() > deadline:
            raise BenchError(f"{group}: positions {pos} did not reach {targets} in {timeout:.0f} s")
        if now - last_check > 1.0:
            for c in watch:
                c.check()
            last_check = now
        time.sleep(poll)
