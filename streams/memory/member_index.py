"""The engine's ``MemberIndex`` port in memory: sets and scores per logical index name."""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping


class MemoryMemberIndex:
    def __init__(self) -> None:
        self.sets: dict[str, set[str]] = {}
        self.scores: dict[str, dict[str, float]] = {}
        self.years: set[int] = set()

    def add(self, sets: Mapping[str, Iterable[str]], earliest: Mapping[str, Mapping[str, float]]) -> None:
        for name, values in sets.items():
            self.sets.setdefault(name, set()).update(values)
        for name, new in earliest.items():
            scores = self.scores.setdefault(name, {})
            for member, score in new.items():  # ZADD LT: add, or lower the score
                scores[member] = min(score, scores.get(member, score))

    def members(self, name: str) -> list[str]:
        return sorted(self.sets.get(name, ()))

    def scan(self, name: str, chunk: int) -> Iterator[list[str]]:
        members = self.members(name)
        for i in range(0, len(members), max(1, chunk)):
            yield members[i:i + chunk]

    def size(self, name: str) -> int:
        return len(self.sets.get(name, ()))

    def remove(self, name: str, members: Iterable[str]) -> None:
        self.sets.get(name, set()).difference_update(members)

    def due(self, name: str, until: float) -> list[str]:
        scores = self.scores.get(name, {})
        return sorted((m for m, s in scores.items() if s <= until), key=lambda m: (scores[m], m))

    def reschedule(self, name: str, member: str, score: float | None) -> None:
        scores = self.scores.get(name, {})
        if score is None:
            scores.pop(member, None)
        elif member in scores:  # ZADD XX: only members already indexed
            scores[member] = score

    def closed_years(self) -> frozenset[int]:
        return frozenset(self.years)

    def close_year(self, year: int) -> None:
        self.years.add(year)
