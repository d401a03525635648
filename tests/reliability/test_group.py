"""Consumer-group changes while events flow: scaling 1 -> 3 -> 1 workers, and a frozen (SIGSTOP)
worker that loses its partitions and then wakes up (a "zombie")."""
from __future__ import annotations

import signal
import threading
import time

import pytest

from . import model, support

pytestmark = pytest.mark.slow

FAST_GROUP = {"HARMONY_SESSION_TIMEOUT_MS": 3000, "KAFKA_CONFIG_HEARTBEAT_INTERVAL_MS": 500}


def _wait_for(cond, timeout: float, what: str, ws=None) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}\n{ws.logs() if ws else ''}")
        time.sleep(0.1)


def _assignments(w) -> int:
    return w.log_text().count("assigned ")


class PositionMonitor(threading.Thread):
    """Polls the group's Redis positions; records every time one moves backwards."""

    def __init__(self, redis_url, group, tps, every=0.05):
        super().__init__(daemon=True)
        self.args, self.every = (redis_url, group, tps), every
        self.stop_event = threading.Event()
        self.backwards: list[str] = []
        self.samples = 0

    def run(self):
        last: dict = {}
        while not self.stop_event.is_set():
            try:
                now = support.redis_positions(*self.args)
            except Exception:  # noqa: BLE001 - Redis busy; try again
                continue
            self.samples += 1
            for tp, v in now.items():
                if tp in last and v < last[tp]:
                    self.backwards.append(f"{tp}: {last[tp]} -> {v}")
            last.update(now)
            self.stop_event.wait(self.every)

    def finish(self) -> list[str]:
        self.stop_event.set()
        self.join(5)
        return self.backwards


@pytest.mark.timeout(120)
def test_group_churn_1_3_1(kafka_bootstrap, clean_redis_url, topics, unique, workers_for):
    """Invariant: while charges flow, a second and third worker join (partitions move away from the
    first worker) and leave again (partitions move back); every input is still applied exactly once
    (balances, lots, qualifying counters = pure recomputation), no ledger entry_id has two contents,
    every charge has one distinct final decision, and no Redis position ever moves backwards."""
    stream = model.generate(404)
    support.publish(kafka_bootstrap, topics, stream.enrollments)
    ws = workers_for(clean_redis_url, topics, **FAST_GROUP)
    a = ws.start()
    _wait_for(lambda: _assignments(a) >= 1, 30, "the first worker's assignment", ws)
    monitor = PositionMonitor(clean_redis_url, unique, support.end_offsets(kafka_bootstrap, topics))
    monitor.start()
    pub = support.BackgroundPublisher(kafka_bootstrap, topics, stream.charges, pace=0.3, chunk=25)
    pub.start()
    time.sleep(2)
    b, c = ws.start(), ws.start()
    _wait_for(lambda: _assignments(b) >= 1 and _assignments(c) >= 1, 30, "three workers sharing the group", ws)
    time.sleep(3)
    assert pub.is_alive(), "the stream should still be flowing while the group shrinks"
    b.stop()
    c.stop()
    assert b.returncode == 0 and c.returncode == 0, ws.logs()
    pub.finish()
    support.wait_caught_up(kafka_bootstrap, unique, topics, 60, ws)
    support.wait_positions_at_end(kafka_bootstrap, clean_redis_url, unique, topics, 30, ws)
    assert a.alive, ws.logs()
    a.stop()
    backwards = monitor.finish()
    assert _assignments(a) >= 3, f"the first worker should have been re-assigned twice:\n{ws.logs()}"
    problems = support.all_problems(kafka_bootstrap, topics, clean_redis_url, stream)
    problems += [f"position moved backwards: {x}" for x in backwards]
    assert not problems, "\n".join(problems[:25])


@pytest.mark.timeout(120)
@pytest.mark.parametrize("stop_at", ["after_load", "before_apply"])
def test_stopped_worker_wakes_up_after_losing_its_partitions(stop_at, kafka_bootstrap, clean_redis_url, topics,
                                                             unique, workers_for):
    """Invariant: worker A freezes (SIGSTOP) holding a batch — after_load: with a snapshot of its
    members loaded but not saved; before_apply: consumed, not applied — past the session timeout;
    worker B gets every partition, starts at the Redis positions and applies the same events and
    more; then A gets SIGCONT and finishes its stale batch: its compare-and-set fails on the member
    version (or its reload finds the source records), so nothing is applied twice or lost — balances,
    lots and counters = pure recomputation, ledger entries have one content each — and A's late
    position write does not move any Redis position backwards."""
    stream = model.generate(606 if stop_at == "after_load" else 707)
    half, tail = len(stream.charges) * 4 // 10, len(stream.charges) * 8 // 10
    ws = workers_for(clean_redis_url, topics, **FAST_GROUP)
    support.enroll_first(kafka_bootstrap, topics, unique, stream, ws)  # A's frozen batch holds charges
    support.publish(kafka_bootstrap, topics, stream.charges[:half])
    a = ws.start(stopper=True, HARMONY_STOP_AT=stop_at, HARMONY_STOP_AFTER=3)
    _wait_for(lambda: a.state() == "T", 60, "worker A to stop itself", ws)
    monitor = PositionMonitor(clean_redis_url, unique, support.end_offsets(kafka_bootstrap, topics))
    monitor.start()
    b = ws.start()
    _wait_for(lambda: _assignments(b) >= 1, 30, "worker B to take the partitions over", ws)
    support.publish(kafka_bootstrap, topics, stream.charges[half:tail])
    support.wait_caught_up(kafka_bootstrap, unique, topics, 60, ws)
    support.wait_positions_at_end(kafka_bootstrap, clean_redis_url, unique, topics, 30, ws)
    a.signal(signal.SIGCONT)
    _wait_for(lambda: f"resumed after {stop_at}" in a.log_text(), 10, "worker A to resume", ws)
    # A finishes its stale batch (publish, position, commit), then rejoins the group
    _wait_for(lambda: _assignments(a) >= 2, 30, "worker A to rejoin the group", ws)
    support.publish(kafka_bootstrap, topics, stream.charges[tail:])  # A and B share the group now
    support.wait_positions_at_end(kafka_bootstrap, clean_redis_url, unique, topics, 30, ws)
    support.wait_caught_up(kafka_bootstrap, unique, topics, 60, ws)
    a.stop()
    b.stop()
    backwards = monitor.finish()
    assert a.returncode == 0 and b.returncode == 0, ws.logs()
    problems = support.all_problems(kafka_bootstrap, topics, clean_redis_url, stream)
    problems += [f"position moved backwards: {x}" for x in backwards]
    if stop_at == "after_load" and "compare-and-set retries" not in a.log_text():
        problems.append("worker A's stale snapshot was not refused by the version check (no CAS retry)")
    assert not problems, "\n".join(problems[:25])
