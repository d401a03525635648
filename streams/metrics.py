"""In-process counters and gauges, rendered in the Prometheus text format for GET /metrics."""
from __future__ import annotations

import threading
from collections import defaultdict

HELP = {
    "harmony_events_in_total": ("counter", "Input messages read, by topic"),
    "harmony_events_out_total": ("counter", "Output messages published, by topic"),
    "harmony_decisions_total": ("counter", "Charge decisions, by outcome and reason"),
    "harmony_redemptions_total": ("counter", "Redemption results, by outcome and reason"),
    "harmony_dead_letters_total": ("counter", "Messages sent to the dead-letter topic, by origin topic"),
    "harmony_cas_retries_total": ("counter", "Members decided again because they changed meanwhile"),
    "harmony_batches_total": ("counter", "Batches applied"),
    "harmony_batch_seconds_sum": ("counter", "Time spent applying batches"),
    "harmony_batch_stage_seconds_sum": ("counter", "Time spent applying batches, by stage: apply (decode, "
                                        "rules, Redis), publish (until delivered), positions (Redis, commit)"),
    "harmony_member_cache_hits_total": ("counter", "Members taken from the worker's member cache"),
    "harmony_member_cache_misses_total": ("counter", "Members the member cache did not have (read from Redis)"),
    "harmony_consumer_lag": ("gauge", "Messages not yet processed, by topic and partition"),
    "harmony_config_version_info": ("gauge", "Program configuration in force"),
}


def _labels(labels: dict[str, str]) -> str:
    if not labels:
        return ""
    inner = ",".join(f'{k}="{str(v).replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"'
                     for k, v in sorted(labels.items()))
    return "{" + inner + "}"


class Metrics:
    def __init__(self):
        self._lock = threading.Lock()
        self._values: dict[str, dict[tuple, float]] = defaultdict(dict)

    def inc(self, name: str, amount: float = 1, **labels) -> None:
        key = tuple(sorted(labels.items()))
        with self._lock:
            series = self._values[name]
            series[key] = series.get(key, 0) + amount

    def set(self, name: str, value: float, **labels) -> None:
        key = tuple(sorted(labels.items()))
        with self._lock:
            self._values[name][key] = value

    def value(self, name: str, **labels) -> float:
        return self._values.get(name, {}).get(tuple(sorted(labels.items())), 0)

    def total(self, name: str) -> float:
        return sum(self._values.get(name, {}).values())

    def render(self) -> str:
        lines = []
        with self._lock:
            for name in sorted(self._values):
                kind, text = HELP.get(name, ("untyped", name))
                lines.append(f"# HELP {name} {text}")
                lines.append(f"# TYPE {name} {kind}")
                for key, v in sorted(self._values[name].items()):
                    lines.append(f"{name}{_labels(dict(key))} {v:g}")
        return "\n".join(lines) + "\n"
