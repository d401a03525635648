"""`harmony bench` baselines, the bench's side: the limit phase (runs ``bench.limit``, a
confluent-kafka pass-through, on the engine's topics) and the naive phase (publishes the first
``--naive-events`` charges to topics of its own for ``bench.naive``, a faust agent, and
times it by the marks it writes to Redis)."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from typing import Any

from bench.base import Bench, BenchError, Child, proc_status_kb, with_db
from bench.traffic import publish, publish_async
from streams.kafka.admin import create_topics
from streams.kafka.topics import Topics
from streams.runtime.settings import Settings
from streams.simulate.messages import SimMessage


def limit_phase(b: Bench, E: Topics, expect: int) -> None:
    out_topics = Topics(f"{b.run_id}.limit.")
    out = out_topics.prefix + "passthrough.v1"
    from confluent_kafka.admin import NewTopic

    from streams.kafka.clients import make_admin
    admin = make_admin(b.bootstrap)
    for f in admin.create_topics([NewTopic(out, b.a.partitions, 1)]).values():
        f.result()
    b.say(f"limit: pass-through of {expect:,} messages (consume, produce the same bytes, flush, commit) ...")
    c = b.spawn("limit", [sys.executable, "-m", "bench.limit", "--bootstrap", b.bootstrap,
                          "--topics", ",".join([E.postings, E.bills, E.enrollments]), "--out", out,
                          "--expect", str(expect), "--group", f"{b.run_id}-limit",
                          "--batch", str(Settings().batch_size)])
    try:
        c.proc.wait(600)
    except subprocess.TimeoutExpired:
        c.stop()
        raise BenchError("limit: no result in 600 s") from None
    c.stop()
    lines = [ln for ln in c.log_bytes().decode(errors="replace").splitlines() if ln.startswith("{")]
    if c.proc.returncode != 0 or not lines:
        raise BenchError(f"limit failed ({c.proc.returncode}):\n{c.tail()}")
    b.result["limit"] = json.loads(lines[-1])
    b.say(f"limit: {b.result['limit']['events_per_s']:,.0f} messages/s")


def naive_phase(b: Bench, fx, enrollments, charges) -> None:
    if not charges:
        return
    N = Topics(f"{b.run_id}.n.")
    create_topics(b.bootstrap, N, partitions=b.a.partitions)
    wanted = {m.member_id for m in charges if m.member_id}
    enr = [m for m in enrollments if m.member_id in wanted]
    # aiokafka (under faust) has no lz4 codec here: the naive app's inputs are sent uncompressed
    plain: dict[str, Any] = {"compression.type": "none"}
    publish(b, N, fx, **plain)
    from bench.naive import MARK
    r = b.redis("naive")
    b.say(f"naive: faust agent, one event at a time, {len(charges):,} charges (their {len(enr):,} members' "
          "enrollments applied to its Redis database beforehand, untimed) ...")
    preload_enrollments(b, N, enr)
    first, last = 1, len(charges)
    c = b.spawn("naive", [sys.executable, "-m", "bench.naive"],
                KAFKA_BOOTSTRAP_SERVERS=b.bootstrap, REDIS_URL=with_db(b.redis_url, b.db["naive"]),
                HARMONY_TOPIC_PREFIX=N.prefix, HARMONY_GROUP=f"{b.run_id}-naive",
                BENCH_NAIVE_MARKS=f"{first},{last}", BENCH_NAIVE_DATADIR=str(b.workdir / "naive-data"))
    try:
        # a warm-up charge that is not timed (the consumer group joins; the agent starts)
        publish(b, N, charges[:1], **plain)
        _wait_mark(r, MARK + str(first), 180, c)
        charges = charges[1:]
        t0 = time.time()
        pub, box = publish_async(b, N, charges, **plain)
        t1 = _wait_mark(r, MARK + str(last), max(300.0, len(charges) / 50), c)
        pub.join()
        seconds = t1 - t0
        hwm = proc_status_kb(c.pid, "VmHWM")
    finally:
        c.stop(timeout=20, sig=signal.SIGTERM)
    b.result["naive"] = {"events": len(charges), "seconds": round(seconds, 3),
                         "events_per_s": round(len(charges) / seconds, 1),
                         "enrollments": len(enr), "peak_rss_mb": round((hwm or 0) / 1024, 1)}
    b.say(f"naive: {len(charges):,} charges in {seconds:.1f} s = {len(charges) / seconds:,.0f}/s")
    r.close()


def preload_enrollments(b: Bench, N: Topics, enr: list[SimMessage]) -> None:
    """Apply enrollments to the naive app's Redis database with the batch engine, in this process."""
    from streams.engine.batch import Message
    from streams.runtime.bootstrap import build_engine
    s = Settings(bootstrap=b.bootstrap, redis_url=with_db(b.redis_url, b.db["naive"]), topics=N,
                 group=f"{b.run_id}-naive", changelog=False)
    parts = build_engine(s)
    engine = parts.engine
    for k in range(0, len(enr), 2000):
        engine.process([Message(N.enrollments, 0, i, m.key, m.value) for i, m in enumerate(enr[k:k + 2000], k)])
    parts.redis.close()


def _wait_mark(r, key: str, timeout: float, child: Child) -> float:
    """The time.time() the naive app wrote under ``key`` (when it had handled that many events)."""
    from bench.naive import DONE
    deadline = time.monotonic() + timeout
    last_check = 0.0
    while True:
        v = r.get(key)
        if v is not None:
            return float(v)
        now = time.monotonic()
        if now > deadline:
            raise BenchError(f"naive: {int(r.get(DONE) or 0)} events handled, no {key} after {timeout:.0f} s; "
                             f"log {child.log_path}:\n{child.tail()}")
        if now - last_check > 1.0:
            child.check()
            if b"Crashed reason" in child.log_bytes():
                raise BenchError(f"naive: the faust agent crashed; log {child.log_path}:\n{child.tail()}")
            last_check = now
        time.sleep(0.01)
