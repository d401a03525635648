"""Where the worker loop's outputs go: the OutputSink port.

The Kafka adapter is ``streams.kafka.publisher.Publisher``; unit tests pass a list-backed fake
(tests/unit/test_worker_loop.py). The consumer is confluent-kafka's, opened through the factory the
composition root hands the worker (streams/runtime/bootstrap.py).
"""
from __future__ import annotations

from typing import Protocol

from streams.engine.batch import BatchResult


class OutputSink(Protocol):
    """Publishes every record of a result and returns once all are delivered (raises otherwise)."""

    def __call__(self, result: BatchResult) -> None: ...

    def close(self) -> None: ...

