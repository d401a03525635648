"""The engine's ``MemberStore`` port in process memory ("popo" persistence): engine tests without Redis.

Behaves as the Redis adapter (streams/redis/member_store.py) does, checked by one contract test
suite run against both (tests/contract/test_member_store.py):
- a member unknown to the store loads as a new member at version 0; ``exists`` is False until its
  first save;
- ``save_many`` is a compare-and-set on the version the member was loaded at: a stale save is
  refused (the id is returned) and changes nothing; a saved member gets ``saved_version``;
- a load brings the source records asked for (plus the originals its held inputs wait for), the
  held inputs and the RELEASED markers; each load is a fresh copy (nothing shared with the store);
- the recent ledger keeps the newest ``ledger_keep`` entries, in the Redis adapter's format;
- no cache: ``cache.capacity`` is 0, so the engine never offers it snapshots (``remember`` is a no-op).
"""
from __future__ import annotations

import base64
import copy
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from processors.member import Member
from processors.model import Lots, original_source_id
from processors.records import HeldEvent, SourceRecord
from streams.engine.ports import LoadedMembers
from streams.memory.kept_charges import MemoryKeptCharges
from streams.memory.member_index import MemoryMemberIndex

LEDGER_KEEP = 100
CORE = ("enrolled_on", "enrollment_state", "qualifying", "statuses", "closed", "revisions", "expired_count")


class NoCache:
    """The cache counters of a store without a cache."""
    capacity = 0
    hits = 0
    misses = 0

    def forget(self, member_id: str) -> None:
        pass

    def clear(self) -> None:
        pass


@dataclass
class MemorySnapshot:
    """This store's bookkeeping of a loaded member: none (it keeps no encoded records to republish)."""
    encoded_src: dict[str, bytes] = field(default_factory=dict)


@dataclass
class Stored:
    """One member as the store holds it: the core state (a Member without its unit of work), the
    source records (encoded, as Redis keeps them), the held inputs and the recent ledger."""
    core: Member
    src: dict[str, bytes] = field(default_factory=dict)
    held: dict[str, HeldEvent] = field(default_factory=dict)
    ledger: list[bytes] = field(default_factory=list)


