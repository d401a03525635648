"""The worker's cache of member snapshots: skips the load round trip for members it saved itself.

An entry is a member's core hash (field -> value, strings) as this process last read or wrote it,
with its version ``v`` and save token ``n``. It is only a guess: the compare-and-set in
``apply_member.lua`` checks the version and the token (random per save), and that the batch's new
source ids are not recorded yet; when any of it fails the engine reloads the member from Redis and
decides again. So a stale entry (another worker, a job, Redis losing writes) costs a retry, never a
wrong balance.

Kept for members without held inputs or released markers only (those need their hash read), and
least recently used first out beyond ``capacity`` (~0.7 KB per entry).
"""
from __future__ import annotations


class MemberCache:
    def __init__(self, capacity: int):
        self.capacity = max(0, capacity)
        self._entries: dict[str, dict[str, str]] = {}
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, member_id: str) -> dict[str, str] | None:
        fields = self._entries.pop(member_id, None)
        if fields is None:
            self.misses += 1
            return None
        self._entries[member_id] = fields  # most recently used last
        self.hits += 1
        return fields

    def put(self, member_id: str, fields: dict[str, str]) -> None:
        if not self.capacity:
            return
        entries = self._entries
        entries.pop(member_id, None)
        entries[member_id] = fields
        if len(entries) > self.capacity:
            del entries[next(iter(entries))]

    def forget(self, member_id: str) -> None:
        self._entries.pop(member_id, None)

    def clear(self) -> None:
        self._entries.clear()
