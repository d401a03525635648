"""Redemptions through Kafka + Redis (program-rules §4): every award, every rejection reason on
redemptions.results.v1, a redelivered request processed once (and a reused id with other content
dead-lettered), vector 25, a cancellation after partial expiry, and concurrent redeem + earn for
one member from two engines (the worker and a direct ``Engine.process``): the compare-and-set
must lose nothing.
"""
from __future__ import annotations

import threading

import pytest

from schemas.jsonio import from_json
from streams.engine.batch import Engine, Message
from tests.harness import enrollment, posting, redemption
from tests.lifecycle_support import LifecycleEnv

AT = "2026-06-01T10:00:00+09:00"


@pytest.fixture(scope="module")
def env(kafka_bootstrap, redis_url):
    with LifecycleEnv(kafka_bootstrap, redis_url, db=2, name="lcr") as e:
        yield e


def results(env, member):
    return {r["request_id"]: r for r in env.out("results", member)}


def brief(r):
    return r["outcome"], r["reason"], r["points"], [(u["expires_on"].isoformat(), u["points"]) for u in r["lots_used"]]


AWARDS = [  # request id, award, quantity, amount, channel, points
    ("AW-PBP", "PAY_BY_POINTS", 1, "5000", None, 4_000),
    ("AW-STD", "STAY_STANDARD", 1, None, None, 10_000),
    ("AW-SUP", "STAY_SUPERIOR", 1, None, None, 15_000),
    ("AW-UPS", "UPGRADE_STANDARD_TO_SUPERIOR", 1, None, "DIRECT", 1_000),
    ("AW-UPD", "UPGRADE_SUPERIOR_TO_DELUXE", 1, None, "RESERVATION_CENTER", 4_000),
    ("AW-BFA", "BREAKFAST_ADULT", 2, None, None, 4_000),
    ("AW-BFC", "BREAKFAST_CHILD", 2, None, None, 2_200),  # vector 21
]


def test_every_award(env):
    m = "RD-AWARDS"
    env.send("enrollments", enrollment(m))
    env.send("postings", posting("AW-EARN", m, "2500000", nights=3))  # 50,000 -> lot 2029-01-31
    env.sync()
    for rid, award, qty, amount, channel, _ in AWARDS:
        env.send("redemptions", redemption(rid, m, award, qty, amount=amount, channel=channel, at=AT))
    env.sync()
    got = results(env, m)
    for rid, award, _, _, _, points in AWARDS:
        assert brief(got[rid]) == ("APPROVED", None, points, [("2029-01-31", points)]), rid
        assert got[rid]["award"] == award
    spent = sum(a[-1] for a in AWARDS)
    assert spent == 40_200
    # results of one member come in order: balance_after goes down step by step
    assert [got[a[0]]["balance_after"] for a in AWARDS] == \
        [50_000 - sum(x[-1] for x in AWARDS[:i + 1]) for i in range(len(AWARDS))]
    redeems = sorted(e["points"] for e in env.ledger(m).values() if e["type"] == "REDEEM")
    assert redeems == sorted(-a[-1] for a in AWARDS)
    assert env.check_invariant(m) == 50_000 - spent
    assert env.view(m)["lots"] == [{"expires_on": "2029-01-31", "points": 9_800}]


def test_every_rejection_reason(env):
    m, closed, ghost = "RD-REJ", "RD-CLOSED", "RD-GHOST"
    env.send("enrollments", enrollment(m), enrollment(closed, state="CLOSED"))
    env.send("postings", posting("RJ-EARN", m, "100000"))  # 2,000
    env.sync()
    cases = {
        "RJ-INSUF": (redemption("RJ-INSUF", m, "STAY_STANDARD", at=AT), "INSUFFICIENT_POINTS"),
        "RJ-CHAN": (redemption("RJ-CHAN", m, "UPGRADE_STANDARD_TO_SUPERIOR", channel="OFFICIAL_WEBSITE", at=AT),
                    "CHANNEL_NOT_ELIGIBLE"),  # vector 22
        "RJ-AMT": (redemption("RJ-AMT", m, "PAY_BY_POINTS", amount="700", at=AT), "INVALID_AMOUNT"),  # vector 20
        "RJ-AWD": (redemption("RJ-AWD", m, "SPA_DAY", at=AT), "UNKNOWN_AWARD"),
        "RJ-QTY": (redemption("RJ-QTY", m, "BREAKFAST_ADULT", 0, at=AT), "INVALID_QUANTITY"),
        "RJ-GHOST": (redemption("RJ-GHOST", ghost, "BREAKFAST_ADULT", at=AT), "UNKNOWN_MEMBER"),
        "RJ-CLOSED": (redemption("RJ-CLOSED", closed, "BREAKFAST_ADULT", at=AT), "MEMBER_CLOSED"),
    }
    for req, _ in cases.values():
        env.send("redemptions", req)
    env.sync()
    got = {r["request_id"]: r for r in env.out("results") if r["request_id"] in cases}
    assert set(got) == set(cases)
    for rid, (req, reason) in cases.items():
        r = got[rid]
        assert (r["outcome"], r["reason"], r["points"], r["lots_used"]) == ("REJECTED", reason, 0, []), rid
        assert r["member_id"] == req["member_id"]
    assert got["RJ-INSUF"]["balance_after"] == 2_000
    # nothing deducted
    assert [e["type"] for e in env.ledger(m).values()] == ["EARN"]
    assert env.check_invariant(m) == 2_000
    assert env.ledger(closed) == {} and env.ledger(ghost) == {}


