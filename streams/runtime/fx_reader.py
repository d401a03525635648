"""The FX reader: every worker's table of exchange rates, kept durable in Redis.

``fx.rates.v1`` is compacted by its key ``CURRENCY:RATE_DATE`` (interfaces.md), but a topic can
still lose history: records published with the old key (the currency alone) are compacted down to
the newest rate per currency, a topic may have a short retention, or be recreated. Decisions must
not depend on that: a held charge released after a restart, a late posting or a correction with an
old business date, a rebuild — each must find the rate the business date had. So the engine keeps
every rate it has read in Redis (``{fx}:rates``, a hash ``CURRENCY:RATE_DATE`` → JPY per unit, one
hash-tagged key: one slot of a Redis Cluster), and

* at start, loads that history, then reads the topic from the beginning to its end (rates
  published while no worker ran);
* writes every new or changed rate to Redis *before* it enters the table, so no decision ever
  uses a rate a restart could forget (if Redis is down the records are read again later);
* publishes each rate to the member-state changelog (``f|CURRENCY:RATE_DATE``) so that
  ``harmony rebuild`` restores the history with the members.

A record whose key disagrees with its value (``USD:2026-03-11`` carrying a USD rate of 2026-03-10,
``EUR`` carrying USD) is not used: it goes to ``loyalty.dlq.v1`` with its origin headers and the
error, and the reader moves on. The key only serves compaction — the value is the truth — so the
old key (currency alone) and no key are accepted. Undecodable and unusable records (a rate ≤ 0)
go to the dead-letter topic too. The committed offsets of the reader's group (``<group>.fx-reader``)
say which records were already handled, so a restart does not dead-letter the same record again.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from confluent_kafka import OFFSET_BEGINNING, KafkaError, KafkaException, TopicPartition

from processors.fx import FxTable, rate_problem
from processors.model import FxRate
from streams.engine.batch import BatchResult
from streams.engine.events import DOMAIN_CLASSES
from streams.engine.outputs import OutputBuilder
from streams.kafka.fx_key import fx_key, key_problem
from streams.redis.keys import FX_HISTORY
from streams.runtime.metrics import Metrics

log = logging.getLogger(__name__)
HISTORY_KEY = FX_HISTORY


class FxHistory:
    """The rates the engine has read, in Redis."""

    def __init__(self, redis):
        self.redis = redis

    def load_into(self, table: FxTable) -> int:
        n = 0
        for field_, value in self.redis.hgetall(HISTORY_KEY).items():
            currency, _, day = field_.decode().partition(":")
            try:
                table.add(FxRate(currency, date.fromisoformat(day), Decimal(value.decode())))
                n += 1
            except ValueError as exc:  # written by this code, so it should not happen: say so, go on
                log.error("unusable rate %s=%s in %s: %s", field_, value, HISTORY_KEY, exc)
        return n

    def save(self, rates: list[FxRate]) -> None:
        if rates:
            self.redis.hset(HISTORY_KEY, mapping={fx_key(r.currency, r.rate_date): str(r.jpy_per_unit)
                                                  for r in rates})


@dataclass
class _Read:
    rates: list[FxRate] = field(default_factory=list)  # new or changed, in topic order
    result: BatchResult = field(default_factory=BatchResult)  # dead letters and changelog records
    done: dict[tuple[str, int], int] = field(default_factory=dict)  # next offset per partition


class FxReader:
    def __init__(self, topic: str, codec, table: FxTable, history: FxHistory, out: OutputBuilder,
                 metrics: Metrics, changelog: bool = True):
        self.topic, self.codec, self.table, self.history = topic, codec, table, history
        self.out, self.metrics, self.changelog = out, metrics, changelog
        self.handled: dict[int, int] = {}  # partition -> first offset not handled by any run before

    # ------------------------------------------------------------------ start
    def start(self, consumer, publish: Callable[[BatchResult], None], timeout: float = 30.0) -> None:
        """Load the history from Redis, then read the whole topic (to the end of each partition)."""
        loaded = self.history.load_into(self.table)
        md = consumer.list_topics(self.topic, timeout=10)
        parts = sorted(md.topics[self.topic].partitions) if self.topic in md.topics else []
        committed = _committed(consumer, [TopicPartition(self.topic, p) for p in parts]) if parts else []
        self.handled = {tp.partition: max(tp.offset, 0) for tp in committed}
        consumer.assign([TopicPartition(self.topic, p, OFFSET_BEGINNING) for p in parts])
        buffered: dict[int, list] = {p: [] for p in parts}
        pending = set(parts)
        deadline = time.monotonic() + timeout
        while pending and time.monotonic() < deadline:
            for m in consumer.consume(1000, timeout=0.2):
                if m.error():
                    if m.error().code() == KafkaError._PARTITION_EOF:
                        pending.discard(m.partition())
                        if m.offset() < self.handled.get(m.partition(), 0):  # a recreated topic
                            self.handled[m.partition()] = 0
                    continue
                buffered[m.partition()].append(m)
        self._apply([m for p in parts for m in buffered[p]], consumer, publish)
        log.info("FX rates: %d from Redis, %d in the table now (%s)", loaded, len(self.table),
                 ", ".join(self.table.currencies()) or "none")

    # ------------------------------------------------------------------ running
    def poll(self, consumer, publish: Callable[[BatchResult], None]) -> set[str]:
        """Read what arrived; the currencies whose rates changed (their held inputs may move)."""
        msgs = [m for m in consumer.consume(500, timeout=0) if not m.error()]
        return self._apply(msgs, consumer, publish) if msgs else set()

    def _apply(self, msgs: list, consumer, publish: Callable[[BatchResult], None]) -> set[str]:
        """Rates durable in Redis first (the table never holds a rate a restart could forget), then
        into the table; dead letters and changelog records delivered; then the offsets committed.
        If anything fails, the records are read again (the consumer goes back to them)."""
        try:
            read = self._read(msgs)
            self.history.save(read.rates)
            changed = set()
            for r in read.rates:
                if self.table.add(r):
                    changed.add(r.currency)
            if read.result.records:
                publish(read.result)
        except Exception:
            first: dict[int, int] = {}
            for m in msgs:
                first.setdefault(m.partition(), m.offset())
            for p, off in first.items():
                consumer.seek(TopicPartition(self.topic, p, off))
            raise
        for (_, p), nxt in read.done.items():
            self.handled[p] = max(self.handled.get(p, 0), nxt)
        if read.done:  # handled: no dead letter twice; and `harmony wait` reads this group's lag
            consumer.commit(offsets=[TopicPartition(t, p, o) for (t, p), o in read.done.items()],
                            asynchronous=True)
        return changed

    def _read(self, msgs: list) -> _Read:
        read = _Read()
        pending: dict[tuple[str, date], FxRate] = {}
        for m in msgs:
            read.done[(m.topic(), m.partition())] = m.offset() + 1
            if m.value() is None:
                continue  # a tombstone lets compaction drop a key; the history keeps the rate
            error, rate = self._decode(m)
            if error is not None:
                self.metrics.inc("harmony_dead_letters_total", topic=m.topic())
                if m.offset() >= self.handled.get(m.partition(), 0):  # not dead-lettered by an earlier run
                    log.warning("FX record %s[%d]@%d to the dead-letter topic: %s", m.topic(), m.partition(),
                                m.offset(), error)
                    read.result.records.append(self.out.dead_letter(m.topic(), m.partition(), m.offset(),
                                                                    m.key(), m.value(), error))
                continue
            assert rate is not None, "_decode returns an error or a rate"
            self.metrics.inc("harmony_events_in_total", topic=m.topic())
            day = (rate.currency, rate.rate_date)
            known = pending.get(day) or self.table.lookup_exact(rate.currency, rate.rate_date)
            if known is not None and known.jpy_per_unit == rate.jpy_per_unit:
                continue
            pending[day] = rate
            read.rates.append(rate)
            if self.changelog:
                key = fx_key(rate.currency, rate.rate_date)
                read.result.records.append(self.out.state("f|" + key, str(rate.jpy_per_unit).encode()))
        return read

    def _decode(self, m) -> tuple[str | None, FxRate | None]:
        try:
            name, rate = self.codec.decode_domain(m.value(), DOMAIN_CLASSES)
        except Exception as exc:  # noqa: BLE001 - any undecodable record is a dead letter
            return f"{type(exc).__name__}: {exc}", None
        if name != "FxRate":
            return f"InvalidEvent: {m.topic()} carries FxRate records, got {name}", None
        problem = rate_problem(rate) or key_problem(m.key(), rate)
        if problem:
            return (problem if problem.startswith("KeyMismatch") else f"InvalidRate: {problem}"), None
        return None, rate


# the group coordinator may still be loading right after a broker (re)start (Apache Kafka answers
# NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS for a few seconds; Tansu never does)
_COORDINATOR_NOT_READY = (KafkaError.NOT_COORDINATOR, KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
                          KafkaError.COORDINATOR_NOT_AVAILABLE)


def _committed(consumer, parts: list[TopicPartition], timeout: float = 30.0) -> list[TopicPartition]:
    """The group's committed offsets, waiting while the coordinator is not ready (up to ``timeout``)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return consumer.committed(parts, timeout=10)
        except KafkaException as exc:
            err = exc.args[0] if exc.args else None
            code = err.code() if isinstance(err, KafkaError) else None
            if code not in _COORDINATOR_NOT_READY or time.monotonic() > deadline:
                raise
            log.info("FX reader: group coordinator not ready (%s); retrying", err)
            time.sleep(0.5)
