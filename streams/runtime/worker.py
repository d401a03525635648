"""The hot path: a confluent-kafka batch loop around the engine.

Per batch: consume up to N messages from the input topics (one consumer group, range assignment so
partition i of every member-keyed topic lands on the same worker), apply them through the engine
(Redis state), publish the outputs and wait for their delivery, record the positions in Redis, then
commit the offsets. A crash anywhere replays the batch; the member scripts make the replay a no-op
apart from re-publishing the same (deterministic) records.
"""
from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime

from confluent_kafka import OFFSET_BEGINNING, KafkaError, KafkaException, TopicPartition

from processors.fx import FxTable
from schemas.codec import Codec
from streams.engine.batch import BatchResult, Engine, Message
from streams.engine.events import DOMAIN_CLASSES, to_domain
from streams.kafka.clients import make_consumer
from streams.kafka.publisher import Publisher
from streams.redis.batch import Batch
from streams.redis.client import connect
from streams.redis.member_store import MemberStore
from streams.runtime import gc_tuning
from streams.runtime.config_file import ConfigFile
from streams.runtime.fx_reader import FxHistory, FxReader
from streams.runtime.metrics import Metrics
from streams.runtime.settings import Settings

log = logging.getLogger(__name__)
MAX_MESSAGE = 10 * 1024 * 1024
FX_FETCH_WAIT_MS = 500


