"""`harmony bench` helper: the naive baseline — the same business logic written the straightforward way.

A faust-streaming agent handles one event at a time: the engine's own code (``Engine.process``) is
called with a batch of ONE message, so the business logic is exactly the engine's — decode
(schemas.codec), load the member through streams.redis.member_store.MemberStore (a one-member pipeline:
one round trip), the processors.member.Member rules, the compare-and-set save (a second round trip)
and the index adds (a third when the event touches an index) — and then every output record is sent
on its own with faust (``await topic.send(...)``). No batching anywhere; no sweeps, no jobs.

Run by `harmony bench` as ``python -m bench.naive`` with the usual environment
(KAFKA_BOOTSTRAP_SERVERS, REDIS_URL, HARMONY_TOPIC_PREFIX, HARMONY_GROUP); FX rates are read to the
end of fx.rates.v1 before the agent starts. Progress, without a per-event Redis write:
``BENCH_NAIVE_MARKS=n1,n2`` makes the agent write ``bench:naive:mark:<n>`` = time.time() when it
has handled n events, and ``bench:naive:done`` every 500 events.
"""
from __future__ import annotations

import logging
import os
import sys
import tempfile
import time
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, KafkaError, TopicPartition

from streams.engine.batch import Message
from streams.engine.events import to_domain
from streams.kafka.clients import make_consumer
from streams.runtime.settings import Settings

log = logging.getLogger(__name__)
DONE = "bench:naive:done"
MARK = "bench:naive:mark:"


def load_fx(wired) -> None:
    """Every FX rate published so far (to the end of each partition) into the engine's table."""
    s = wired.settings
    topic = s.topics.fx
    c = make_consumer(f"{s.group}.fx", s.bootstrap, **{"enable.partition.eof": True})
    try:
        parts = c.list_topics(topic, timeout=10).topics[topic].partitions
        c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in parts])
        pending, deadline = set(parts), time.monotonic() + 30
        while pending and time.monotonic() < deadline:
            for m in c.consume(1000, timeout=0.2):
                if err := m.error():
                    if err.code() == KafkaError._PARTITION_EOF:
                        pending.discard(m.partition())
                    continue
                wired.fx.add(to_domain(*wired.codec.decode(m.value())))
    finally:
        c.close()


def create_app(s: Settings, engine, marks: set[int]):
    import faust

    from streams.kafka.clients import kafka_config
    from streams.runtime.app import faust_broker
    from streams.runtime.faust_auth import faust_credentials

    t = s.topics
    app = faust.App(
        s.group, broker=faust_broker(s.bootstrap), store="memory://", web_enabled=False,
        broker_credentials=faust_credentials(kafka_config(s.bootstrap)),
        datadir=os.environ.get("BENCH_NAIVE_DATADIR") or tempfile.mkdtemp(prefix="harmony-bench-naive-"),
        broker_session_timeout=6,
        broker_heartbeat_interval=2, consumer_auto_offset_reset="earliest", topic_partitions=1,
    )
    raw: dict[str, Any] = {"key_type": bytes, "value_type": bytes, "key_serializer": "raw", "value_serializer": "raw"}
    inputs = app.topic(t.postings, t.bills, t.enrollments, t.redemptions, **raw)
    outputs = {name: app.topic(name, **raw) for name in t.outputs}
    redis = engine.store.redis
    handled = 0

    @app.agent(inputs)
    async def naive(stream):
        nonlocal handled
        async for event in stream.events():
            msg = event.message
            result = engine.process([Message(msg.topic, msg.partition, msg.offset, msg.key, msg.value)])
            for r in result.records:
                await outputs[r.topic].send(key=r.key, value=r.value, headers=r.headers)
            handled += 1
            if handled in marks:
                redis.set(MARK + str(handled), repr(time.time()))
            if handled % 500 == 0 or handled in marks:
                redis.set(DONE, handled)

    return app


def main() -> int:
    import faust

    from streams.runtime.bootstrap import build_engine

    logging.basicConfig(level=os.environ.get("HARMONY_LOGLEVEL", "WARNING").upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    s = Settings()
    wired = build_engine(s)
    engine = wired.engine
    load_fx(wired)
    marks = {int(x) for x in os.environ.get("BENCH_NAIVE_MARKS", "").split(",") if x.strip()}
    app = create_app(s, engine, marks)
    loglevel = os.environ.get("HARMONY_LOGLEVEL", "warning").lower()
    faust.Worker(app, loglevel=loglevel, quiet=True).execute_from_commandline()
    return 0


if __name__ == "__main__":
    sys.exit(main())