class MemoryMemberStore:
    def __init__(self, ledger_keep: int = LEDGER_KEEP):
        self.ledger_keep = ledger_keep
        self.members: dict[str, Stored] = {}
        self.cache = NoCache()
        self.index = MemoryMemberIndex()
        self.saves = 0  # compare-and-sets attempted (tests count them)
        self._kept: MemoryKeptCharges | None = None

    def kept_charges(self, topics, decode: Callable[[bytes], Any]) -> MemoryKeptCharges:
        if self._kept is None:
            self._kept = MemoryKeptCharges(topics, decode)
        return self._kept

    # ------------------------------------------------------------------ load
    def load_many(self, wants: Mapping[str, Iterable[str]], cacheable: Iterable[str] = ()) -> LoadedMembers:
        loaded = LoadedMembers()
        for mid, sids in wants.items():
            loaded.add(self._load(mid, sids), MemorySnapshot())
        return loaded

    def load(self, member_id: str, sids: Iterable[str] = ()) -> Member:
        return self._load(member_id, sids)

    def _load(self, mid: str, sids: Iterable[str]) -> Member:
        stored = self.members.get(mid)
        m = Member(mid)
        if stored is None:
            return m
        core = stored.core
        m.version = core.version
        for name in CORE:
            setattr(m, name, copy.deepcopy(getattr(core, name)))
        m.lots = Lots(dict(core.lots.by_expiry), core.lots.debt)
        for sid, h in stored.held.items():
            h = copy.deepcopy(h)
            if h.reason == "RELEASED":
                m.released[sid] = h
                m.released_loaded.add(sid)
            else:
                m.held[sid] = h
        need = list(sids) + [sid for sid in (original_source_id(h.event) for h in m.held.values()) if sid]
        need += list(m.released_loaded)
        for sid in need:
            blob = stored.src.get(sid)
            if blob is not None:
                m.src[sid] = SourceRecord.from_dict(orjson.loads(blob))
        return m

    def remember(self, m: Member, snapshot: MemorySnapshot) -> None:
        pass

    # ------------------------------------------------------------------ save
    def save_many(self, members: Sequence[Member], snapshots: Mapping[str, MemorySnapshot]) -> set[str]:
        failed = set()
        for m in members:
            self.saves += 1
            if not self._save(m):
                failed.add(m.member_id)
        return failed

    def _save(self, m: Member) -> bool:
        stored = self.members.get(m.member_id)
        current = stored.core.version if stored is not None else 0
        if current != m.version:
            return False
        if stored is None:
            stored = self.members[m.member_id] = Stored(Member(m.member_id))
        core = stored.core
        for name in CORE:
            setattr(core, name, copy.deepcopy(getattr(m, name)))
        core.lots = Lots({d: p for d, p in m.lots.by_expiry.items() if p}, m.lots.debt)
        core.version = current + 1
        for sid in m.new_src:
            stored.src[sid] = orjson.dumps(m.src[sid].to_dict())
        for sid in m.held_put:
            stored.held[sid] = copy.deepcopy(m.held_entry(sid))
        for sid in m.held_del:
            stored.held.pop(sid, None)
        for mv in m.effects.moves:
            e = mv.entry
            stored.ledger.append(orjson.dumps([e.type, e.points, e.lot, e.balance_after, mv.source_id,
                                               mv.occurred_at]))
        del stored.ledger[:-self.ledger_keep or len(stored.ledger)]
        m.saved_version = core.version
        return True

    def drop_released(self, pairs: Iterable[tuple[str, str]]) -> None:
        members = set()
        for mid, sid in pairs:
            stored = self.members.get(mid)
            if stored is not None:
                stored.held.pop(sid, None)
            members.add(mid)
        self.index.remove("released", members)

    # ------------------------------------------------------------------ changelog records
    def core_fields(self, m: Member, version: int, snapshot: MemorySnapshot) -> dict[str, str | int]:
        """The member's core state in the Redis adapter's field layout (the changelog's ``m|`` record)."""
        fields: dict[str, str | int] = {"v": version}
        if m.enrolled_on is not None:
            fields["en"] = f"{m.enrolled_on.isoformat()}|{m.enrollment_state}"
        fields["debt"] = m.lots.debt
        fields.update({f"L:{d.isoformat()}": p for d, p in m.lots.by_expiry.items() if p})
        fields.update({f"Q:{y}": f"{q.points},{q.nights},{q.carried_points},{q.carried_nights}"
                       for y, q in m.qualifying.items()})
        fields.update({f"S:{y}": s for y, s in m.statuses.items()})
        fields.update({f"C:{y}": f"{s}|{m.revisions[y]}" if m.revisions.get(y) else s for y, s in m.closed.items()})
        fields.update({f"X:{d.isoformat()}": n for d, n in m.expired_count.items()})
        return fields

    def held_blob(self, h: HeldEvent) -> bytes:
        return orjson.dumps({"topic": h.topic, "fp": h.fingerprint, "reason": h.reason,
                             "first_seen": h.first_seen.isoformat(), "currency": h.currency,
                             "raw": base64.b64encode(h.raw).decode()})

    # ------------------------------------------------------------------ reads for the API / CLI
    def recent_ledger(self, member_id: str, start: int = 0, count: int = 50) -> list[dict]:
        stored = self.members.get(member_id)
        entries = stored.ledger if stored is not None else []
        out = []
        for x in list(reversed(entries))[start:start + max(count, 0)]:
            type_, points, lot, balance_after, source_id, at = orjson.loads(x)
            out.append({"id": f"{member_id}/{source_id}/{type_}", "type": type_, "points": points, "lot": lot,
                        "balance_after": balance_after, "source_id": source_id, "at": at})
        return out

    def ledger_length(self, member_id: str) -> int:
        stored = self.members.get(member_id)
        return len(stored.ledger) if stored is not None else 0

    def exists(self, member_id: str) -> bool:
        return member_id in self.members
