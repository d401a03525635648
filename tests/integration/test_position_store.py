"""One contract for both position stores (streams/runtime/checkpoint.py): the one in Redis the worker
uses (streams/redis/positions.py, advance_position.lua) and the in-memory one the unit tests of the
worker loop stand on (tests/unit/test_worker_loop.py). If they ever disagree, the unit tests prove
nothing about production."""
from __future__ import annotations

import pytest

from streams.redis.keys import position_key
from streams.redis.positions import RedisPositions
from streams.runtime.checkpoint import MemoryPositions, PositionStore


@pytest.fixture(params=["memory", "redis"])
def store(request, unique) -> PositionStore:
    if request.param == "memory":
        return MemoryPositions()
    return RedisPositions(request.getfixturevalue("redis_clean"), unique)


def test_nothing_stored_reads_none_in_the_order_asked(store):
    store.advance({("a", 1): 7})
    assert store.read([("a", 0), ("a", 1), ("b", 1)]) == [None, 7, None]
    assert store.read([]) == []


def test_a_position_never_moves_backwards(store):
    """Invariant: a paused worker that resumes late cannot rewind the position the partition's new
    owner wrote (and an older batch's result cannot undo a newer one)."""
    store.advance({("a", 0): 10, ("b", 0): 3})
    store.advance({("a", 0): 4, ("b", 0): 5})
    assert store.read([("a", 0), ("b", 0)]) == [10, 5]
    store.advance({("a", 0): 10})
    assert store.read([("a", 0)]) == [10]


def test_the_redis_key_is_the_one_rebuild_and_the_bench_read(redis_clean, unique):
    RedisPositions(redis_clean, unique).advance({("in.t", 2): 42})
    assert int(redis_clean.get(position_key(unique, "in.t", 2))) == 42
    assert position_key(unique, "in.t", 2) == f"pos:{unique}:in.t:2"
