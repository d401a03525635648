"""Redis failures under a running stream: hard restarts (SIGKILL) with AOF everysec and always, and the
loss of the AOF tail that was not fsynced yet (what an OS crash or power loss does to everysec).

On the loss: a SIGKILLed redis-server loses nothing it had written to the AOF (the kernel still has
the pages); with `appendfsync everysec` an OS crash loses up to ~1 s of acknowledged writes, i.e.
member updates *and* positions of batches whose Kafka offsets may already be committed. The test
reproduces exactly that state — the AOF truncated back to a length it had earlier — and requires the
worker to re-apply the lost batches from the positions Redis still holds (Redis positions are the
source of truth, Kafka commits are not), both when the worker is restarted and while it keeps running.
"""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from streams.devstack.redis import RedisServer
from streams.kafka.lag import committed_offsets
from tests.harness import read_topic

from . import model, support

pytestmark = pytest.mark.slow

FAST_GROUP = {"HARMONY_SESSION_TIMEOUT_MS": 3000, "KAFKA_CONFIG_HEARTBEAT_INTERVAL_MS": 500}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("fsync", ["everysec", "always"])
def test_redis_hard_restart_mid_stream(fsync, kafka_bootstrap, topics, unique, workers_for, tmp_path):
    """Invariant: Redis SIGKILLed and restarted (AOF appendfsync=<fsync>) twice while charges flow:
    the same worker process survives (failed batches are retried, never skipped), reconnects, and the
    end state is exact — balances, lots, counters = pure recomputation, ledger entries one content each,
    Redis positions at the end of every partition."""
    stream = model.generate(808 if fsync == "everysec" else 818)
    with RedisServer(workdir=tmp_path / "redis", appendonly=True, appendfsync=fsync) as server:
        support.publish(kafka_bootstrap, topics, stream.enrollments)
        ws = workers_for(server.url, topics, **FAST_GROUP)
        w = ws.start()
        pub = support.BackgroundPublisher(kafka_bootstrap, topics, stream.charges, pace=0.3, chunk=25)
        time.sleep(3)
        pub.start()
        for _ in range(2):
            time.sleep(3)
            server.restart(hard=True)
            assert w.alive, ws.logs()
        assert pub.is_alive(), "the restarts should happen while the stream flows"
        pub.finish()
        support.wait_caught_up(kafka_bootstrap, unique, topics, 60, ws)
        support.wait_positions_at_end(kafka_bootstrap, server.url, unique, topics, 30, ws)
        assert w.alive, ws.logs()
        w.stop()
        assert w.returncode == 0, ws.logs()
        problems = support.all_problems(kafka_bootstrap, topics, server.url, stream)
        assert not problems, "\n".join(problems[:25])


def _incr_aof(server: RedisServer) -> Path:
    (path,) = (server.workdir / "appendonlydir").glob("*.incr.aof")
    return path


def _crash_losing_tail(server: RedisServer, aof: Path, keep: int) -> None:
    """What an OS crash does to appendfsync everysec: the AOF ends where the last fsync left it."""
    server.kill()
    with open(aof, "r+b") as f:
        f.truncate(keep)
    server.start()


def _split(kafka_bootstrap, topics, stream):
    """Postings in three parts and the bills: part 1 = the first half of the postings of partitions 0-2
    (so after the loss those partitions have a Redis position, behind), part 2 = every other posting
    (partitions 3-5 then have no Redis position at all). Order within each partition is kept."""
    part_of = {m.key().decode(): m.partition() for m in read_topic(kafka_bootstrap, topics.enrollments)}
    postings = [e for e in stream.charges if e.kind == "postings"]
    low = [e for e in postings if part_of.get(e.key, 99) in (0, 1, 2)]
    first = set(map(id, low[: len(low) // 2]))
    part1 = [e for e in postings if id(e) in first]
    part2 = [e for e in postings if id(e) not in first]
    bills = [e for e in stream.charges if e.kind == "bills"]
    return part1, part2, bills


@pytest.mark.timeout(120)
@pytest.mark.parametrize("worker_restarted", [True, False], ids=["worker-restarted", "worker-keeps-running"])
def test_lost_aof_tail_is_applied_again(worker_restarted, kafka_bootstrap, topics, unique, workers_for, tmp_path):
    """Invariant: Redis (everysec) loses the tail of its AOF after the worker applied a batch, published
    it and committed its Kafka offsets. The worker — restarted, or still running — must resume from the
    positions Redis still holds (and from the beginning where Redis holds none), not from the Kafka
    commits: afterwards every balance, lot and counter equals the pure recomputation and every
    re-published ledger entry is identical to its first copy."""
    stream = model.generate(909 if worker_restarted else 919)
    with RedisServer(workdir=tmp_path / "redis", appendonly=True, appendfsync="everysec") as server:
        support.publish(kafka_bootstrap, topics, stream.enrollments)
        part1, part2, bills = _split(kafka_bootstrap, topics, stream)
        ws = workers_for(server.url, topics, **FAST_GROUP)
        w = ws.start()
        support.publish(kafka_bootstrap, topics, part1)
        support.wait_caught_up(kafka_bootstrap, unique, topics, 60, ws)
        support.wait_positions_at_end(kafka_bootstrap, server.url, unique, topics, 30, ws)
        aof = _incr_aof(server)
        keep = aof.stat().st_size
        support.publish(kafka_bootstrap, topics, part2)
        support.wait_caught_up(kafka_bootstrap, unique, topics, 60, ws)
        support.wait_positions_at_end(kafka_bootstrap, server.url, unique, topics, 30, ws)
        if worker_restarted:
            w.stop()
        ends = support.end_offsets(kafka_bootstrap, topics)
        committed = committed_offsets(kafka_bootstrap, unique, list(support.input_topics(topics)))
        postings = {tp: end for tp, end in ends.items() if tp[0] == topics.postings}
        assert all(committed[tp] == end for tp, end in postings.items()), "part 2 should be committed in Kafka"

        _crash_losing_tail(server, aof, keep)

        held = support.redis_positions(server.url, unique, postings)
        assert any(tp in held and held[tp] < end for tp, end in postings.items()), held  # behind
        assert any(tp not in held for tp, end in postings.items() if end), held  # none at all
        if worker_restarted:
            w = ws.start()
        # the lost batches are applied again (the positions come back to the end) ...
        support.wait_positions_at_end(kafka_bootstrap, server.url, unique, topics, 30, ws)
        assert "Redis lost applied batches" in w.log_text() or worker_restarted, ws.logs()
        # ... before newer inputs of the same members arrive on another topic (the bills): so each
        # member's inputs are applied in the same order as the first time and the re-published
        # ledger entries are identical (balance_after included). Interleaved with newer inputs, the
        # balances would still be exact but balance_after of re-published entries could differ
        # (see docs/guarantees.md).
        support.publish(kafka_bootstrap, topics, bills)
        support.wait_caught_up(kafka_bootstrap, unique, topics, 60, ws)
        support.wait_positions_at_end(kafka_bootstrap, server.url, unique, topics, 30, ws)
        assert w.alive, ws.logs()
        w.stop()
        problems = support.all_problems(kafka_bootstrap, topics, server.url, stream)
        assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems[:25])
