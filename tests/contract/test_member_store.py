"""One contract for the engine's member store port, run against every adapter: Redis (a real
redis-server, the session's `redis_url`) and memory (streams/memory, no server) — the way
eventsourcing runs one test case against each persistence module. What the engine relies on:
loads of unknown members, round trips of every kind of state, compare-and-set on the version
(a stale save is refused and changes nothing), the recent ledger, ``exists``, RELEASED markers,
the indexes and the kept charges of claims."""
from __future__ import annotations

from collections.abc import Callable

import pytest

from processors.fx import FxTable
from processors.member import Member
from streams.engine.events import fingerprint
from streams.memory.member_store import MemoryMemberStore
from streams.redis.member_store import MemberStore as RedisMemberStore
from tests.harness import fx_rate, posting
from tests.store_support import (
    TOPICS,
    Session,
    ctx,
    decode_held,
    earning_member,
    encode,
    rich_member,
    sids_of,
)

Factory = Callable[..., Session]


@pytest.fixture(params=["memory", "redis"])
def make_store(request) -> Factory:
    """A factory of stores of one adapter (``ledger_keep`` as the adapters take it); Redis flushed first."""
    if request.param == "memory":
        return lambda ledger_keep=100: Session(MemoryMemberStore(ledger_keep=ledger_keep))
    client = request.getfixturevalue("redis_clean")
    return lambda ledger_keep=100: Session(RedisMemberStore(client, decode_held, ledger_keep=ledger_keep))


@pytest.fixture
def store(make_store: Factory) -> Session:
    return make_store()


def state(m: Member) -> tuple:
    """Everything a load brings back, comparable."""
    held = {sid: (h.topic, h.event, h.raw, h.fingerprint, h.reason, h.first_seen, h.currency)
            for sid, h in {**m.held, **m.released}.items()}
    return (m.member_id, m.enrolled_on, m.enrollment_state, {d: p for d, p in m.lots.by_expiry.items() if p},
            m.lots.debt, m.qualifying, m.statuses, m.closed, m.revisions, m.expired_count,
            {sid: r.to_dict() for sid, r in m.src.items()}, held, sorted(m.released_loaded))


def saved(store: Session, build: Callable[[Member], Member], mid: str) -> Member:
    m = build(store.load(mid))
    assert store.save_many([m]) == set()
    return m


# ---------------------------------------------------------------- load / save
def test_an_unknown_member_loads_as_new(store: Session):
    m = store.load("NOBODY", ["P:X"])
    assert (m.version, m.enrolled_on, m.src, m.held, m.released) == (0, None, {}, {}, {})
    assert not store.exists("NOBODY")
    assert store.recent_ledger("NOBODY") == [] and store.ledger_length("NOBODY") == 0
    assert store.load_many({"A": [], "B": ["P:1"]}).keys() == {"A", "B"}


@pytest.mark.parametrize("build", [rich_member, earning_member], ids=["debt-held-closed", "lots"])
def test_round_trip_of_every_kind_of_state(store: Session, build):
    m = saved(store, build, "C1")
    assert m.saved_version == 1 and store.exists("C1")
    back = store.load("C1", sids_of("C1"))
    assert back.version == 1
    assert state(back) == state(m)
    assert not back.changed


def test_a_load_brings_the_records_asked_for(store: Session):
    saved(store, earning_member, "C1")
    m = store.load("C1", ["P:C1-B", "P:NOT-THERE"])
    assert set(m.src) == {"P:C1-B"}


def test_saves_continue_from_the_version_loaded(store: Session):
    saved(store, earning_member, "C1")
    m = store.load("C1")
    charge(m, posting("C1-D", "C1", "30000", bdate="2026-08-01"))
    assert store.save_many([m]) == set() and m.saved_version == 2
    back = store.load("C1", ["P:C1-D"])
    assert back.version == 2 and back.balance == m.balance == 2_800  # 3,000 earned - 800 redeemed + 600