class Worker:
    """Owns the clients; ``run(stop)`` loops until ``stop`` is set. Clients are created in run()."""

    def __init__(self, settings: Settings, metrics: Metrics | None = None, clock=None):
        self.s = settings
        self.metrics = metrics or Metrics()
        self.clock = clock
        self.fx = FxTable()
        self.config = ConfigFile(settings.config_path)
        self.codec = Codec(settings.registry_url)
        self.redis = None
        self.engine: Engine | None = None
        self.ready = threading.Event()
        self.last_error: str | None = None
        self._assigned: set[tuple[str, int]] = set()
        # the position this worker last read from / wrote to Redis per assigned partition (None: none there)
        self._written: dict[tuple[str, int], int | None] = {}
        self.faults = FaultPoints.from_env()

    # ------------------------------------------------------------------ setup
    @property
    def built_engine(self) -> Engine:
        """The engine ``build()`` made (run() builds it first); an error before that, not a None."""
        if self.engine is None:
            raise RuntimeError("Worker.build() has not run: no engine yet")
        return self.engine

    def job_publisher(self) -> Publisher:
        """A publisher for jobs (close-year, expiry) run beside the batch loop."""
        if getattr(self, "_job_publisher", None) is None:
            self._job_publisher = Publisher(self.s.bootstrap, self.metrics)
        return self._job_publisher

    def _decode_held(self, topic: str, raw: bytes):
        name, event = self.codec.decode_domain(raw, DOMAIN_CLASSES)
        return event if not isinstance(event, dict) else to_domain(name, event)

    def build(self) -> Engine:
        self.redis = connect(self.s.redis_url)
        self.store = store = MemberStore(self.redis, self._decode_held, cache_size=self.s.member_cache)
        self.engine = Engine(self.s.topics, self.codec, store, self.config, self.fx, self.metrics, self.clock)
        self.engine.changelog = self.s.changelog
        if not getattr(self, "_held_refresher", None):
            from streams.runtime.held_metrics import refresher
            self._held_refresher = refresher(lambda: self.redis, self.clock)
            self.metrics.refreshers.append(self._held_refresher)
        self.fx_reader = FxReader(self.s.topics.fx, self.codec, self.fx, FxHistory(self.redis), self.engine.out,
                                  self.metrics, self.s.changelog)
        return self.engine

    def _on_assign(self, consumer, partitions):
        """Start each partition where Redis says its effects end (Redis is the source of truth: after
        a Redis restart that lost its last second, we replay from what it still has)."""
        batch = Batch(self.redis)
        for tp in partitions:
            key = self.s.position_key(tp.topic, tp.partition)
            batch.add(key, lambda p, k=key: p.get(k))
        self._written = {}
        for tp, pos in zip(partitions, batch.execute()):
            # no position in Redis = none of this partition's effects are there (never applied, or
            # lost with the AOF tail): replay from the beginning, a Kafka commit may be ahead of Redis
            tp.offset = int(pos) if pos is not None else OFFSET_BEGINNING
            self._written[(tp.topic, tp.partition)] = int(pos) if pos is not None else None
        consumer.assign(partitions)
        self._assigned = {(tp.topic, tp.partition) for tp in partitions}
        # a process that died between writing a position to Redis and committing it left the group's
        # commit behind: commit what Redis holds, or the lag (`harmony wait`) stays > 0 until new input
        known = [TopicPartition(tp.topic, tp.partition, tp.offset) for tp in partitions if tp.offset >= 0]
        if known:
            try:
                consumer.commit(offsets=known, asynchronous=True)
            except KafkaException as exc:
                log.warning("commit of the Redis positions failed: %s", exc)
        log.info("assigned %d partitions", len(partitions))

    def _on_revoke(self, consumer, partitions):
        if self.engine is not None:  # the members of other partitions are another worker's now
            self.engine.store.cache.clear()
        consumer.unassign()
        self._assigned = set()
        self._written = {}

    # ------------------------------------------------------------------ loop
    def run(self, stop: threading.Event) -> None:
        if self.engine is None:
            self.build()
        s = self.s
        gc_tuning.tune(s.gc_gen0)
        producer = Publisher(s.bootstrap, self.metrics)
        consumer = make_consumer(s.group, s.bootstrap, **{"session.timeout.ms": s.session_timeout_ms,
                                                          "fetch.max.bytes": 2 * MAX_MESSAGE,
                                                          "max.partition.fetch.bytes": MAX_MESSAGE})
        # rates change a few times a day: a long fetch wait costs nothing here and keeps the broker's load
        # from this consumer low (Tansu answers every fetch after the whole wait: ~50 requests/s at 20 ms)
        fx_consumer = make_consumer(fx_reader_group(s.group), s.bootstrap,
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
                batch = [Message(m.topic(), m.partition(), m.offset(), m.key(), m.value(),  # type: ignore[arg-type]  # set
                                 m.headers())  # type: ignore[arg-type]  # a consumed message's headers: a list or None
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

    def _apply(self, batch: list[Message], consumer, producer) -> None:
        started = time.perf_counter()
        self.faults.point("before_apply")
        try:
            if self._rewind_if_lost(consumer, batch):
                return
            result = self.built_engine.process(batch)
            if self.built_engine.changelog:  # flushed with the batch's state: rebuild resumes from here
                result.records += self.built_engine.out.positions(self.s.group, result.positions)
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
            self.built_engine.store.cache.clear()  # not needed for correctness (saves check): a fresh start
            first: dict[tuple[str, int], int] = {}
            for m in batch:
                first.setdefault((m.topic, m.partition), m.offset)
            for (topic, partition), offset in first.items():
                if (topic, partition) in self._assigned:
                    consumer.seek(TopicPartition(topic, partition, offset))
            time.sleep(1.0)
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
        tps = [tp for tp, pos in self._written.items() if pos is not None and tp in self._assigned]
        if not tps:
            return False
        check = Batch(self.redis)
        for t, p in tps:
            key = self.s.position_key(t, p)
            check.add(key, lambda pipe, k=key: pipe.get(k))
        lost = {}
        for tp, have in zip(tps, check.execute()):
            have = int(have) if have is not None else None
            written = self._written[tp]  # not None: tps holds only written positions
            if have is None or (written is not None and have < written):
                lost[tp] = have
        if not lost:
            return False
        log.error("Redis lost applied batches (position now %s): replaying from there",
                  ", ".join(f"{t}[{p}] {self._written[(t, p)]} -> {h}" for (t, p), h in sorted(lost.items())))
        first: dict[tuple[str, int], int] = {}
        for m in batch:
            first.setdefault((m.topic, m.partition), m.offset)
        for (t, p), offset in first.items():
            if (t, p) not in lost:
                consumer.seek(TopicPartition(t, p, offset))
        self.built_engine.store.cache.clear()
        for (t, p), have in lost.items():
            self._written[(t, p)] = have
            consumer.seek(TopicPartition(t, p, have if have is not None else OFFSET_BEGINNING))
        return True

    def _publish(self, result: BatchResult, producer: Publisher) -> None:
        producer(result)
        self.built_engine.clean_released(result)

    def _advance(self, result: BatchResult, consumer) -> None:
        if not result.positions:
            return
        batch = Batch(self.redis)
        advance = self.store.scripts.position
        for (topic, partition), nxt in result.positions.items():
            key = self.s.position_key(topic, partition)
            batch.add(key, lambda p, k=key, n=nxt: advance(keys=[k], args=[n], client=p))
        batch.execute()
        for tp, nxt in result.positions.items():
            self._written[tp] = max(nxt, self._written.get(tp) or 0)
        offsets = [TopicPartition(t, p, o) for (t, p), o in result.positions.items() if (t, p) in self._assigned]
        if offsets:
            try:
                consumer.commit(offsets=offsets, asynchronous=True)
            except KafkaException as exc:  # positions are in Redis; the next commit catches up
                log.warning("offset commit failed: %s", exc)

    # ------------------------------------------------------------------ FX rates (every worker reads all)
    def _poll_fx(self, fx_consumer, producer) -> None:
        try:
            changed = self.fx_reader.poll(fx_consumer, producer)
        except Exception as exc:  # noqa: BLE001 - Redis down or delivery failed: the records are read again
            self.last_error = f"{type(exc).__name__}: {exc}"
            log.exception("FX records not applied; read again later")
            time.sleep(1.0)
            return
        if changed:
            self._publish(self.built_engine.release_fx(changed), producer)

    def sweep(self, producer) -> None:
        """Retry what waits for FX (in case a rate raced a hold), expire unknown-member holds, and publish
        again the outputs of released holds a crash may have kept from being published."""
        try:
            self._publish(self.built_engine.release_fx(self.fx.currencies()), producer)
            self._publish(self.built_engine.release_unknown(), producer)
            self._publish(self.built_engine.release_markers(), producer)
        except Exception:  # noqa: BLE001 - the next sweep tries again
            log.exception("sweep failed")

    def _lag(self, consumer) -> None:
        """Consumer lag gauges from the high watermarks carried by fetch responses (right on Tansu
        too, unlike ListOffsets); refreshed at most once a second."""
        now = time.monotonic()
        if now < getattr(self, "_lag_next", 0.0):
            return
        self._lag_next = now + 1.0
        for topic, partition in list(self._assigned):
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


def fx_reader_group(group: str) -> str:
    return f"{group}.fx-reader"


def utcnow() -> datetime:
    return datetime.now(UTC)