def test_redelivered_request_processed_once(env):
    m = "RD-DUP"
    env.send("enrollments", enrollment(m))
    env.send("postings", posting("DUP-EARN", m, "100000"))  # 2,000
    env.sync()
    req = redemption("DUP-1", m, "BREAKFAST_CHILD", 1, at=AT)  # 1,100
    bad = redemption("DUP-2", m, "STAY_STANDARD", at=AT)  # rejected, balance 900
    env.send("redemptions", req, req, bad)
    env.sync()
    env.send("postings", posting("DUP-EARN2", m, "50000"))  # 1,000 more: the balance moves on
    env.sync()
    env.send("redemptions", req, bad)  # redelivered later
    env.sync()
    mine = [r for r in env.out("results", m)]
    assert [r["request_id"] for r in mine] == ["DUP-1", "DUP-1", "DUP-2", "DUP-1", "DUP-2"]
    dup1 = [r for r in mine if r["request_id"] == "DUP-1"]
    dup2 = [r for r in mine if r["request_id"] == "DUP-2"]
    assert all(r == dup1[0] for r in dup1) and dup1[0]["outcome"] == "APPROVED" and dup1[0]["balance_after"] == 900
    assert all(r == dup2[0] for r in dup2) and dup2[0]["reason"] == "INSUFFICIENT_POINTS"
    assert dup2[0]["balance_after"] == 900  # the same answer as the first time
    ledger = env.ledger(m)
    assert sorted((e["type"], e["points"]) for e in ledger.values()) == \
        [("EARN", 1_000), ("EARN", 2_000), ("REDEEM", -1_100)]
    raw_redeems = [e for e in env.out("ledger", m) if e["type"] == "REDEEM"]
    assert len(raw_redeems) == 3 and len({e["entry_id"] for e in raw_redeems}) == 1  # replayed, same id
    assert env.check_invariant(m) == 1_900
    # the balance feed: a replay reports the stored version, never one that a later change will reuse
    feed = env.out("balances", m)
    by_version = {}
    for b in feed:
        assert by_version.setdefault(b["version"], (b["balance"], b["lots"])) == (b["balance"], b["lots"]), b
    assert feed[-1]["version"] == env.member(m).version and feed[-1]["balance"] == 1_900
    # the same request id with other content: dead-lettered, nothing changes
    version = env.member(m).version
    env.send("redemptions", redemption("DUP-1", m, "BREAKFAST_CHILD", 2, at=AT))
    env.sync()
    dlq = [d for d in env.out("dlq") if d["key"] == m.encode()]
    assert len(dlq) == 1
    assert dlq[0]["headers"]["error"].startswith(b"CONFLICT: R:DUP-1")
    assert dlq[0]["headers"]["origin.topic"] == env.topics.redemptions.encode()
    assert env.member(m).version == version and env.check_invariant(m) == 1_900


