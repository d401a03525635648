"""Consumer-group lag that is right on Apache Kafka and on Tansu.

On Apache Kafka (and any broker but Tansu) the end of a partition is its ListOffsets(latest): the
high watermark, as documented. Only on Tansu, whose ListOffsets is wrong, is the end found by fetching:

Tansu answers ListOffsets(latest) — and so `get_watermark_offsets` — with the base offset of the
partition's LAST BATCH + 1 (12 records in 3 batches of 4 -> 9, 1 record -> 1, empty -> 0). The
high watermark in FETCH responses is right, and librdkafka reports it as the offset of the
`_PARTITION_EOF` event. So the true end is found by assigning every partition at
max(ListOffsets latest - 1, low watermark) — on Tansu the start of the last batch, on Kafka the
last record — and reading (at most one batch per partition) until each partition's EOF event.
All partitions are probed at once by one consumer that never joins a group or commits.

Which way is used: `HARMONY_END_OFFSETS=list-offsets|fetch|auto` (default auto: fetch when the
cluster id is Tansu's "tansu_cluster", ListOffsets otherwise).
"""
from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterable

from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, KafkaError, KafkaException, TopicPartition

from streams.kafka.clients import make_admin, make_consumer

__all__ = ["LagProbe", "true_end_offsets", "committed_offsets", "group_lag", "wait_until_caught_up"]

TP = tuple[str, int]
_LATEST, _EARLIEST = -1, -2  # ListOffsets "timestamps"
END_OFFSET_MODES = ("auto", "list-offsets", "fetch")


def end_offset_mode(cluster_id: str | None, setting: str | None = None) -> str:
    """"fetch" (Tansu: its ListOffsets is wrong) or "list-offsets" (every other broker)."""
    setting = (setting if setting is not None else os.environ.get("HARMONY_END_OFFSETS", "auto")) or "auto"
    if setting not in END_OFFSET_MODES:
        raise ValueError(f"HARMONY_END_OFFSETS must be one of {', '.join(END_OFFSET_MODES)}, not {setting!r}")
    if setting != "auto":
        return setting
    return "fetch" if (cluster_id or "").startswith("tansu") else "list-offsets"


class LagProbe:
    """Reusable: one probe consumer + one admin client for repeated lag checks."""

    def __init__(self, bootstrap: str | None = None, **overrides):
        self._consumer: Consumer = make_consumer(
            f"harmony-lag-probe-{uuid.uuid4().hex[:12]}", bootstrap,
            **{"enable.partition.eof": True, "isolation.level": "read_uncommitted",
               "fetch.wait.max.ms": 10, **overrides})
        self._admin = make_admin(bootstrap)
        self._mode: str | None = None

    def mode(self, timeout: float = 10.0) -> str:
        """How this probe finds a partition's end ("list-offsets" or "fetch"), decided once."""
        if self._mode is None:
            self._mode = end_offset_mode(self._consumer.list_topics(timeout=timeout).cluster_id)
        return self._mode

    def close(self) -> None:
        self._consumer.close()

    def __enter__(self) -> LagProbe:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def partitions(self, topics: Iterable[str], timeout: float = 10.0) -> list[TP]:
        out: list[TP] = []
        for t in topics:
            md = self._consumer.list_topics(t, timeout=timeout).topics.get(t)
            if md is None or md.error is not None or not md.partitions:
                raise LookupError(f"topic {t!r} not found ({md.error if md is not None else 'no metadata'})")
            out += [(t, p) for p in sorted(md.partitions)]
        return out

    def _list_offsets(self, tps: list[TP], which: int, timeout: float) -> dict[TP, int]:
        res = self._consumer.offsets_for_times([TopicPartition(t, p, which) for t, p in tps], timeout=timeout)
        out = {}
        for r in res:
            if r.error is not None:
                raise KafkaException(r.error)
            out[(r.topic, r.partition)] = r.offset
        return out

    def offsets(self, topics: Iterable[str], timeout: float = 10.0) -> dict[TP, tuple[int, int]]:
        """(low watermark, true end offset) of every partition of `topics`."""
        deadline = time.monotonic() + timeout
        tps = self.partitions(topics, timeout)
        if not tps:
            return {}
        low = self._list_offsets(tps, _EARLIEST, timeout)
        high = self._list_offsets(tps, _LATEST, timeout)
        if self.mode(timeout) == "list-offsets":
            return {tp: (low[tp], high[tp]) for tp in tps}
        self._consumer.assign([TopicPartition(t, p, max(high[(t, p)] - 1, low[(t, p)], 0)) for t, p in tps])
        ends: dict[TP, int] = {}
        last_error: KafkaError | None = None
        try:
            while len(ends) < len(tps):
                left = deadline - time.monotonic()
                if left <= 0:
                    missing = sorted(set(tps) - ends.keys())
                    raise TimeoutError(f"no end-of-partition within {timeout:.1f}s for {_fmt(missing)}"
                                       + (f" (last error: {last_error})" if last_error else ""))
                for m in self._consumer.consume(100_000, min(left, 0.1)):
                    err = m.error()
                    if err is None:
                        continue
                    if err.code() == KafkaError._PARTITION_EOF:
                        ends.setdefault((m.topic(), m.partition()), m.offset())  # type: ignore[arg-type]  # EOF: all set
                    elif err.fatal():
                        raise KafkaException(err)
                    else:
                        last_error = err
        finally:
            self._consumer.unassign()
        return {tp: (low[tp], ends[tp]) for tp in tps}

    def end_offsets(self, topics: Iterable[str], timeout: float = 10.0) -> dict[TP, int]:
        return {tp: end for tp, (_, end) in self.offsets(topics, timeout).items()}

    def committed(self, group: str, topics: Iterable[str], timeout: float = 10.0) -> dict[TP, int | None]:
        """The group's committed offset per partition, None where it has none."""
        tps = self.partitions(topics, timeout)
        req = ConsumerGroupTopicPartitions(group, [TopicPartition(t, p) for t, p in tps])
        fut = self._admin.list_consumer_group_offsets([req], request_timeout=timeout)[group]
        out: dict[TP, int | None] = {tp: None for tp in tps}
        for r in fut.result(timeout=timeout).topic_partitions:
            if r.error is not None:
                raise KafkaException(r.error)
            out[(r.topic, r.partition)] = r.offset if r.offset >= 0 else None
        return out

    def group_lag(self, group: str, topics: Iterable[str], timeout: float = 10.0) -> dict[TP, int]:
        """true end - committed per partition; without a commit the group starts at the low
        watermark (auto.offset.reset=earliest), so the whole partition counts."""
        topics = list(topics)
        offs = self.offsets(topics, timeout)
        comm = self.committed(group, topics, timeout)
        return {tp: max(0, end - (c if (c := comm.get(tp)) is not None else low))
                for tp, (low, end) in offs.items()}


