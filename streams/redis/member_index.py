"""The engine's ``MemberIndex`` port on Redis: one set (or sorted set) per logical index under
``idx:`` (streams/redis/keys.py), the closed years in ``jobs:closed-years``; and the drop of
RELEASED markers (a member's held hash and ``idx:released`` in one round trip)."""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from streams.redis.batch import Batch
from streams.redis.keys import CLOSED_YEARS, index_key, member_keys


def _s(x) -> str:
    return x.decode() if isinstance(x, bytes) else x


class RedisMemberIndex:
    def __init__(self, redis):
        self.redis = redis

    def add(self, sets: Mapping[str, Iterable[str]], earliest: Mapping[str, Mapping[str, float]]) -> None:
        batch = Batch(self.redis)
        for name, values in sets.items():
            key = index_key(name)
            batch.add(key, lambda p, k=key, v=list(values): p.sadd(k, *v))
        for name, scores in earliest.items():
            key = index_key(name)
            batch.add(key, lambda p, k=key, s=dict(scores): p.zadd(k, s, lt=True))
        if len(batch):
            batch.execute()

    def members(self, name: str) -> list[str]:
        return [_s(m) for m in self.redis.smembers(index_key(name))]

    def scan(self, name: str, chunk: int) -> Iterator[list[str]]:
        cursor = 0
        while True:
            cursor, members = self.redis.sscan(index_key(name), cursor, count=chunk)
            if members:
                yield [_s(m) for m in members]
            if cursor == 0:
                return

    def size(self, name: str) -> int:
        return int(self.redis.scard(index_key(name)))

    def remove(self, name: str, members: Iterable[str]) -> None:
        members = list(members)
        if members:
            self.redis.srem(index_key(name), *members)

    def due(self, name: str, until: float) -> list[str]:
        return [_s(m) for m in self.redis.zrangebyscore(index_key(name), "-inf", until)]

    def reschedule(self, name: str, member: str, score: float | None) -> None:
        if score is None:
            self.redis.zrem(index_key(name), member)
        else:
            self.redis.zadd(index_key(name), {member: score}, xx=True)

    def closed_years(self) -> frozenset[int]:
        return frozenset(int(y) for y in self.redis.smembers(CLOSED_YEARS))

    def close_year(self, year: int) -> None:
        self.redis.sadd(CLOSED_YEARS, str(year))


def drop_released(redis, pairs: Iterable[tuple[str, str]]) -> None:
    """Drop RELEASED markers (member, source id) and their members from ``idx:released``."""
    batch = Batch(redis)
    members = set()
    for mid, sid in pairs:
        key = member_keys(mid)[2]
        batch.add(key, lambda p, k=key, s=sid: p.hdel(k, s))
        members.add(mid)
    if members:
        key = index_key("released")
        batch.add(key, lambda p: p.srem(key, *members))
        batch.execute()