def test_a_stale_save_is_refused_and_changes_nothing(store: Session):
    saved(store, earning_member, "C1")
    first, second = store.load("C1"), store.load("C1")
    charge(first, posting("C1-D", "C1", "30000", bdate="2026-08-01"))
    charge(second, posting("C1-E", "C1", "50000", bdate="2026-08-02"))
    ledger = store.ledger_length("C1")
    assert store.save_many([first]) == set()
    assert store.save_many([second]) == {"C1"}  # decided on version 1, the store is at 2
    assert second.saved_version is None
    back = store.load("C1", ["P:C1-D", "P:C1-E"])
    assert back.version == 2 and set(back.src) == {"P:C1-D"} and back.balance == first.balance
    assert store.ledger_length("C1") == ledger + 1


def test_a_refused_member_does_not_stop_the_others(store: Session):
    saved(store, earning_member, "C1")
    stale = store.load("C1")
    saved(store, lambda m: charge(m, posting("C1-D", "C1", "30000")), "C1")
    charge(stale, posting("C1-E", "C1", "30000"))
    fresh = earning_member(store.load("C2"))
    assert store.save_many([stale, fresh]) == {"C1"}
    assert fresh.saved_version == 1 and store.exists("C2")


def test_a_new_member_saved_twice_from_version_zero_is_refused_once(store: Session):
    a, b = store.load("C3"), store.load("C3")
    earning_member(a), earning_member(b)
    assert store.save_many([a]) == set()
    assert store.save_many([b]) == {"C3"}


# ---------------------------------------------------------------- ledger
def test_recent_ledger_newest_first_and_paged(make_store: Factory):
    store = make_store(ledger_keep=2)
    m = saved(store, earning_member, "C1")  # EARN 1,000, EARN 2,000, REDEEM -800
    moves = [(mv.entry.type, mv.entry.points, mv.source_id) for mv in m.effects.moves]
    assert len(moves) == 3
    assert store.ledger_length("C1") == 2  # the oldest is not kept
    got = [(e["type"], e["points"], e["source_id"]) for e in store.recent_ledger("C1")]
    assert got == moves[::-1][:2]
    page = store.recent_ledger("C1", start=1, count=1)
    assert [(e["type"], e["points"]) for e in page] == [moves[-2][:2]]
    assert page[0]["id"] == f"C1/{moves[-2][2]}/{moves[-2][0]}"
    assert set(page[0]) == {"id", "type", "points", "lot", "balance_after", "source_id", "at"}


# ---------------------------------------------------------------- released markers
def test_released_markers_load_and_drop(store: Session):
    saved(store, rich_member, "C1")
    m = store.load("C1", sids_of("C1"))
    fx = FxTable()
    fx.add(decode_held(TOPICS.fx, encode(TOPICS.fx, fx_rate("USD", "2026-06-30", "150"))))
    m.retry_held(ctx(fx=fx), lambda h: h.currency == "USD")
    assert set(m.released) == {"P:C1-U"} and not m.held
    assert store.save_many([m]) == set()
    store.index.add({"released": {"C1"}}, {})
    back = store.load("C1")
    assert set(back.released) == {"P:C1-U"} and back.released_loaded == {"P:C1-U"}
    assert "P:C1-U" in back.src  # a released input's record comes with it (outputs replayed from it)
    store.drop_released([("C1", "P:C1-U")])
    assert store.load("C1").released == {} and store.index.members("released") == []


# ---------------------------------------------------------------- indexes
def test_index_sets(store: Session):
    ix = store.index
    ix.add({"active:2026": {"a", "b"}, "lotdates": {"2029-01-31"}}, {})
    ix.add({"active:2026": {"c"}}, {})
    assert sorted(ix.members("active:2026")) == ["a", "b", "c"] and ix.size("active:2026") == 3
    assert sorted(x for chunk in ix.scan("active:2026", 2) for x in chunk) == ["a", "b", "c"]
    ix.remove("active:2026", ["a", "zz"])
    assert sorted(ix.members("active:2026")) == ["b", "c"]
    assert ix.members("lotdates") == ["2029-01-31"] and ix.members("nothing") == [] and ix.size("nothing") == 0
    assert list(ix.scan("nothing", 10)) == []


