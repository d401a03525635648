"""Publishing output records with confirmed delivery (a batch counts as done only when delivered)."""
from __future__ import annotations

from streams.engine.batch import BatchResult
from streams.kafka.clients import make_producer
from streams.runtime.metrics import Metrics

MAX_MESSAGE = 10 * 1024 * 1024


class DeliveryFailed(RuntimeError):
    pass


class Publisher:
    def __init__(self, bootstrap: str, metrics: Metrics | None = None, **overrides):
        self.metrics = metrics or Metrics()
        self._errors: list[str] = []
        # delivery reports for failures only: no Python callback per delivered record (flush() still
        # waits for every record; a failed one reaches _on_delivery and fails the batch)
        self.producer = make_producer(bootstrap, **{"message.max.bytes": MAX_MESSAGE,
                                                    "delivery.report.only.error": True,
                                                    "on_delivery": self._on_delivery, **overrides})

    def _on_delivery(self, err, msg) -> None:
        if err is not None:
            self._errors.append(f"{msg.topic()}: {err}")

    def __call__(self, result: BatchResult, timeout: float = 30.0) -> None:
        """Publish every record of ``result`` and wait until all are acknowledged."""
        self._errors.clear()
        produce, poll = self.producer.produce, self.producer.poll
        counts: dict[str, int] = {}
        for r in result.records:
            while True:
                try:
                    if r.headers:
                        produce(r.topic, r.value, r.key, headers=r.headers)
                    else:
                        produce(r.topic, r.value, r.key)
                    break
                except BufferError:
                    poll(0.05)
            counts[r.topic] = counts.get(r.topic, 0) + 1
        for topic, n in counts.items():
            self.metrics.inc("harmony_events_out_total", n, topic=topic)
        remaining = self.producer.flush(timeout)
        if remaining or self._errors:
            raise DeliveryFailed(f"{remaining} records undelivered; errors: {self._errors[:3]}")

    def close(self) -> None:
        self.producer.flush(10)
