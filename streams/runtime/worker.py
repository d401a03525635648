"""The hot path: a confluent-kafka batch loop around the engine.

Per batch: consume up to N messages from the input topics (one consumer group, range assignment so
partition i of every member-keyed topic lands on the same worker), apply them through the engine
(Redis state), publish the outputs and wait for their delivery, record the positions (the
checkpoint: streams/runtime/checkpoint.py), then commit the offsets. A crash anywhere replays the
batch; the member scripts make the replay a no-op apart from re-publishing the same (deterministic)
records. The worker is given its parts by streams/runtime/bootstrap.py; it builds nothing itself.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, KafkaError, KafkaException, TopicPartition

from streams.engine.batch import BatchResult, Message
from streams.runtime import gc_tuning
from streams.runtime.checkpoint import Checkpoint
from streams.runtime.fx_reader import FxReader
from streams.runtime.job_runner import JobRunner
from streams.runtime.parts import Parts
from streams.runtime.ports import OutputSink

log = logging.getLogger(__name__)
MAX_MESSAGE = 10 * 1024 * 1024
FX_FETCH_WAIT_MS = 500


class Worker:
    """The batch loop over parts wired by streams/runtime/bootstrap.py (``build_worker``); ``run(stop)``
    loops until ``stop`` is set. The Kafka clients are opened in run() (``open_publisher()``,
    ``open_consumer(group, **config)``)."""

    def __init__(self, parts: Parts, checkpoint: Checkpoint, fx_reader: FxReader, jobs: JobRunner,
                 open_publisher: Callable[[], OutputSink], open_consumer: Callable[..., Any],
                 faults: FaultPoints | None = None):
        self.parts = parts
        self.s = parts.settings
        self.metrics = parts.metrics
        self.engine = parts.engine
        self.checkpoint = checkpoint
        self.fx_reader = fx_reader
        self.jobs = jobs  # close-year / expire requests (the faust agent runs them beside the loop)
        self.open_publisher = open_publisher
        self.open_consumer = open_consumer
        self.faults = faults or FaultPoints(None, 1)
        self.ready = threading.Event()
        self.last_error: str | None = None
        self._lag_next = 0.0  # monotonic time of the next lag gauge refresh
        self.retry_pause = 1.0  # seconds to wait after a failed batch or FX read (Redis or Kafka down)

    def _forget_members(self) -> None:
        """Drop the member snapshots kept between batches (not needed for correctness: saves check)."""
        self.parts.store.cache.clear()

    # ------------------------------------------------------------------ partitions
    def _on_assign(self, consumer, partitions) -> None:
        """Start each partition where the position store says its effects end (Redis is the source of
        truth: after a Redis restart that lost its last second, we replay from what it still has)."""
        starts = self.checkpoint.assign([(tp.topic, tp.partition) for tp in partitions])
        for tp in partitions:
            pos = starts[(tp.topic, tp.partition)]
            tp.offset = pos if pos is not None else OFFSET_BEGINNING
        consumer.assign(partitions)
        # a process that died between writing a position to Redis and committing it left the group's
        # commit behind: commit what Redis holds, or the lag (`harmony wait`) stays > 0 until new input
        known = [TopicPartition(tp.topic, tp.partition, tp.offset) for tp in partitions if tp.offset >= 0]
        if known:
            try:
                consumer.commit(offsets=known, asynchronous=True)
            except KafkaException as exc:
                log.warning("commit of the Redis positions failed: %s", exc)
        log.info("assigned %d partitions", len(partitions))

    def _on_revoke(self, consumer, partitions) -> None:
        self._forget_members()  # the members of other partitions are another worker's now
        consumer.unassign()
        self.checkpoint.revoke()

    # ------------------------------------------------------------------ loop
    def run(self, stop: threading.Event) -> None:
        s = self.s
        gc_tuning.tune(s.gc_gen0)
        producer = self.open_publisher()
        consumer = self.open_consumer(s.group, **{"session.timeout.ms": s.session_timeout_ms,
                                                  "fetch.max.bytes": 2 * MAX_MESSAGE,
                                                  "max.partition.fetch.bytes": MAX_MESSAGE})
        # rates change a few times a day: a long fetch wait costs nothing here and keeps the broker's load
        # from this consumer low (Tansu answers every fetch after the whole wait: ~50 requests/s at 20 ms)
        fx_consumer = self.open_consumer(fx_reader_group(s.group),
                                         **{"enable.partition.eof": True, "fetch.wait.max.ms": FX_FETCH_WAIT_MS})
        try:
            self.fx_reader.start(fx_consumer, producer)  # the history in Redis, then the topic
            # rates loaded now may be what held inputs wait for (a rate read by a process that died
            # before releasing them): release them before consuming, not at the first sweep
            self.sweep(producer)
            consumer.subscribe([t for t in s.topics.inputs if t != s.topics.fx],
                               on_assign=self._on_assign, on_revoke=self._on_revoke)
            self.ready.set()
            next_sweep = time.monotonic() + s.sweep_seconds
            next_check = 0.0
            while not stop.is_set():
                self._poll_fx(fx_consumer, producer)
                msgs = consumer.consume(s.batch_size, timeout=0.01)  # a batch is what has arrived: low latency
                # a consumed message (no error) always has its topic, partition, offset and list of headers
                batch = [Message(m.topic(), m.partition(), m.offset(), m.key(), m.value(), m.headers())
                         for m in msgs if not m.error()]
                for m in msgs:
                    if (err := m.error()) and err.code() != KafkaError._PARTITION_EOF:
                        log.warning("consumer error: %s", err)
                if batch:
                    self._apply(batch, consumer, producer)
                    if self.last_error is None:  # applied (a failed batch is replayed, observed then)
                        self._observe_latency(msgs)
                elif time.monotonic() >= next_check:  # idle: does Redis still hold what we wrote?
                    next_check = time.monotonic() + 1.0
                    try:
                        self._rewind_if_lost(consumer, [])
                    except Exception as exc:  # noqa: BLE001 - Redis down: the next batch retries
                        log.warning("position check failed: %s", exc)
                if time.monotonic() >= next_sweep:
                    next_sweep = time.monotonic() + s.sweep_seconds
                    self.sweep(producer)
                self._lag(consumer)
        finally:
            self.ready.clear()
            try:
                producer.close()
            finally:
                fx_consumer.close()
                consumer.close()

    def _apply(self, batch: list[Message], consumer, producer: OutputSink) -> None:
        """One batch: apply it (member state in Redis), publish its outputs and wait for their delivery,
        then advance the positions and commit the offsets. Any failure seeks back to the batch's first
        offsets: the batch is read and applied again (a no-op on Redis, the same records published)."""
        started = time.perf_counter()
        self.faults.point("before_apply")
        try:
            if self._rewind_if_lost(consumer, batch):
                return
            result = self.engine.process(batch)
            if self.engine.changelog:  # flushed with the batch's state: rebuild resumes from here
                result.records += self.engine.out.positions(self.s.group, result.positions)
            applied = time.perf_counter()
            self.faults.point("after_apply")
            self._publish(result, producer)
            published = time.perf_counter()
            self.faults.point("after_publish")
            self._advance(result, consumer)
            done = time.perf_counter()
        except Exception as exc:  # Redis down, delivery failed, a bug: replay the batch later
            self.last_error = f"{type(exc).__name__}: {exc}"
            log.exception("batch failed; it will be replayed")
            self._forget_members()  # a fresh start
            for (topic, partition), offset in _first_offsets(batch).items():
                if (topic, partition) in self.checkpoint.assigned:
                    consumer.seek(TopicPartition(topic, partition, offset))
            time.sleep(self.retry_pause)
            return
        self.last_error = None
        self.metrics.inc("harmony_batches_total")
        self.metrics.inc("harmony_batch_seconds_sum", done - started)
        for stage, seconds in (("apply", applied - started), ("publish", published - applied),
                               ("positions", done - published)):
            self.metrics.inc("harmony_batch_stage_seconds_sum", seconds, stage=stage)
        if log.isEnabledFor(logging.DEBUG):
            log.debug("batch of %d: apply %.1f ms, publish %d records %.1f ms, positions %.1f ms", len(batch),
                      (applied - started) * 1e3, len(result.records), (published - applied) * 1e3,
                      (done - published) * 1e3)
        self.metrics.inc("harmony_cas_retries_total", result.cas_retries)

    def _observe_latency(self, msgs) -> None:
        """harmony_end_to_end_seconds: producer timestamp -> outputs delivered, positions recorded
        (up to 200 evenly spaced messages of the batch: the cost stays flat at any batch size)."""
        now = time.time()
        step = max(len(msgs) // 200, 1)
        for m in msgs[::step]:
            if m.error():
                continue
            kind, ts = m.timestamp()
            if kind != 0 and ts > 0:  # 0: TIMESTAMP_NOT_AVAILABLE
                self.metrics.observe("harmony_end_to_end_seconds", max(now - ts / 1000.0, 0.0))

    def _rewind_if_lost(self, consumer, batch: list[Message]) -> bool:
        """Redis is the source of truth. If it now holds an older position than this worker read or
        wrote for a partition (it lost acknowledged writes: a restart without fsync, a failover to a
        lagging replica), rewind the partition to what Redis holds (the beginning when it holds none)
        and drop ``batch`` (read again later), so the lost effects are applied again, in order, before
        anything newer. True when it rewound."""
        lost = self.checkpoint.lost()
        if not lost:
            return False
        log.error("Redis lost applied batches (position now %s): replaying from there",
                  ", ".join(f"{t}[{p}] {self.checkpoint.written[(t, p)]} -> {h}" for (t, p), h in sorted(lost.items())))
        for (t, p), offset in _first_offsets(batch).items():
            if (t, p) not in lost:
                consumer.seek(TopicPartition(t, p, offset))
        self._forget_members()
        self.checkpoint.rewound(lost)
        for (t, p), have in lost.items():
            consumer.seek(TopicPartition(t, p, have if have is not None else OFFSET_BEGINNING))
        return True

    def _publish(self, result: BatchResult, producer: OutputSink) -> None:
        producer(result)
        self.engine.clean_released(result)

    def _advance(self, result: BatchResult, consumer) -> None:
        """The batch is delivered: its positions to the store, then (asynchronously) to Kafka."""
        commit = self.checkpoint.advance(result.positions)
        if commit:
            try:
                consumer.commit(offsets=[TopicPartition(t, p, o) for (t, p), o in commit], asynchronous=True)
            except KafkaException as exc:  # positions are in Redis; the next commit catches up
                log.warning("offset commit failed: %s", exc)

    # ------------------------------------------------------------------ FX rates (every worker reads all)
    def _poll_fx(self, fx_consumer, producer) -> None:
        try:
            changed = self.fx_reader.poll(fx_consumer, producer)
        except Exception as exc:  # noqa: BLE001 - Redis down or delivery failed: the records are read again
            self.last_error = f"{type(exc).__name__}: {exc}"
            log.exception("FX records not applied; read again later")
            time.sleep(self.retry_pause)
            return
        if changed:
            self._publish(self.engine.release_fx(changed), producer)

    def sweep(self, producer) -> None:
        """Retry what waits for FX (in case a rate raced a hold), expire unknown-member holds, and publish
        again the outputs of released holds a crash may have kept from being published."""
        try:
            self._publish(self.engine.release_fx(self.parts.fx.currencies()), producer)
            self._publish(self.engine.release_unknown(), producer)
            self._publish(self.engine.release_markers(), producer)
        except Exception:  # noqa: BLE001 - the next sweep tries again
            log.exception("sweep failed")

    def _lag(self, consumer) -> None:
        """Consumer lag gauges from the high watermarks carried by fetch responses (right on Tansu
        too, unlike ListOffsets); refreshed at most once a second."""
        now = time.monotonic()
        if now < self._lag_next:
            return
        self._lag_next = now + 1.0
        for topic, partition in list(self.checkpoint.assigned):
            try:
                _, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), cached=True)
                pos = consumer.position([TopicPartition(topic, partition)])[0].offset
            except KafkaException:
                continue
            if high >= 0 and pos >= 0:
                self.metrics.set("harmony_consumer_lag", max(high - pos, 0), topic=topic, partition=partition)


class FaultPoints:
    """Fault injection for the reliability tests: HARMONY_CRASH_AT=<point> and
    HARMONY_CRASH_AFTER=<n> SIGKILL this process the n-th time it reaches <point>
    (before_apply, after_apply: Redis updated but nothing published, after_publish: published but
    positions/offsets not committed). Off unless the variable is set."""

    def __init__(self, point: str | None, after: int):
        self.target, self.after, self.seen = point, after, 0

    @classmethod
    def from_env(cls) -> FaultPoints:
        import os
        return cls(os.environ.get("HARMONY_CRASH_AT") or None, int(os.environ.get("HARMONY_CRASH_AFTER", "1")))

    def point(self, name: str) -> None:
        if self.target != name:
            return
        self.seen += 1
        if self.seen >= self.after:
            import os
            import signal
            log.warning("fault injection: SIGKILL at %s", name)
            os.kill(os.getpid(), signal.SIGKILL)


def _first_offsets(batch: list[Message]) -> dict[tuple[str, int], int]:
    """The first offset of each partition in ``batch`` (where a replay of the batch starts)."""
    first: dict[tuple[str, int], int] = {}
    for m in batch:
        first.setdefault((m.topic, m.partition), m.offset)
    return first


def fx_reader_group(group: str) -> str:
    return f"{group}.fx-reader"