def _fmt(tps: Iterable[TP]) -> str:
    return ", ".join(f"{t}[{p}]" for t, p in tps)


def true_end_offsets(bootstrap: str, topics: list[str], timeout: float = 10.0) -> dict[TP, int]:
    with LagProbe(bootstrap) as probe:
        return probe.end_offsets(topics, timeout)


def committed_offsets(bootstrap: str, group: str, topics: list[str], timeout: float = 10.0) -> dict[TP, int | None]:
    with LagProbe(bootstrap) as probe:
        return probe.committed(group, topics, timeout)


def group_lag(bootstrap: str, group: str, topics: list[str], timeout: float = 10.0) -> dict[TP, int]:
    with LagProbe(bootstrap) as probe:
        return probe.group_lag(group, topics, timeout)


def wait_until_caught_up(bootstrap: str, group: str, topics: list[str], timeout: float,
                         poll: float = 0.2) -> None:
    """Return once `group` has committed up to the true end of every partition of `topics`
    (records produced after the call may or may not be included); TimeoutError otherwise."""
    deadline = time.monotonic() + timeout
    topics = list(topics)
    lag: dict[TP, int] | None = None
    error: Exception | None = None
    with LagProbe(bootstrap) as probe:
        while True:
            left = deadline - time.monotonic()
            try:
                lag = probe.group_lag(group, topics, timeout=max(0.5, min(left, 10.0)))
                error = None
                if not any(lag.values()):
                    return
            except (TimeoutError, KafkaException, LookupError) as e:
                error = e
            left = deadline - time.monotonic()
            if left <= 0:
                break
            time.sleep(min(poll, left))
    behind = {tp: n for tp, n in sorted((lag or {}).items()) if n}
    msg = f"consumer group {group!r} not caught up after {timeout:.1f}s"
    if behind:
        shown = ", ".join(f"{t}[{p}]={n}" for (t, p), n in list(behind.items())[:20])
        more = f", ... ({len(behind) - 20} more)" if len(behind) > 20 else ""
        msg += f": lag {sum(behind.values())} on {len(behind)} partition(s): {shown}{more}"
    if error is not None:
        msg += f"; last probe error: {error}"
    raise TimeoutError(msg)
