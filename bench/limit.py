"""`harmony bench` helper: the pass-through limit, in its own process like the engine worker.

confluent-kafka only, shaped like the engine's batch loop without the engine: consume up to
``--batch`` messages (timeout 50 ms), produce the same key/value bytes to ``--out``, wait for their
delivery (flush), commit the offsets asynchronously. No decoding, no Redis. The partitions are
assigned explicitly (no group join to wait for). Prints one JSON object:
``{"events": n, "seconds": s, "events_per_s": r}``, timed from the first message consumed to the
last one delivered.

    python -m bench.limit --bootstrap HOST:PORT --topics a,b,c --out OUT --expect N
"""
from __future__ import annotations

import argparse
import json
import sys
import time

from confluent_kafka import OFFSET_BEGINNING, TopicPartition

from streams.kafka.clients import make_consumer, make_producer

MAX_MESSAGE = 10 * 1024 * 1024


def run(bootstrap: str, topics: list[str], out: str, expect: int, batch: int = 2000, group: str = "bench-limit",
        timeout: float = 300.0) -> dict:
    consumer = make_consumer(group, bootstrap, **{"fetch.max.bytes": 2 * MAX_MESSAGE,
                                                  "max.partition.fetch.bytes": MAX_MESSAGE})
    producer = make_producer(bootstrap, **{"message.max.bytes": MAX_MESSAGE})
    try:
        tps = []
        for t in topics:
            md = consumer.list_topics(t, timeout=10).topics[t]
            tps += [TopicPartition(t, p, OFFSET_BEGINNING) for p in sorted(md.partitions)]
        consumer.assign(tps)
        produce, poll = producer.produce, producer.poll
        seen = 0
        first = None
        deadline = time.monotonic() + timeout
        while seen < expect:
            if time.monotonic() > deadline:
                raise TimeoutError(f"limit: {seen} of {expect} messages after {timeout:.0f} s")
            msgs = consumer.consume(batch, timeout=0.05)
            if not msgs:
                continue
            if first is None:
                first = time.perf_counter()
            done: dict[tuple[str, int], int] = {}
            for m in msgs:
                if m.error():
                    continue
                while True:
                    try:
                        produce(out, m.value(), m.key())
                        break
                    except BufferError:
                        poll(0.01)
                done[(m.topic(), m.partition())] = m.offset() + 1  # type: ignore[index,operator]  # a message, not an error
                seen += 1
            if producer.flush(30):
                raise RuntimeError("limit: delivery failed")
            if done:
                consumer.commit(offsets=[TopicPartition(t, p, o) for (t, p), o in done.items()], asynchronous=True)
        took = time.perf_counter() - (first or time.perf_counter())
        return {"events": seen, "seconds": round(took, 4), "events_per_s": round(seen / max(took, 1e-9), 1),
                "batch": batch}
    finally:
        producer.flush(10)
        consumer.close()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.limit")
    p.add_argument("--bootstrap", required=True)
    p.add_argument("--topics", required=True, help="comma-separated input topics")
    p.add_argument("--out", required=True)
    p.add_argument("--expect", type=int, required=True)
    p.add_argument("--batch", type=int, default=2000)
    p.add_argument("--group", default="bench-limit")
    p.add_argument("--timeout", type=float, default=300.0)
    a = p.parse_args(argv)
    result = run(a.bootstrap, a.topics.split(","), a.out, a.expect, a.batch, a.group, a.timeout)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
