"""The traffic generator of `harmony simulate` / `harmony bench` (streams/simulate): a function of its
seed, records that decode against the schemas, business dates in range; publishing sends every record
in order, paced when asked, and fails loudly when the broker does not acknowledge everything."""
from __future__ import annotations

from collections import Counter
from datetime import date

import pytest

from schemas.codec import Codec
from streams.kafka.topics import Topics
from streams.simulate.generator import Generator
from streams.simulate.messages import member_id
from streams.simulate.publish import publish

RECORD = {"postings": "FolioPosting", "bills": "PosBill", "fx": "FxRate", "enrollments": "MemberEnrollment"}


def _records(seed: int) -> list[tuple]:
    gen = Generator(50, 400, seed=seed, start=date(2026, 4, 1), days=30)
    return [tuple(m) for m in gen.traffic().all()]


def test_same_seed_same_records_other_seed_other_ids():
    first = _records(3)
    assert first == _records(3)
    other = {m[4] for m in _records(4) if m[4]}
    assert not other & {m[4] for m in first if m[4]}, "another seed must give new source ids"


def test_records_decode_and_dates_stay_in_range():
    gen = Generator(40, 300, seed=2, start=date(2026, 4, 1), days=10)
    traffic = gen.traffic()
    codec = Codec()
    assert len(traffic.enrollments) == 40 and {m.member_id for m in traffic.enrollments} == \
        {member_id(i) for i in range(40)}
    assert len(traffic.charges) == 300
    for m in traffic.all():
        rec = codec.decode_as(RECORD[m.topic], m.value)
        if m.topic in ("postings", "bills"):
            assert date(2026, 4, 1) <= rec["business_date"] <= date(2026, 4, 10)
            assert rec["member_id"] == m.member_id
    assert gen.summary(traffic.charges)[0].startswith("charges 300:")


class _Producer:
    """Records what is produced (a stand-in for confluent_kafka.Producer's produce/poll/flush)."""

    def __init__(self, unacknowledged: int = 0, full_once: bool = False):
        self.sent: list[tuple[str, bytes, bytes]] = []
        self.unacknowledged, self.full_once = unacknowledged, full_once

    def produce(self, topic, value, key):
        if self.full_once:
            self.full_once = False
            raise BufferError("queue full")
        self.sent.append((topic, value, key))

    def poll(self, timeout):
        return 0

    def flush(self, timeout):
        return self.unacknowledged


def test_publish_sends_everything_in_order_and_paces():
    gen = Generator(20, 60, seed=1)
    charges = gen.charges(60)
    topics = Topics("t.")
    producer, seen = _Producer(full_once=True), []
    took = publish(producer, topics, charges, rate=600.0, on_sent=lambda i, t: seen.append(i))
    assert producer.sent == [(getattr(topics, m.topic), m.value, m.key) for m in charges]
    assert seen == list(range(60))
    assert took >= 59 / 600 * 0.9
    assert Counter(t for t, _, _ in producer.sent).keys() <= {topics.postings, topics.bills}


def test_publish_fails_when_the_broker_does_not_acknowledge():
    with pytest.raises(RuntimeError, match="3 messages not acknowledged"):
        publish(_Producer(unacknowledged=3), Topics(), Generator(5, 5, seed=1).charges(5))
