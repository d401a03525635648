"""The batch engine over the in-memory member store (streams/memory): no Redis, no broker.

A batch of encoded input messages in -> decisions, ledger records, balances, changelog records and
the positions reached; a replay of the same batch changes nothing and publishes the same ledger
records; a compare-and-set refused because another writer saved the member first is retried
(reload, decide again); held inputs released by an FX rate; the jobs walk the store's indexes.
And the engine's own rule: streams/engine imports no client library and no adapter."""
from __future__ import annotations

import ast
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from processors.fx import FxTable
from processors.member import Member
from streams.engine import jobs
from streams.engine.batch import Engine
from streams.engine.events import fingerprint
from streams.engine.messages import BatchResult, Message
from streams.memory.member_store import MemoryMemberStore
from streams.runtime.metrics import Metrics
from tests.harness import enrollment, fx_rate, posting, redemption
from tests.store_support import CFG, CODEC, NOW, TOPICS, Feed, decode_held, encode

T = TOPICS


def make_engine(store: MemoryMemberStore | None = None) -> Engine:
    return Engine(T, CODEC, store or MemoryMemberStore(), lambda: CFG, FxTable(), Metrics(), lambda: NOW)


def by_topic(result: BatchResult) -> Counter:
    return Counter(r.topic for r in result.records)


def decoded(result: BatchResult, topic: str) -> list[dict]:
    return [CODEC.decode(r.value)[1] for r in result.records if r.topic == topic and r.value is not None]


def ledger(result: BatchResult) -> list[tuple[bytes | None, bytes | None]]:
    return sorted((r.key, r.value) for r in result.records if r.topic == T.ledger)


def first_batch(feed: Feed) -> list[Message]:
    return [feed(T.enrollments, enrollment("M1", "2025-01-01")),
            feed(T.enrollments, enrollment("M2", "2025-01-01")),
            feed(T.postings, posting("P1", "M1", "50000", bdate="2026-03-14")),  # 1,000 points
            feed(T.postings, posting("P2", "M1", "100000", bdate="2026-03-15")),  # 2,000
            feed(T.postings, posting("P3", "M2", "10000", bdate="2026-03-15")),  # 200
            feed(T.redemptions, redemption("R1", "M1", "PAY_BY_POINTS", amount="1000",
                                           at="2026-06-01T10:00:00+09:00"))]  # -800


def test_a_batch_decides_records_and_reaches_positions():
    engine, feed = make_engine(), Feed()
    result = engine.process(first_batch(feed))
    store = engine.store
    assert store.load("M1").balance == 2_200 and store.load("M2").balance == 200
    assert store.load("M1").version == 1  # one compare-and-set for the whole batch of M1
    assert result.positions == {(T.enrollments, 0): 2, (T.postings, 0): 3, (T.redemptions, 0): 1}
    assert result.members == 2 and result.cas_retries == 0
    outcomes = sorted((d["source_id"], d["outcome"], d["base_points"]) for d in decoded(result, T.decisions))
    assert outcomes == [("P:P1", "EARNED", 1000), ("P:P2", "EARNED", 2000), ("P:P3", "EARNED", 200)]
    entries = sorted((e["member_id"], e["type"], e["points"]) for e in decoded(result, T.ledger))
    assert entries == [("M1", "EARN", 1000), ("M1", "EARN", 2000), ("M1", "REDEEM", -800), ("M2", "EARN", 200)]
    assert [r["outcome"] for r in decoded(result, T.results)] == ["APPROVED"]
    assert {b["member_id"]: b["balance"] for b in decoded(result, T.balances)} == {"M1": 2_200, "M2": 200}
    assert by_topic(result)[T.state] > 0  # the changelog: member state for `harmony rebuild`
    assert store.index.members("active:2026") == ["M1", "M2"]
    assert [e["points"] for e in store.recent_ledger("M1")] == [-800, 2000, 1000]


def test_a_replayed_batch_changes_nothing_and_publishes_the_same_ledger():
    store = MemoryMemberStore()
    engine, feed = make_engine(store), Feed()
    batch = first_batch(feed)
    first = engine.process(batch)
    saves, state = store.saves, {mid: (m.core.version, m.core.lots, len(m.ledger)) for mid, m in store.members.items()}
    again = engine.process(batch)  # redelivered after a crash before the offsets were committed
    assert store.saves == saves  # nothing changed: no compare-and-set at all
    assert {mid: (m.core.version, m.core.lots, len(m.ledger)) for mid, m in store.members.items()} == state
    assert ledger(again) == ledger(first)  # the same entries, the same ids
    assert sorted(d["decision_id"] for d in decoded(again, T.decisions)) == \
        sorted(d["decision_id"] for d in decoded(first, T.decisions))
    assert again.positions == first.positions


