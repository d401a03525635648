"""The position store in Redis: ``pos:<group>:<topic>:<partition>`` (streams/redis/keys.py), advanced
by ``lua/advance_position.lua`` (never backwards), read in one pipeline."""
from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from importlib import resources

from streams.redis.batch import Batch
from streams.redis.keys import position_key

Partition = tuple[str, int]
ADVANCE = resources.files("streams.redis").joinpath("lua", "advance_position.lua").read_text()


class RedisPositions:
    """A PositionStore (streams/runtime/checkpoint.py) of one consumer group in Redis."""

    def __init__(self, redis, group: str):
        self.redis = redis
        self.group = group
        self.sha = hashlib.sha1(ADVANCE.encode()).hexdigest()
        self.load()
        Batch.on_noscript.append(self.load)  # Redis lost its scripts (a restart): load again

    def load(self) -> None:
        self.redis.script_load(ADVANCE)

    def read(self, partitions: Sequence[Partition]) -> list[int | None]:
        batch = Batch(self.redis)
        for topic, partition in partitions:
            key = position_key(self.group, topic, partition)
            batch.add(key, lambda p, k=key: p.get(k))
        return [int(v) if v is not None else None for v in batch.execute()] if partitions else []

    def advance(self, positions: Mapping[Partition, int]) -> None:
        batch = Batch(self.redis)
        for (topic, partition), nxt in positions.items():
            key = position_key(self.group, topic, partition)
            batch.add(key, lambda p, k=key, n=nxt: p.evalsha(self.sha, 1, k, n))
        batch.execute()
