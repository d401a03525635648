"""The worker's member cache keeps the most recently used snapshots, and nothing at capacity 0; the
collector settings of the batch loop apply and can be turned off."""
import gc

from streams.redis.member_cache import MemberCache
from streams.runtime import gc_tuning


def test_least_recently_used_goes_first():
    c = MemberCache(2)
    c.put("A", {"v": "1"})
    c.put("B", {"v": "1"})
    assert c.get("A") == {"v": "1"}  # A is now the most recent
    c.put("C", {"v": "1"})
    assert c.get("B") is None and c.get("A") is not None and c.get("C") is not None
    assert len(c) == 2 and (c.hits, c.misses) == (3, 1)


def test_put_replaces_and_forget_drops():
    c = MemberCache(3)
    c.put("A", {"v": "1"})
    c.put("A", {"v": "2"})
    assert c.get("A") == {"v": "2"} and len(c) == 1
    c.forget("A")
    assert c.get("A") is None
    c.put("B", {"v": "1"})
    c.clear()
    assert len(c) == 0


def test_capacity_zero_keeps_nothing():
    c = MemberCache(0)
    c.put("A", {"v": "1"})
    assert c.get("A") is None and len(c) == 0


def test_gc_thresholds_of_the_batch_loop():
    before = gc.get_threshold()
    try:
        assert gc_tuning.tune(0) == before and gc.get_threshold() == before  # 0: CPython's, untouched
        gc_tuning.tune(12_345)
        assert gc.get_threshold()[0] == 12_345
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()
