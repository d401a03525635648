"""Shared by the member store contract tests and the engine unit tests: the program config, the
codec, encoded input messages (as the engine reads them from Kafka), and a member with every kind
of state built through the aggregate (lots, debt, qualifying years, a closed year, held inputs)."""
from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from processors.config import ProgramConfig
from processors.fx import FxTable
from processors.member import Context, Member
from processors.model import JST
from schemas.codec import Codec
from schemas.jsonio import from_json
from streams.engine.events import DOMAIN_CLASSES, fingerprint
from streams.engine.messages import Message
from streams.kafka.topics import Topics
from tests.harness import enrollment, posting, redemption

CONFIG = Path(__file__).resolve().parents[1] / "config" / "program.toml"
with CONFIG.open("rb") as _f:
    CFG = ProgramConfig.from_mapping(tomllib.load(_f), str(CONFIG))
NOW = datetime(2027, 2, 1, 9, tzinfo=JST)
CODEC = Codec()
TOPICS = Topics(prefix="u.")
RECORDS = {TOPICS.postings: "FolioPosting", TOPICS.bills: "PosBill", TOPICS.enrollments: "MemberEnrollment",
           TOPICS.redemptions: "RedemptionRequest", TOPICS.fx: "FxRate", TOPICS.adjustments: "PointAdjustment",
           TOPICS.claims: "ChargeClaim"}


def encode(topic: str, obj: dict) -> bytes:
    name = RECORDS[topic]
    return CODEC.encode(name, from_json(name, obj))


def decode_held(topic: str, raw: bytes):
    """The store's ``decode_held``: Avro bytes -> domain event."""
    return CODEC.decode_domain(raw, DOMAIN_CLASSES)[1]


class Feed:
    """Encoded messages on the engine's input topics, offsets counted per topic."""

    def __init__(self) -> None:
        self.offsets: dict[str, int] = {}

    def __call__(self, topic: str, obj: dict, partition: int = 0) -> Message:
        offset = self.offsets.get(topic, 0)
        self.offsets[topic] = offset + 1
        key = obj.get("member_id")
        return Message(topic, partition, offset, key.encode() if key else None, encode(topic, obj))


def ctx(now: datetime = NOW, fx: FxTable | None = None) -> Context:
    return Context(CFG, fx or FxTable(), now)


def _apply(m: Member, topic: str, obj: dict, c: Context) -> None:
    raw = encode(topic, obj)
    ev = decode_held(topic, raw)
    if topic == TOPICS.enrollments:
        m.handle_enrollment(ev, c)
    elif topic == TOPICS.redemptions:
        m.handle_redemption(ev, raw, fingerprint(raw), c, topic)
    else:
        m.handle_charge(ev, topic, raw, fingerprint(raw), c)


def rich_member(m: Member, c: Context | None = None) -> Member:
    """Every kind of member state on ``m`` (a member as loaded, unit of work empty): enrolled; a
    redemption; a correction reversing more than is left (debt: lots and debt never coexist, see
    ``earning_member``); qualifying counters of 2025 and 2026; 2025 closed with a status; a posting
    in USD held for its rate (no FX table)."""
    c = c or ctx()
    mid = m.member_id
    _apply(m, TOPICS.enrollments, enrollment(mid, "2025-01-01"), c)
    _apply(m, TOPICS.postings, posting(f"{mid}-A", mid, "500000", bdate="2025-05-10"), c)  # 10,000 points
    _apply(m, TOPICS.postings, posting(f"{mid}-B", mid, "100000", bdate="2026-03-14"), c)  # 2,000
    m.close_year(2025, c.cfg, date(2026, 3, 20), frozenset({2025}))
    _apply(m, TOPICS.redemptions, redemption(f"{mid}-R", mid, "STAY_STANDARD", at="2026-06-01T10:00:00+09:00"), c)
    _apply(m, TOPICS.postings, posting(f"{mid}-C", mid, "-500000", bdate="2026-06-02", corrects=f"{mid}-A"), c)
    _apply(m, TOPICS.postings, posting(f"{mid}-U", mid, "100", currency="USD", bdate="2026-07-01",
                                            hotel="NIKKO-SAIPAN"), c)
    return m


def earning_member(m: Member, c: Context | None = None) -> Member:
    """A member with points in two lots and a redemption (and 2026 qualifying counters)."""
    c = c or ctx()
    mid = m.member_id
    _apply(m, TOPICS.enrollments, enrollment(mid, "2025-01-01"), c)
    _apply(m, TOPICS.postings, posting(f"{mid}-A", mid, "50000", bdate="2025-05-10"), c)  # 1,000 points
    _apply(m, TOPICS.postings, posting(f"{mid}-B", mid, "100000", bdate="2026-03-14"), c)  # 2,000
    _apply(m, TOPICS.redemptions, redemption(f"{mid}-R", mid, "PAY_BY_POINTS", amount="1000",
                                             at="2026-06-01T10:00:00+09:00"), c)
    return m


SIDS = ("P:{m}-A", "P:{m}-B", "R:{m}-R", "P:{m}-C", "P:{m}-U")


def sids_of(mid: str) -> list[str]:
    return [s.format(m=mid) for s in SIDS]


class Session:
    """A store as one engine batch uses it: what ``load`` hands out, ``save_many`` hands back with the
    store's snapshot of it (the engine keeps the snapshots of ``load_many`` for one batch). Every
    other attribute is the store's."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.snapshots: dict[int, Any] = {}  # by the id() of the member object handed out

    def load(self, member_id: str, sids: Iterable[str] = ()) -> Member:
        return self.load_many({member_id: list(sids)})[member_id]

    def load_many(self, wants: Mapping[str, Iterable[str]], cacheable: Iterable[str] = ()) -> Any:
        loaded = self.store.load_many(wants, cacheable)
        for mid, m in loaded.items():
            self.snapshots[id(m)] = loaded.snapshots[mid]
        return loaded

    def save_many(self, members: Sequence[Member]) -> set[str]:
        return self.store.save_many(members, {m.member_id: self.snapshots[id(m)] for m in members})

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)