def test_vector_25_and_cancel_after_partial_expiry(env):
    v25, cx = "RD-V25", "RD-CANCEL"
    env.send("enrollments", enrollment(v25), enrollment(cx))
    for m in (v25, cx):
        env.send("postings", posting(f"{m}-26", m, "15000", bdate="2026-03-14"),  # 300 -> 2029-01-31
                 posting(f"{m}-27", m, "250000", bdate="2027-02-10"))  # 5,000 -> 2030-01-31
    env.sync()
    env.send("redemptions",
             redemption("V25-R", v25, "UPGRADE_STANDARD_TO_SUPERIOR", channel="DIRECT",
                        at="2028-06-01T10:00:00+09:00"),  # 1,000
             redemption("CX-R", cx, "BREAKFAST_ADULT", at="2028-06-01T10:00:00+09:00"))  # 2,000
    env.sync()
    assert brief(results(env, v25)["V25-R"]) == ("APPROVED", None, 1_000, [("2029-01-31", 300), ("2030-01-31", 700)])
    assert brief(results(env, cx)["CX-R"]) == ("APPROVED", None, 2_000, [("2029-01-31", 300), ("2030-01-31", 1_700)])
    # a late 2026 posting refills the 2029 lot; the expiry job takes it on 2029-02-01
    env.send("postings", posting("CX-LATE", cx, "25000", bdate="2026-12-31"))  # 500 -> 2029-01-31
    env.sync()
    env.expire("2029-02-01")
    assert env.view(cx)["lots"] == [{"expires_on": "2030-01-31", "points": 3_300}]
    env.send("redemptions", redemption("CX-C", cx, "CANCEL", at="2029-02-05T10:00:00+09:00", cancels="CX-R"))
    env.sync()
    r = results(env, cx)["CX-C"]
    assert brief(r) == ("APPROVED", None, 2_000, [("2030-01-31", 1_700)]) and r["balance_after"] == 5_000
    entries = env.ledger(cx)
    assert sorted((e["type"], e["points"], e["lot_expires_on"] and e["lot_expires_on"].isoformat())
                  for e in entries.values()) == sorted([
                      ("EARN", 300, "2029-01-31"), ("EARN", 5_000, "2030-01-31"), ("REDEEM", -2_000, None),
                      ("EARN", 500, "2029-01-31"), ("EXPIRE", -500, "2029-01-31"), ("REFUND", 2_000, None),
                      ("EXPIRE", -300, "2029-01-31")])
    assert entries[f"{cx}/R:CX-C/EXPIRE"]["balance_after"] == 5_000
    assert env.view(cx)["lots"] == [{"expires_on": "2030-01-31", "points": 5_000}]
    assert env.check_invariant(cx) == 5_000
    assert env.check_invariant(v25) == 4_300


def test_concurrent_redeem_and_earn_lose_nothing(env):
    """The worker applies earnings while a second engine (in this thread) applies redemptions of the
    same member; first a forced conflict, then a free race."""
    m = "RD-CONC"
    env.send("enrollments", enrollment(m))
    env.send("postings", posting("CC-BASE", m, "1000000"))  # 20,000
    env.sync()
    engine: Engine = env.jobs.engine
    publish = env.jobs.publisher()

    def msg(obj, offset):
        value = engine.codec.encode("RedemptionRequest", from_json("RedemptionRequest", obj))
        return Message(env.topics.redemptions, 0, offset, m.encode(), value)

    # 1. forced: between this engine's load and its compare-and-set, the worker applies an earning
    store = engine.store
    real_load = store.load_many
    interfered = []

    def load_then_interfere(wants, cacheable=()):
        loaded = real_load(wants, cacheable)
        if not interfered:
            interfered.append(True)
            env.send("postings", posting("CC-RACE", m, "5000"))  # 100, applied by the worker meanwhile
            env.sync()
        return loaded

    store.load_many = load_then_interfere
    try:
        res = engine.process([msg(redemption("CC-R0", m, "PAY_BY_POINTS", amount="500", at=AT), 10_000)])
    finally:
        store.load_many = real_load
    assert res.cas_retries == 1
    publish(res)
    assert env.check_invariant(m) == 20_000 + 100 - 400

    # 2. free race: 200 earnings through the worker, 25 redemptions through this engine, at once
    for i in range(200):
        env.send("postings", posting(f"CC-E{i}", m, "5000"))  # 100 each
    env.pub.flush()
    retries = 0

    def redeem_all():
        nonlocal retries
        for i in range(25):
            r = engine.process([msg(redemption(f"CC-R{i + 1}", m, "PAY_BY_POINTS", amount="500", at=AT),
                                    10_001 + i)])
            retries += r.cas_retries
            publish(r)

    t = threading.Thread(target=redeem_all)
    t.start()
    t.join(60)
    env.sync()
    view = env.view(m)
    expected = 20_000 + 100 - 400 + 200 * 100 - 25 * 400
    assert view["balance"] == expected
    assert env.check_invariant(m) == expected
    got = results(env, m)
    assert all(got[f"CC-R{i}"]["outcome"] == "APPROVED" for i in range(26))
    ledger = env.ledger(m)
    assert sum(1 for e in ledger.values() if e["type"] == "EARN") == 1 + 1 + 200
    assert sum(1 for e in ledger.values() if e["type"] == "REDEEM") == 26
    assert view["qualifying"]["2026"]["points"] == 20_000 + 100 + 200 * 100
    worker_retries = env.running.worker.metrics.total("harmony_cas_retries_total")
    print(f"free race: {retries} CAS retries in the direct engine, {worker_retries:.0f} in the worker")
