"""Checkpointing: where each assigned partition stands, and the store that remembers it.

Redis is the source of truth for positions (Kafka's committed offsets follow it): a partition starts
where the position store says its effects end; after a batch's outputs are delivered its positions
are advanced (never backwards), then committed to Kafka. If the store now holds an older position
than this worker read or wrote (Redis lost acknowledged writes), the partition is rewound to it so
the lost effects are applied again, in order.

``Checkpoint`` keeps the bookkeeping and talks to a ``PositionStore`` (Redis in production,
streams/redis/positions.py; ``MemoryPositions`` in unit tests). The Kafka calls (assign, seek,
commit) stay in the worker loop.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

Partition = tuple[str, int]  # (topic, partition)


class PositionStore(Protocol):
    """Next offset to read per partition of one consumer group."""

    def read(self, partitions: Sequence[Partition]) -> list[int | None]:
        """The stored position of each partition (None: nothing stored), in the order asked."""
        ...

    def advance(self, positions: Mapping[Partition, int]) -> None:
        """Store these positions; a position never moves backwards (a late writer cannot rewind)."""
        ...


class MemoryPositions:
    """A PositionStore in a dict (unit tests); ``lose`` plays a store that lost acknowledged writes."""

    def __init__(self, positions: Mapping[Partition, int] | None = None):
        self.positions: dict[Partition, int] = dict(positions or {})
        self.advances: list[dict[Partition, int]] = []  # every advance() call, in order

    def read(self, partitions: Sequence[Partition]) -> list[int | None]:
        return [self.positions.get(tp) for tp in partitions]

    def advance(self, positions: Mapping[Partition, int]) -> None:
        self.advances.append(dict(positions))
        for tp, nxt in positions.items():
            if nxt > self.positions.get(tp, -1):
                self.positions[tp] = nxt

    def lose(self, tp: Partition, back_to: int | None) -> None:
        if back_to is None:
            self.positions.pop(tp, None)
        else:
            self.positions[tp] = back_to


class Checkpoint:
    """The positions of the partitions assigned to this worker: read on assignment, advanced after
    delivery, compared with the store to notice writes it lost."""

    def __init__(self, store: PositionStore):
        self.store = store
        self.assigned: set[Partition] = set()
        # the position this worker last read from / wrote to the store per assigned partition (None: none there)
        self.written: dict[Partition, int | None] = {}

    def assign(self, partitions: Sequence[Partition]) -> dict[Partition, int | None]:
        """Take these partitions; where each starts (None: nothing stored, start from the beginning:
        none of its effects are there, a Kafka commit may be ahead of the store)."""
        stored = self.store.read(partitions)
        self.written = dict(zip(partitions, stored))
        self.assigned = set(partitions)
        return dict(self.written)

    def revoke(self) -> None:
        self.assigned = set()
        self.written = {}

    def lost(self) -> dict[Partition, int | None]:
        """Assigned partitions whose stored position is now behind what this worker read or wrote,
        with the position the store holds now (None: none). Empty when nothing was lost."""
        tps = [tp for tp, pos in self.written.items() if pos is not None and tp in self.assigned]
        if not tps:
            return {}
        lost: dict[Partition, int | None] = {}
        for tp, have in zip(tps, self.store.read(tps)):
            written = self.written[tp]
            if have is None or (written is not None and have < written):
                lost[tp] = have
        return lost

    def rewound(self, lost: Mapping[Partition, int | None]) -> None:
        """The worker rewound these partitions to what the store holds."""
        self.written.update(lost)

    def advance(self, positions: Mapping[Partition, int]) -> list[tuple[Partition, int]]:
        """Store the positions a delivered batch reached; the ones to commit to Kafka (still assigned)."""
        if not positions:
            return []
        self.store.advance(positions)
        for tp, nxt in positions.items():
            self.written[tp] = max(nxt, self.written.get(tp) or 0)
        return [(tp, o) for tp, o in positions.items() if tp in self.assigned]
