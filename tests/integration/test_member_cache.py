"""The worker's member cache against a real Redis: a cached snapshot is only ever a guess.

Each test drives two engines on one Redis (``Engine.process`` directly, no broker needed): ``a``
keeps a member cache, ``b`` has none. Whatever happens behind ``a``'s back (a redelivered input,
another writer, Redis losing writes so that a version number comes back with other content), ``a``'s
compare-and-set must refuse its cached snapshot, reload and decide again: balances stay exact.
"""
from __future__ import annotations

import itertools

import pytest

from schemas.jsonio import from_json
from streams.engine.batch import Engine, Message
from streams.kafka.topics import Topics
from streams.redis.keys import member_keys
from streams.runtime.bootstrap import build_engine
from tests.harness import enrollment, posting, settings_for

_offsets = itertools.count()


@pytest.fixture
def engines(redis_url, redis_clean, unique):
    topics = Topics(prefix=f"{unique}.")

    def engine(cache: int) -> Engine:
        return build_engine(settings_for("127.0.0.1:9", redis_url, topics, unique, member_cache=cache)).engine

    return engine(1000), engine(0)


def feed(engine: Engine, kind: str, obj: dict):
    topic, name = {"enrollments": (engine.topics.enrollments, "MemberEnrollment"),
                   "postings": (engine.topics.postings, "FolioPosting")}[kind]
    value = engine.codec.encode(name, from_json(name, obj))
    return engine.process([Message(topic, 0, next(_offsets), obj["member_id"].encode(), value)])


def balance(engine: Engine, member: str) -> int:
    return engine.store.load(member).balance


def test_second_batch_of_a_member_comes_from_the_cache(engines):
    a, _ = engines
    feed(a, "enrollments", enrollment("MC-HIT"))
    feed(a, "postings", posting("MC-HIT-1", "MC-HIT", "10000"))  # 200 points
    hits = a.store.cache.hits
    res = feed(a, "postings", posting("MC-HIT-2", "MC-HIT", "20000"))  # 400
    assert a.store.cache.hits == hits + 1
    assert res.cas_retries == 0
    assert balance(a, "MC-HIT") == 600


def test_cached_snapshot_refuses_an_input_already_recorded(engines):
    a, _ = engines
    feed(a, "enrollments", enrollment("MC-DUP"))
    first = feed(a, "postings", posting("MC-DUP-1", "MC-DUP", "10000"))
    again = feed(a, "postings", posting("MC-DUP-1", "MC-DUP", "10000"))  # redelivered
    assert again.cas_retries == 1  # the cached snapshot has no source records: Redis said "recorded"
    assert balance(a, "MC-DUP") == 200
    ids = lambda res: sorted(r.key for r in res.records if r.topic == a.topics.ledger)  # noqa: E731
    assert ids(again) == ids(first)  # replayed, same ledger records


def test_cached_snapshot_refused_after_another_writer(engines):
    a, b = engines
    feed(a, "enrollments", enrollment("MC-OTHER"))
    feed(a, "postings", posting("MC-OTHER-1", "MC-OTHER", "10000"))  # 200, cached by a
    feed(b, "postings", posting("MC-OTHER-2", "MC-OTHER", "20000"))  # 400 behind a's back
    res = feed(a, "postings", posting("MC-OTHER-3", "MC-OTHER", "50000"))  # 1,000
    assert res.cas_retries == 1
    assert balance(b, "MC-OTHER") == 1_600


def test_cached_snapshot_refused_when_its_version_comes_back_with_other_content(engines, redis_url):
    """Redis loses the member (a restart without fsync, a failover to an empty replica) and another
    writer builds it up again to the very version ``a`` has cached: only the save token tells."""
    a, b = engines
    m = "MC-ABA"
    feed(a, "enrollments", enrollment(m))
    feed(a, "postings", posting("MC-ABA-1", m, "500000"))  # 10,000 points, cached at version 2
    cached = a.store.cache.get(m)
    assert cached["v"] == "2"
    a.store.redis.delete(*member_keys(m))
    feed(b, "enrollments", enrollment(m))
    feed(b, "postings", posting("MC-ABA-2", m, "10000"))  # 200 points, version 2 again
    assert b.store.load(m).version == 2
    res = feed(a, "postings", posting("MC-ABA-3", m, "20000"))  # 400
    assert res.cas_retries == 1
    assert balance(a, m) == 600  # not 10,400: the lost lot is not resurrected from the cache


def test_corrections_read_their_original_not_the_cache(engines):
    a, _ = engines
    m = "MC-CORR"
    feed(a, "enrollments", enrollment(m))
    feed(a, "postings", posting("MC-CORR-1", m, "100000"))  # 2,000
    hits = a.store.cache.hits
    res = feed(a, "postings", posting("MC-CORR-1R", m, "-100000", corrects="MC-CORR-1"))
    assert a.store.cache.hits == hits  # loaded from Redis, with the original's record
    assert res.cas_retries == 0
    assert balance(a, m) == 0
