"""Consumer lag from true end offsets (Tansu's ListOffsets points at the last batch's base + 1)."""
from __future__ import annotations

import time

import pytest
from confluent_kafka import TopicPartition
from confluent_kafka.admin import NewTopic

from streams.kafka.clients import make_admin, make_consumer, make_producer
from streams.kafka.lag import LagProbe, committed_offsets, group_lag, true_end_offsets, wait_until_caught_up


def _topic(bootstrap: str, name: str, partitions: int = 3) -> str:
    admin = make_admin(bootstrap)
    admin.create_topics([NewTopic(name, partitions, 1)])[name].result(10)
    deadline = time.monotonic() + 10
    while len(admin.list_topics(name, timeout=5).topics[name].partitions or {}) != partitions:
        assert time.monotonic() < deadline, "topic not in metadata"
        time.sleep(0.05)
    return name


@pytest.fixture
def filled(kafka_bootstrap, unique):
    """p0: 12 records in 3 batches of 4; p1: 1 record; p2: empty."""
    topic = _topic(kafka_bootstrap, f"{unique}.lag")
    producer = make_producer(kafka_bootstrap)
    for batch in range(3):
        for i in range(4):
            producer.produce(topic, f"v{batch}.{i}".encode(), key=b"k", partition=0)
        assert producer.flush(10) == 0  # one produce request per batch
    producer.produce(topic, b"single", partition=1)
    assert producer.flush(10) == 0
    return topic


EXPECTED = {0: 12, 1: 1, 2: 0}


def test_true_end_offsets_multi_batch(kafka_bootstrap, filled):
    ends = true_end_offsets(kafka_bootstrap, [filled])
    assert ends == {(filled, p): n for p, n in EXPECTED.items()}


def test_true_end_offsets_empty_topics(kafka_bootstrap, unique):
    a, b = _topic(kafka_bootstrap, f"{unique}.e1", 4), _topic(kafka_bootstrap, f"{unique}.e2", 1)
    ends = true_end_offsets(kafka_bootstrap, [a, b], timeout=5)
    assert ends == {**{(a, p): 0 for p in range(4)}, (b, 0): 0}
    assert group_lag(kafka_bootstrap, unique, [a, b]) == dict.fromkeys(ends, 0)
    wait_until_caught_up(kafka_bootstrap, unique, [a, b], timeout=5)


def test_unknown_topic_is_an_error(kafka_bootstrap, unique):
    with pytest.raises(LookupError, match="nope"):
        true_end_offsets(kafka_bootstrap, [f"{unique}.nope"], timeout=3)


def test_probe_is_reusable_and_sees_new_records(kafka_bootstrap, filled):
    with LagProbe(kafka_bootstrap) as probe:
        assert probe.end_offsets([filled])[(filled, 2)] == 0
        producer = make_producer(kafka_bootstrap)
        for _i in range(3):
            producer.produce(filled, b"x", partition=2)
        producer.flush(10)
        assert probe.end_offsets([filled]) == {(filled, 0): 12, (filled, 1): 1, (filled, 2): 3}


def test_group_lag_partial_commits(kafka_bootstrap, unique, filled):
    group = f"{unique}.g"
    assert committed_offsets(kafka_bootstrap, group, [filled]) == {(filled, p): None for p in range(3)}
    assert group_lag(kafka_bootstrap, group, [filled]) == {(filled, p): n for p, n in EXPECTED.items()}

    # Commit where ListOffsets (on Tansu) says the end is: lag must still be 3, not 0.
    committer = make_consumer(group, kafka_bootstrap)
    try:
        committer.commit(offsets=[TopicPartition(filled, 0, 9)], asynchronous=False)
    finally:
        committer.close()
    assert committed_offsets(kafka_bootstrap, group, [filled])[(filled, 0)] == 9
    assert group_lag(kafka_bootstrap, group, [filled]) == {(filled, 0): 3, (filled, 1): 1, (filled, 2): 0}


def test_group_lag_before_and_after_a_consumer_commits(kafka_bootstrap, unique, filled):
    group = f"{unique}.worker"
    assert sum(group_lag(kafka_bootstrap, group, [filled]).values()) == 13

    consumer = make_consumer(group, kafka_bootstrap, session_timeout_ms=6000)  # join ~3 s on Tansu
    consumer.subscribe([filled])
    seen, deadline = 0, time.monotonic() + 20
    try:
        while seen < 13:
            assert time.monotonic() < deadline, f"consumed only {seen} of 13"
            for m in consumer.consume(100, 0.2):
                assert m.error() is None, m.error()
                seen += 1
        consumer.commit(asynchronous=False)
        assert group_lag(kafka_bootstrap, group, [filled]) == {(filled, p): 0 for p in range(3)}
        wait_until_caught_up(kafka_bootstrap, group, [filled], timeout=5)
    finally:
        consumer.close()


def test_wait_until_caught_up_times_out_with_remaining_lag(kafka_bootstrap, unique, filled):
    started = time.monotonic()
    with pytest.raises(TimeoutError) as exc:
        wait_until_caught_up(kafka_bootstrap, f"{unique}.idle", [filled], timeout=1.0, poll=0.1)
    assert 1.0 <= time.monotonic() - started < 5
    msg = str(exc.value)
    assert f"{unique}.idle" in msg and "lag 13 on 2 partition(s)" in msg
    assert f"{filled}[0]=12" in msg and f"{filled}[1]=1" in msg and f"{filled}[2]" not in msg


def test_wait_until_caught_up_reports_missing_topic(kafka_bootstrap, unique):
    with pytest.raises(TimeoutError, match="not found"):
        wait_until_caught_up(kafka_bootstrap, unique, [f"{unique}.missing"], timeout=0.5)
