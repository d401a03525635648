"""The worker's Prometheus metrics (prometheus_client), rendered for GET /metrics.

One registry per :class:`Metrics` (tests run several workers in one process). The engine calls
``inc`` / ``set`` / ``observe`` with the metric's exposed name; ``*_seconds_sum`` names of the
histograms are accepted by ``inc`` (an observation) so callers written for the former hand-made
sums keep working; a name not declared in ``SPECS`` is registered on first use (counter for ``inc``,
gauge for ``set``), so code written for the former class never fails on a new name.
``refreshers`` run before each rendering (gauges read from Redis: held inputs, last job runs —
streams/runtime/held_metrics.py).
"""
from __future__ import annotations

import threading
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics, generate_latest

disable_created_metrics()  # no *_created series: nothing here needs them, and they double the output

# seconds: a batch takes 1 ms (a few messages) to a few seconds (2,000 under load)
BATCH_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# seconds from the producer's timestamp to the outputs delivered: 10 ms to minutes (a backlog)
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
HELD_AGE_BUCKETS = ((3600, "lt_1h"), (86400, "1h_24h"), (3 * 86400, "1d_3d"), (float("inf"), "gt_3d"))

# exposed name -> (kind, help, label names)
SPECS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "harmony_events_in_total": ("counter", "Input messages read, by topic", ("topic",)),
    "harmony_events_out_total": ("counter", "Output messages published, by topic", ("topic",)),
    "harmony_decisions_total": ("counter", "Charge decisions, by outcome and reason", ("outcome", "reason")),
    "harmony_redemptions_total": ("counter", "Redemption results, by outcome and reason", ("outcome", "reason")),
    "harmony_dead_letters_total": ("counter", "Messages sent to the dead-letter topic, by origin topic", ("topic",)),
    "harmony_cas_retries_total": ("counter", "Members decided again because they changed meanwhile", ()),
    "harmony_batches_total": ("counter", "Batches applied", ()),
    "harmony_batch_seconds": ("histogram", "Time to apply one batch (consume to offsets committed)", ()),
    "harmony_batch_stage_seconds": ("histogram", "Time per batch stage: apply (decode, rules, Redis), publish "
                                    "(until delivered), positions (Redis, commit)", ("stage",)),
    "harmony_end_to_end_seconds": ("histogram", "From the input's Kafka timestamp to its outputs delivered and "
                                   "its position recorded (sampled: up to 200 messages per batch)", ()),
    "harmony_member_cache_hits_total": ("counter", "Members taken from the worker's member cache", ()),
    "harmony_member_cache_misses_total": ("counter", "Members the member cache did not have (read from Redis)", ()),
    "harmony_consumer_lag": ("gauge", "Messages not yet processed, by topic and partition", ("topic", "partition")),
    "harmony_config_version_info": ("gauge", "Program configuration in force", ("version",)),
    "harmony_held_inputs": ("gauge", "Inputs held (waiting for an enrollment, an exchange rate, an original), by "
                            "reason and age (lt_1h, 1h_24h, 1d_3d, gt_3d)", ("reason", "age")),
    "harmony_held_oldest_seconds": ("gauge", "Age of the oldest held input, by reason", ("reason",)),
    "harmony_job_last_success_timestamp_seconds": ("gauge", "When a job last completed (Unix time), by job: "
                                                   "close-year, expire", ("job",)),
    "harmony_job_last_year_closed": ("gauge", "Year of the last completed year-end evaluation", ()),
    "harmony_job_last_expiry_as_of_timestamp_seconds": ("gauge", "as-of date of the last completed expiry run "
                                                        "(Unix time of its JST midnight)", ()),
}


def _base(name: str) -> str:
    return name[:-len("_total")] if name.endswith("_total") else name


class Metrics:
    def __init__(self):
        self.registry = CollectorRegistry(auto_describe=True)
        self._lock = threading.Lock()
        self._metrics: dict[str, Counter | Gauge | Histogram] = {}
        self._values: dict[str, dict[tuple, float]] = {}  # what was counted (value(), total())
        self.refreshers: list[Callable[[Metrics], None]] = []
        for name, (kind, text, labels) in SPECS.items():
            if kind == "counter":
                m = Counter(_base(name), text, labels, registry=self.registry)
            elif kind == "gauge":
                m = Gauge(name, text, labels, registry=self.registry)
            else:
                buckets = LATENCY_BUCKETS if name == "harmony_end_to_end_seconds" else BATCH_BUCKETS
                m = Histogram(name, text, labels, registry=self.registry, buckets=buckets)
            self._metrics[name] = m

    def _child(self, name: str, labels: dict, kind: str = "counter"):
        m = self._metrics.get(name)
        if m is None:  # a metric not declared in SPECS (yet): registered on first use, never an error
            with self._lock:
                m = self._metrics.get(name)
                if m is None:
                    names = tuple(sorted(labels))
                    m = Counter(_base(name), name, names, registry=self.registry) if kind == "counter" else \
                        Gauge(name, name, names, registry=self.registry)
                    self._metrics[name] = m
        return m.labels(**{k: str(v) for k, v in labels.items()}) if labels else m

    def inc(self, name: str, amount: float = 1, **labels) -> None:
        if name.endswith("_seconds_sum") and name[:-4] in self._metrics:  # former hand-made sums
            self.observe(name[:-4], amount, **labels)
            return
        self._child(name, labels).inc(amount)
        self._remember(name, labels, amount, add=True)

    def set(self, name: str, value: float, **labels) -> None:
        self._child(name, labels, "gauge").set(value)
        self._remember(name, labels, value, add=False)

    def observe(self, name: str, value: float, **labels) -> None:
        self._child(name, labels).observe(value)
        self._remember(name + "_sum", labels, value, add=True)

    def clear(self, name: str) -> None:
        """Drop every labelled series of a gauge (before setting the current ones again)."""
        self._metrics[name].clear()
        with self._lock:
            self._values.pop(name, None)

    def _remember(self, name: str, labels: dict, value: float, add: bool) -> None:
        key = tuple(sorted((k, str(v)) for k, v in labels.items()))
        with self._lock:
            series = self._values.setdefault(name, {})
            series[key] = series.get(key, 0) + value if add else value

    def value(self, name: str, **labels) -> float:
        return self._values.get(name, {}).get(tuple(sorted((k, str(v)) for k, v in labels.items())), 0)

    def total(self, name: str) -> float:
        return sum(self._values.get(name, {}).values())

    def render(self) -> str:
        for refresh in list(self.refreshers):
            refresh(self)
        return generate_latest(self.registry).decode()