class RacingStore(MemoryMemberStore):
    """Another writer saves ``member`` between the engine's load and its first compare-and-set."""

    def __init__(self, member: str, meddle):
        super().__init__()
        self.member, self.meddle, self.raced = member, meddle, False

    def save_many(self, members: Sequence[Member], snapshots: Mapping[str, Any]) -> set[str]:
        if not self.raced and any(m.member_id == self.member for m in members):
            self.raced = True
            loaded = self.load_many({self.member: []})
            other = loaded[self.member]
            self.meddle(other)
            assert super().save_many([other], loaded.snapshots) == set()
        return super().save_many(members, snapshots)


def test_a_refused_compare_and_set_is_retried_with_the_other_writers_change():
    base = MemoryMemberStore()
    engine, feed = make_engine(base), Feed()
    engine.process([feed(T.enrollments, enrollment("M1", "2025-01-01"))])
    raw = encode(T.postings, posting("PX", "M1", "20000", bdate="2026-03-01"))

    def meddle(m: Member) -> None:  # the other writer (another worker) earns 400 points for PX
        m.handle_charge(decode_held(T.postings, raw), T.postings, raw, fingerprint(raw), engine.context())

    store = RacingStore("M1", meddle)
    store.members = base.members  # the same member state
    engine.store = store
    result = engine.process([feed(T.postings, posting("P1", "M1", "50000", bdate="2026-03-14"))])
    assert result.cas_retries == 1
    m = store.load("M1")
    assert m.version == 3 and m.balance == 1_000 + 400  # both writers' points, none lost
    assert [d["source_id"] for d in decoded(result, T.decisions)] == ["P:P1"]  # decided once, after the reload
    assert [e["points"] for e in decoded(result, T.ledger)] == [1000]


def test_held_input_released_by_its_fx_rate():
    store = MemoryMemberStore()
    engine, feed = make_engine(store), Feed()
    engine.process([feed(T.enrollments, enrollment("M1", "2025-01-01")),
                    feed(T.postings, posting("U1", "M1", "100", currency="USD", hotel="NIKKO-SAIPAN",
                                             bdate="2026-07-01"))])
    assert store.index.members("fxwait:USD") == ["M1"] and store.load("M1").held
    result = engine.process([feed(T.fx, fx_rate("USD", "2026-06-30", "150"))])  # 15,000 JPY: 300 points
    assert [(d["outcome"], d["base_points"]) for d in decoded(result, T.decisions)] == [("EARNED", 300)]
    assert store.index.members("fxwait:USD") == [] and not store.load("M1").held
    assert result.released == [("M1", "P:U1")] and store.index.members("released") == ["M1"]
    engine.clean_released(result)  # after the outputs are delivered
    assert store.load("M1").released == {} and store.index.members("released") == []
    assert store.load("M1").balance == 300


def test_memberless_charge_is_decided_and_kept_for_claims():
    engine, feed = make_engine(), Feed()
    result = engine.process([feed(T.postings, posting("N1", None, "20000", bdate="2027-01-20"))])
    assert [(d["outcome"], d["reason"]) for d in decoded(result, T.decisions)] == [("EXCLUDED", "NO_MEMBER")]
    assert [r.key for r in result.records if r.topic == T.state] == [b"k|P:N1"]


def test_expiry_job_walks_the_lot_index():
    store = MemoryMemberStore()
    engine, feed = make_engine(store), Feed()
    engine.process(first_batch(feed))
    lots = store.load("M2").lots.by_expiry
    assert list(lots) == [date(2029, 1, 31)]
    published: list[BatchResult] = []
    report = jobs.expire(engine, date(2029, 2, 1), published.append)
    assert report.points == 200 + 2_200 and store.load("M2").balance == 0
    assert store.index.members("lots:2029-01-31") == [] and store.index.members("lotdates") == []
    assert report.as_dict()["members"] == 2


# ---------------------------------------------------------------- the engine's imports
FORBIDDEN = ("redis", "confluent_kafka", "faust", "aiohttp", "streams.redis", "streams.kafka", "streams.runtime",
             "streams.web", "streams.cli", "streams.memory", "bench")
ENGINE = Path(__file__).resolve().parents[2] / "streams" / "engine"


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


@pytest.mark.parametrize("path", sorted(ENGINE.glob("*.py")), ids=lambda p: p.name)
def test_the_engine_imports_no_client_and_no_adapter(path: Path):
    bad = sorted(n for n in imports_of(path) if any(n == f or n.startswith(f + ".") for f in FORBIDDEN))
    assert bad == [], f"{path.name} imports {bad}: the engine talks to ports (streams/engine/ports.py)"
