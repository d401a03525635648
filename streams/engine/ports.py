"""The ports of the engine: what it needs from the member store, its indexes and the kept charges.

The engine imports no client library and no adapter; it is handed objects that fit these
protocols. Two adapters implement them: Redis (``streams.redis.member_store.MemberStore``, the
product) and memory (``streams.memory.member_store.MemoryMemberStore``, for engine tests without
Redis). One contract test suite runs against both (tests/contract/test_member_store.py).

Index names are logical (``released``, ``fxwait:<currency>``, ``active:<year>``, ``status:<year>``,
``lots:<expiry>``, ``lotdates`` are sets; ``unknown`` and ``held`` are scores per member); an
adapter maps them to its own keys (Redis: ``streams.redis.keys``).
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from processors.member import Member
from processors.office_model import KeptCharge
from processors.records import HeldEvent


class Metrics(Protocol):
    def inc(self, name: str, amount: float = 1, **labels: Any) -> None: ...


class MemberCacheView(Protocol):
    """The store's cache of member snapshots as the engine sees it (counters, forget)."""

    @property
    def capacity(self) -> int: ...

    @property
    def hits(self) -> int: ...

    @property
    def misses(self) -> int: ...

    def forget(self, member_id: str) -> None: ...

    def clear(self) -> None: ...


class MemberIndex(Protocol):
    """Global indexes over the members (outside the members' own state): the jobs and releases walk
    them instead of every member. Every write is an idempotent add, so a replay may repeat it."""

    def add(self, sets: Mapping[str, Iterable[str]], earliest: Mapping[str, Mapping[str, float]]) -> None:
        """Add members (or values) to sets; keep the earliest score per member of scored indexes."""

    def members(self, name: str) -> list[str]: ...

    def scan(self, name: str, chunk: int) -> Iterator[list[str]]:
        """The members of a set, ``chunk`` at a time (may miss members added meanwhile)."""

    def size(self, name: str) -> int: ...

    def remove(self, name: str, members: Iterable[str]) -> None: ...

    def due(self, name: str, until: float) -> list[str]:
        """Members of a scored index whose score is at most ``until``."""

    def reschedule(self, name: str, member: str, score: float | None) -> None:
        """Set a member's score (only if it is indexed), or drop it (``None``)."""

    def closed_years(self) -> frozenset[int]: ...

    def close_year(self, year: int) -> None: ...


class KeptCharges(Protocol):
    """Charges published without a member id, kept for missing-points claims (program-rules §4a)."""

    def owners_of_originals(self, events: Iterable[Any]) -> dict[str, str]: ...

    def keep(self, charges: list[tuple[Any, bytes]], window_days: int, now: datetime) -> list[tuple[str, bytes]]:
        """Keep (event, bytes) until their claim window ends; the changelog records to publish."""

    def find(self, claims: list[tuple[str, Any, list[str]]]) -> dict[str, tuple[KeptCharge | None, bool]]: ...

    def reserve(self, mid: str, claim: Any, sid: str) -> bool:
        """Mark the charge ``sid`` taken by this claim; False when another claim took it."""


class Snapshot(Protocol):
    """An adapter's own bookkeeping of a member it loaded (what it read, what its save wrote), kept
    beside the aggregate, never on it: the engine only hands it back to the store that made it."""

    @property
    def encoded_src(self) -> Mapping[str, bytes]:
        """Source records as the store holds them encoded (the changelog republishes those bytes)."""


class LoadedMembers(dict[str, Member]):
    """What ``load_many`` returns: the members by id, and in ``snapshots`` the store's snapshot of
    each (same ids). To every reader it is a plain dict of members."""

    def __init__(self) -> None:
        super().__init__()
        self.snapshots: dict[str, Any] = {}

    def add(self, m: Member, snapshot: Any) -> None:
        self[m.member_id] = m
        self.snapshots[m.member_id] = snapshot


class MemberStore(Protocol):
    """Members by id, saved with compare-and-set on their version."""

    @property
    def cache(self) -> MemberCacheView: ...

    @property
    def index(self) -> MemberIndex: ...

    def load_many(self, wants: Mapping[str, Iterable[str]], cacheable: Iterable[str] = ()) -> LoadedMembers:
        """Members by id (a new one for an unknown id), each with the source records named in
        ``wants[id]`` that exist; those in ``cacheable`` may come from the cache."""

    def load(self, member_id: str, sids: Iterable[str] = ()) -> Member: ...

    def save_many(self, members: Sequence[Member], snapshots: Mapping[str, Any]) -> set[str]:
        """Save the changes of each member if it is still at the version it was loaded at (sets its
        ``saved_version``); returns the ids of the members whose compare-and-set was refused.
        ``snapshots`` are the ones ``load_many`` returned with the members."""

    def remember(self, m: Member, snapshot: Any) -> None:
        """Keep ``m`` (after its save) as the cache's snapshot of it, where the store caches."""

    def drop_released(self, pairs: Iterable[tuple[str, str]]) -> None:
        """Drop the RELEASED markers (member, source id) whose outputs are published."""

    def kept_charges(self, topics: Any, decode: Any) -> KeptCharges: ...

    def core_fields(self, m: Member, version: int, snapshot: Any) -> Mapping[str, str | int]:
        """The member's core state after a save at ``version`` (the changelog's ``m|`` record)."""

    def held_blob(self, h: HeldEvent) -> bytes: ...

    def exists(self, member_id: str) -> bool: ...

    def recent_ledger(self, member_id: str, start: int = 0, count: int = 50) -> list[dict]: ...

    def ledger_length(self, member_id: str) -> int: ...
