"""Producing simulated records: as fast as possible, or at a fixed rate."""
from __future__ import annotations

import time
from collections.abc import Sequence

from streams.simulate.messages import SimMessage

__all__ = ["publish"]


def publish(producer, topics, messages: Sequence[SimMessage], rate: float = 0.0, *,
            on_sent=None, tick: float = 0.005) -> float:
    """Produce ``messages`` (topic attribute resolved on ``topics``) as fast as possible (``rate`` 0)
    or at ``rate`` messages/s; ``on_sent(i, t)`` is called with each message's index and
    ``time.perf_counter()`` when it was handed to the producer. Flushes; returns the seconds taken."""
    names = {attr: getattr(topics, attr) for attr in {m.topic for m in messages}}
    produce, poll = producer.produce, producer.poll
    started = time.perf_counter()

    def send(i: int, m: SimMessage) -> None:
        while True:
            try:
                produce(names[m.topic], m.value, m.key)
                break
            except BufferError:
                poll(0.01)
        if on_sent is not None:
            on_sent(i, time.perf_counter())

    if rate <= 0:
        for i, m in enumerate(messages):
            send(i, m)
            if i % 10_000 == 9_999:
                poll(0)
    else:
        i, n = 0, len(messages)
        while i < n:
            due = min(n, int((time.perf_counter() - started) * rate) + 1)
            while i < due:
                send(i, messages[i])
                i += 1
            poll(0)
            if i < n:
                time.sleep(max(0.0, started + i / rate - time.perf_counter()))
    left = producer.flush(60)
    if left:
        raise RuntimeError(f"{left} messages not acknowledged by the broker")
    return time.perf_counter() - started
