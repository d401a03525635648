"""kill -9 of the worker at each fault point of the batch loop, again and again, while a seeded stream
flows: the end state is exactly the pure recomputation, and the output carries no contradictory copies.

Each run: ~1,000 charges (postings, bills, corrections, voids, duplicates) over 30 members are
published in the background; a `harmony worker --plain` subprocess runs with
HARMONY_CRASH_AT=<point> HARMONY_CRASH_AFTER=<n> (n from the seeded generator) and SIGKILLs itself
there; it is restarted (next n) until it has died at least three times; a worker without fault
finishes the stream.

Session timeout 3 s (heartbeat 0.5 s) instead of 6 s so that a restart does not wait for the dead
member's session for long: the group protocol is the same.

Enrollments are published just before the charges (a worker may read charges of a member before its
enrollment: held, then released) and a few corrections come before their original (held, then
released): the kills also hit batches that release held inputs.
"""
from __future__ import annotations

import random
import time

import pytest

from streams.kafka.lag import LagProbe

from . import model, support

pytestmark = pytest.mark.slow

FAST_GROUP = {"HARMONY_SESSION_TIMEOUT_MS": 3000, "KAFKA_CONFIG_HEARTBEAT_INTERVAL_MS": 500}
CRASHES = 3


@pytest.mark.timeout(150)
@pytest.mark.parametrize("point,seed", [("before_apply", 101), ("after_apply", 202), ("after_publish", 303)])
def test_kill_at_fault_point_then_restart(point, seed, kafka_bootstrap, clean_redis_url, topics, unique,
                                          workers_for):
    """Invariant: whatever batch boundary the worker dies at (before_apply: nothing applied;
    after_apply: Redis updated, nothing published; after_publish: published, positions and offsets
    not recorded), after restarts every member's balance, lots and qualifying points/nights equal
    the pure recomputation (each input applied exactly once), balance = Σ distinct ledger entries,
    every entry_id of points.ledger.v1 has one content however often it was re-published, every
    charge has exactly one distinct final decision, and the Redis positions reach the end of every
    input partition."""
    stream = model.generate(seed)
    rng = random.Random(seed)
    ws = workers_for(clean_redis_url, topics, **FAST_GROUP)
    support.publish(kafka_bootstrap, topics, stream.enrollments)
    pub = support.BackgroundPublisher(kafka_bootstrap, topics, stream.charges, pace=0.25, chunk=25)
    pub.start()
    crashes, deadline = 0, time.monotonic() + 100
    with LagProbe(kafka_bootstrap) as probe:
        while crashes < CRASHES and time.monotonic() < deadline:
            w = ws.start(HARMONY_CRASH_AT=point, HARMONY_CRASH_AFTER=rng.randint(1, 5))
            while w.alive and time.monotonic() < deadline:
                if not pub.is_alive() and support.caught_up(probe, unique, topics):
                    break  # nothing left to crash on
                time.sleep(0.2)
            if w.alive:
                w.stop()
                break
            assert w.returncode == -9, ws.logs()
            assert f"fault injection: SIGKILL at {point}" in w.log_text()
            crashes += 1
    pub.finish()
    final = ws.start()
    support.wait_caught_up(kafka_bootstrap, unique, topics, 60, ws)
    support.wait_positions_at_end(kafka_bootstrap, clean_redis_url, unique, topics, 30, ws)
    final.stop()
    assert final.returncode == 0, ws.logs()
    assert crashes >= CRASHES, f"only {crashes} crashes at {point}:\n{ws.logs()}"
    problems = support.all_problems(kafka_bootstrap, topics, clean_redis_url, stream)
    assert not problems, f"{len(problems)} problems after {crashes} crashes at {point}:\n" + "\n".join(problems[:25])


@pytest.mark.timeout(90)
def test_outputs_of_released_holds_survive_a_kill_after_apply(kafka_bootstrap, clean_redis_url, topics, unique,
                                                               workers_for):
    """Invariant (at-least-once output): postings held AWAITING_ENROLLMENT are released by the enrollment;
    the worker is SIGKILLed right after that batch's Redis compare-and-set (after_apply); after a restart
    the EARN entries and final EARNED decisions of the released postings are on the output topics (the
    replayed enrollment finds nothing held any more: the RELEASED markers left in Redis until the
    outputs are delivered make the engine publish them again)."""
    mid = "RLHELD001"
    stream = model.Stream([model.Event("enrollments", {"member_id": mid, "enrolled_on": "2026-01-01",
                                                       "state": "ACTIVE"}, mid)],
                          [model.Event("postings", model._posting(f"PH{i}", mid, 35000, nights=1,
                                                                  bdate=model.date(2026, 3, 14)), mid)
                           for i in range(2)], [mid])
    ws = workers_for(clean_redis_url, topics, **FAST_GROUP)
    support.publish(kafka_bootstrap, topics, stream.charges)
    w = ws.start()
    support.wait_caught_up(kafka_bootstrap, unique, topics, 60, ws)  # both HELD
    w.stop()
    w = ws.start(HARMONY_CRASH_AT="after_apply", HARMONY_CRASH_AFTER=1)
    support.publish(kafka_bootstrap, topics, stream.enrollments)
    w.proc.wait(60)
    assert w.returncode == -9, ws.logs()
    w = ws.start()
    support.wait_caught_up(kafka_bootstrap, unique, topics, 60, ws)
    w.stop()
    problems = support.all_problems(kafka_bootstrap, topics, clean_redis_url, stream)
    assert not problems, "\n".join(problems)
