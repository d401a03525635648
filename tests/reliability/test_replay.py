"""Replays of the input: the same events published twice, the consumer group reset to the beginning
(Redis positions deleted and Kafka offsets reset), a fresh group; and a source id reused with other
content."""
from __future__ import annotations

import pytest
from confluent_kafka import TopicPartition

from schemas.codec import Codec
from streams.kafka.clients import make_consumer
from streams.kafka.lag import committed_offsets
from streams.redis.client import connect
from streams.redis.keys import member_keys, position_key
from tests.harness import Publisher, RunningWorker, bill, enrollment, posting, read_topic, settings_for, wait_processed

from . import model, support

pytestmark = pytest.mark.slow

FAST_GROUP = {"HARMONY_SESSION_TIMEOUT_MS": 3000, "KAFKA_CONFIG_HEARTBEAT_INTERVAL_MS": 500}


def redis_dump(redis_url: str, members) -> dict:
    """Every Redis key of the members, with its full content (versions included)."""
    r = connect(redis_url)
    try:
        out = {}
        for mid in members:
            core, src, held, led = member_keys(mid)
            out[core] = r.hgetall(core)
            out[src] = r.hgetall(src)
            out[held] = r.hgetall(held)
            out[led] = r.lrange(led, 0, -1)
        return out
    finally:
        r.close()


def _reset_kafka_offsets(bootstrap: str, group: str, topics) -> None:
    """Commit offset 0 on every input partition for ``group`` (no member may be active)."""
    tps = support.end_offsets(bootstrap, topics)
    c = make_consumer(group, bootstrap)
    try:
        c.commit(offsets=[TopicPartition(t, p, 0) for t, p in tps], asynchronous=False)
    finally:
        c.close()


@pytest.mark.timeout(150)
def test_duplicates_and_group_reset_change_nothing(kafka_bootstrap, clean_redis_url, topics, unique, workers_for):
    """Invariant: once a stream is applied, (1) publishing every event again, (2) resetting the group to
    the beginning — its Redis positions deleted and its Kafka offsets set to 0 — and (3) a fresh group
    reading everything from the start change nothing: every member's Redis state is byte-for-byte the
    same (versions included, so not even a no-op write happened), balances/lots/counters equal the pure
    recomputation, and every re-published ledger entry and decision is identical to its first copy."""
    stream = model.generate(1111)
    support.publish(kafka_bootstrap, topics, stream.all)
    ws = workers_for(clean_redis_url, topics, **FAST_GROUP)
    w = ws.start()
    support.wait_caught_up(kafka_bootstrap, unique, topics, 60, ws)
    support.wait_positions_at_end(kafka_bootstrap, clean_redis_url, unique, topics, 30, ws)
    before = redis_dump(clean_redis_url, stream.members)
    assert not support.state_problems(clean_redis_url, stream)
    ledger_before = len(read_topic(kafka_bootstrap, topics.ledger))

    # (1) the same events again
    support.publish(kafka_bootstrap, topics, stream.all)
    support.wait_caught_up(kafka_bootstrap, unique, topics, 60, ws)
    support.wait_positions_at_end(kafka_bootstrap, clean_redis_url, unique, topics, 30, ws)
    assert redis_dump(clean_redis_url, stream.members) == before, "publishing the events again changed Redis"
    w.stop()
    assert len(read_topic(kafka_bootstrap, topics.ledger)) > ledger_before, "the replay re-publishes its entries"

    # (2) the group reset: Redis positions deleted AND Kafka offsets back to 0
    r = connect(clean_redis_url)
    deleted = sum(r.delete(position_key(unique, t, p)) for t, p in support.end_offsets(kafka_bootstrap, topics))
    r.close()
    assert deleted
    _reset_kafka_offsets(kafka_bootstrap, unique, topics)
    committed = committed_offsets(kafka_bootstrap, unique, support.input_topics(topics))
    assert all(v in (0, None) for v in committed.values()), committed
    w = ws.start()
    support.wait_caught_up(kafka_bootstrap, unique, topics, 60, ws)
    support.wait_positions_at_end(kafka_bootstrap, clean_redis_url, unique, topics, 30, ws)
    w.stop()
    assert redis_dump(clean_redis_url, stream.members) == before, "the group reset changed Redis"

    # (3) a fresh group from the beginning
    fresh = ws.start(HARMONY_GROUP=f"{unique}-fresh")
    support.wait_caught_up(kafka_bootstrap, f"{unique}-fresh", topics, 60, ws)
    support.wait_positions_at_end(kafka_bootstrap, clean_redis_url, f"{unique}-fresh", topics, 30, ws)
    fresh.stop()
    assert redis_dump(clean_redis_url, stream.members) == before, "a fresh group changed Redis"
    problems = support.all_problems(kafka_bootstrap, topics, clean_redis_url, stream)
    assert not problems, "\n".join(problems[:25])