def test_index_scores_keep_the_earliest_and_reschedule_only_members(store: Session):
    ix = store.index
    ix.add({}, {"unknown": {"a": 100.0, "b": 300.0}})
    ix.add({}, {"unknown": {"a": 200.0, "b": 50.0}})  # idempotent adds keep the earliest
    assert ix.due("unknown", 99) == ["b"] and sorted(ix.due("unknown", 100)) == ["a", "b"]
    ix.reschedule("unknown", "a", 1000.0)
    ix.reschedule("unknown", "z", 1.0)  # not indexed: not added
    ix.reschedule("unknown", "b", None)
    assert ix.due("unknown", 999) == [] and ix.due("unknown", 1000) == ["a"]


def test_closed_years(store: Session):
    assert store.index.closed_years() == frozenset()
    store.index.close_year(2026)
    store.index.close_year(2026)
    store.index.close_year(2025)
    assert store.index.closed_years() == {2025, 2026}


# ---------------------------------------------------------------- kept charges (claims)
def test_kept_charges_find_reserve_and_owner(store: Session):
    kept = store.kept_charges(TOPICS, lambda raw: decode_held(TOPICS.postings, raw))
    raw = encode(TOPICS.postings, posting("K1", None, "20000", bdate="2027-01-20"))
    ev = decode_held(TOPICS.postings, raw)
    assert [k for k, _ in kept.keep([(ev, raw)], 30, ctx().now)] == ["k|P:K1"]
    old = decode_held(TOPICS.postings, encode(TOPICS.postings, posting("K0", None, "1", bdate="2020-01-01")))
    assert kept.keep([(old, raw)], 30, ctx().now) == []  # its window has passed: not kept

    class Claim:
        def __init__(self, claim_id):
            self.claim_id = claim_id

    found = kept.find([("M1", Claim("CL1"), ["P:K1", "P:NONE"]), ("M2", Claim("CL2"), ["P:NONE"])])
    charge, taken = found["CL1"]
    assert charge is not None and charge.source_id == "P:K1" and charge.raw == raw and not taken
    assert found["CL2"] == (None, False)
    assert kept.reserve("M1", Claim("CL1"), "P:K1")
    assert kept.reserve("M1", Claim("CL1"), "P:K1")  # the same claim again (a replay)
    assert not kept.reserve("M2", Claim("CL9"), "P:K1")
    assert kept.find([("M2", Claim("CL9"), ["P:K1"])])["CL9"][1]  # taken by another claim
    correction = decode_held(TOPICS.postings, encode(TOPICS.postings,
                                                      posting("K1-C", None, "-20000", corrects="K1")))
    assert kept.owners_of_originals([correction]) == {"P:K1": "M1"}


# ---------------------------------------------------------------- changelog records
def test_changelog_core_fields_agree_between_adapters(redis_clean):
    stores = [Session(MemoryMemberStore()), Session(RedisMemberStore(redis_clean, decode_held))]
    fields = []
    for s in stores:
        m = saved(s, rich_member, "C1")
        assert m.saved_version is not None
        f = dict(s.store.core_fields(m, m.saved_version, s.snapshots[id(m)]))
        f.pop("n", None)  # Redis's save token
        fields.append({k: str(v) for k, v in f.items()})
        assert s.held_blob(m.held_entry("P:C1-U"))
    assert fields[0] == fields[1]
    held = rich_member(Member("X")).held["P:X-U"]
    assert stores[0].held_blob(held) == stores[1].held_blob(held)


def charge(m: Member, obj: dict) -> Member:
    raw = encode(TOPICS.postings, obj)
    m.handle_charge(decode_held(TOPICS.postings, raw), TOPICS.postings, raw, fingerprint(raw), ctx())
    return m

