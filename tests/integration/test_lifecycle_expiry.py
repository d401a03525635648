"""Point expiry through Kafka + Redis (program-rules §3): the exact boundary (31 January Y+3 is the
last valid day), the EXPIRE ledger entry, running the job twice, the Redis index the job walks
(in chunks, never every member), and a cancellation that refills a lot the job already emptied.
"""
from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from streams.engine import jobs
from tests.harness import enrollment, posting, redemption
from tests.lifecycle_support import LifecycleEnv


@pytest.fixture(scope="module")
def env(kafka_bootstrap, redis_url):
    with LifecycleEnv(kafka_bootstrap, redis_url, db=3, name="lce") as e:
        yield e


def test_expiry_at_the_exact_boundary(env):
    m = "EX-BOUND"
    env.send("enrollments", enrollment(m))
    env.send("postings", posting("EB-1", m, "35000", bdate="2026-03-14"),  # 700 -> 2029-01-31 (vector 19)
             posting("EB-2", m, "50000", bdate="2026-12-31"),  # 1,000 -> 2029-01-31
             posting("EB-3", m, "10000", bdate="2027-01-01"))  # 200 -> 2030-01-31
    env.sync()
    assert env.view(m)["lots"] == [{"expires_on": "2029-01-31", "points": 1_700},
                                   {"expires_on": "2030-01-31", "points": 200}]
    assert env.redis.sismember("idx:lots:2029-01-31", m)

    env.expire("2029-01-31")  # the last valid day: nothing expires
    assert env.view(m)["balance"] == 1_900
    assert [e["type"] for e in env.ledger(m).values()].count("EXPIRE") == 0

    report = env.expire("2029-02-01")
    assert report["points"] >= 1_700 and report["changed"] >= 1
    view = env.view(m)
    assert view["lots"] == [{"expires_on": "2030-01-31", "points": 200}] and view["balance"] == 200
    expire = env.ledger(m)[f"{m}/X:2029-01-31:1/EXPIRE"]
    assert (expire["type"], expire["points"], expire["lot_expires_on"], expire["balance_after"]) == \
        ("EXPIRE", -1_700, date(2029, 1, 31), 200)
    assert expire["occurred_at"] == datetime(2029, 1, 31, 14, 59, 59, tzinfo=UTC)  # 23:59:59 JST
    assert env.check_invariant(m) == 200
    assert not env.redis.sismember("idx:lots:2029-01-31", m)

    # twice: nothing changes, nothing is published
    version, n_ledger = env.member(m).version, len(env.out("ledger", m))
    again = env.expire("2029-02-01")
    assert again["changed"] == 0 and again["points"] == 0
    assert env.member(m).version == version and len(env.out("ledger", m)) == n_ledger
    assert env.check_invariant(m) == 200


def test_cancellation_refilling_an_emptied_lot_expires_later(env):
    """A cancellation requested before the expiry date but applied after the expiry job ran puts the
    points back into the lot; the next expiry run must still find them (the lot index)."""
    m = "EX-REFILL"
    env.send("enrollments", enrollment(m))
    env.send("postings", posting("ER-1", m, "20000", bdate="2027-05-01"))  # 400 -> 2030-01-31
    env.sync()
    env.send("redemptions", redemption("ER-R", m, "PAY_BY_POINTS", amount="500", at="2029-06-01T10:00:00+09:00"))
    env.sync()
    assert env.view(m)["balance"] == 0
    env.expire("2030-02-01")  # the 2030 lot is empty: the member leaves its index
    assert not env.redis.sismember("idx:lots:2030-01-31", m)
    env.send("redemptions", redemption("ER-C", m, "CANCEL", at="2030-01-20T10:00:00+09:00", cancels="ER-R"))
    env.sync()
    assert env.view(m)["lots"] == [{"expires_on": "2030-01-31", "points": 400}]
    env.expire("2030-02-01")
    assert env.view(m)["balance"] == 0 and env.view(m)["lots"] == []
    expire = env.ledger(m)[f"{m}/X:2030-01-31:1/EXPIRE"]
    assert expire["points"] == -400
    assert env.check_invariant(m) == 0


def test_expiry_walks_the_index_in_chunks(env):
    """60 members with a 2028 lot, expired 7 members at a time; members without that lot are not
    touched (the job reads the lot's index, not every member)."""
    members = [f"EX-CH{i:03d}" for i in range(60)]
    env.send("enrollments", *(enrollment(m, "2025-01-01") for m in members), enrollment("EX-OTHER"))
    env.send("postings", *(posting(f"CH-{m}", m, str(5_000 * (i + 1)), bdate="2025-08-01")
                           for i, m in enumerate(members)))  # 100 * (i + 1) -> 2028-01-31
    env.send("postings", posting("CH-OTHER", "EX-OTHER", "50000", bdate="2026-08-01"))  # 2029 lot
    env.sync()
    other_version = env.member("EX-OTHER").version
    assert env.redis.scard("idx:lots:2028-01-31") == 60
    report = jobs.expire(env.jobs.engine, date(2028, 2, 1), env.jobs.publisher(), chunk=7)
    assert report.members == 60 and report.changed == 60
    assert report.points == sum(100 * (i + 1) for i in range(60))
    assert not env.redis.exists("idx:lots:2028-01-31")
    assert b"2028-01-31" not in env.redis.smembers("idx:lotdates")
    assert env.member("EX-OTHER").version == other_version
    for m in members[:5] + members[-5:]:
        assert env.check_invariant(m) == 0