@pytest.mark.timeout(90)
def test_same_source_id_with_other_content_is_dead_lettered(kafka_bootstrap, redis_url, redis_clean, topics,
                                                            unique):
    """Invariant: a posting id or bill id received again with different content is not applied (the
    balance and counters keep the first content's effect) and goes to loyalty.dlq.v1 with the
    original bytes and key, headers origin.topic/partition/offset naming the conflicting message and an
    error starting "CONFLICT"; an identical redelivery is not a conflict; later inputs are applied."""
    s = settings_for(kafka_bootstrap, redis_url, topics, unique)
    pub = Publisher(kafka_bootstrap, topics)
    mid = "OH7700001"
    pub.send("enrollments", enrollment(mid))
    pub.send("postings", posting("P1", mid, "35000"))  # 700
    pub.send("bills", bill("B1", mid, [("FOOD", "10000")]))  # 100
    pub.flush()
    with RunningWorker(s) as w:
        wait_processed(s)
        pub.send("postings", posting("P1", mid, "50000"))  # conflict
        pub.send("bills", bill("B1", mid, [("FOOD", "20000")]))  # conflict
        pub.send("postings", posting("P1", mid, "35000"))  # identical: a replay, not a conflict
        pub.send("postings", posting("P2", mid, "10000"))  # 200, after the conflicts
        pub.flush()
        wait_processed(s)
        from streams.web.member_view import member_json
        view = member_json(w.worker.engine.store, mid)
    assert view["balance"] == 1000 and view["qualifying"]["2026"]["points"] == 1000, view
    assert view["qualifying"]["2026"]["nights"] == 2, view

    sent = {(m.topic(), m.value()): (m.partition(), m.offset(), m.key())
            for t in (topics.postings, topics.bills) for m in read_topic(kafka_bootstrap, t)}
    dlq = read_topic(kafka_bootstrap, topics.dlq)
    assert len(dlq) == 2, [dict(m.headers()) for m in dlq]
    for m in dlq:
        h = {k: v.decode() for k, v in m.headers()}
        assert h["error"].startswith("CONFLICT"), h
        origin = (h["origin.topic"], m.value())
        assert origin in sent, f"DLQ value/topic are not a published message: {h}"
        partition, offset, key = sent[origin]
        assert (int(h["origin.partition"]), int(h["origin.offset"])) == (partition, offset), h
        assert m.key() == key == mid.encode()
    codec = Codec()
    decisions = [codec.decode(m.value())[1] for m in read_topic(kafka_bootstrap, topics.decisions)]
    p1 = {(d["outcome"], d["base_points"]) for d in decisions if d["source_id"] == "P:P1"}
    b1 = {(d["outcome"], d["base_points"]) for d in decisions if d["source_id"] == "B:B1"}
    assert p1 == {("EARNED", 700)} and b1 == {("EARNED", 100)}, (p1, b1)
