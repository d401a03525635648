"""Read a topic from a start position (beginning, end, or a time) to its end, or follow it:
what `harmony tail`, `harmony dlq` and the liability report share.

The end of a partition is found by reading to partition EOF (the high watermark of fetch
responses), not by ListOffsets, which Tansu answers with the base offset of the last batch
(notes/tansu.md). No consumer group offsets are committed: readers use a throw-away group id.
"""
from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import datetime

from confluent_kafka import OFFSET_BEGINNING, OFFSET_END, KafkaError, TopicPartition

from streams.kafka.clients import make_consumer


def partitions(consumer, topic: str, timeout: float = 10.0) -> list[int]:
    md = consumer.list_topics(topic, timeout=timeout)
    t = md.topics.get(topic)
    if t is None or t.error is not None:
        raise LookupError(f"topic {topic} does not exist" + (f" ({t.error})" if t is not None and t.error else ""))
    return sorted(t.partitions)


def read(bootstrap: str, topic: str, *, start: str | datetime = "beginning", follow: bool = False,
         stop: Callable[[], bool] | None = None, poll: float = 0.2) -> Iterator:
    """Yield the confluent-kafka messages of ``topic`` from ``start`` ("beginning", "end" or a
    tz-aware datetime: the first record at or after it) until every partition's end (or, with
    ``follow``, until ``stop()`` is true)."""
    c = make_consumer(f"harmony-reader-{uuid.uuid4().hex[:10]}", bootstrap,
                      **{"enable.partition.eof": True, "fetch.wait.max.ms": 50})
    try:
        parts = partitions(c, topic)
        if isinstance(start, datetime):
            ms = int(start.timestamp() * 1000)
            tps = c.offsets_for_times([TopicPartition(topic, p, ms) for p in parts], timeout=10)
            # -1: no record at or after the time in that partition -> its end
            assign = [TopicPartition(topic, tp.partition, tp.offset if tp.offset >= 0 else OFFSET_END) for tp in tps]
        else:
            where = OFFSET_END if start == "end" else OFFSET_BEGINNING
            assign = [TopicPartition(topic, p, where) for p in parts]
        c.assign(assign)
        pending = set(parts)
        while pending or follow:
            if stop is not None and stop():
                return
            for m in c.consume(1000, timeout=poll):
                err = m.error()
                if err is not None:
                    if err.code() == KafkaError._PARTITION_EOF:
                        pending.discard(m.partition())
                        continue
                    if err.code() == KafkaError.UNKNOWN_TOPIC_OR_PART:
                        raise LookupError(f"topic {topic}: {err}")
                    continue
                yield m
    finally:
        c.close()
