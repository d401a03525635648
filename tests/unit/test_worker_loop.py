"""The worker loop without Kafka or Redis: a fake consumer, a list-backed output sink, positions in
memory (streams/runtime/checkpoint.py ``MemoryPositions``) and a stand-in engine that answers each
message with one output record and the next offset of its partition.

What is guarded here is the loop's own order and bookkeeping (streams/runtime/worker.py), the things
a crash or a rebalance depends on: a partition starts where the position store says; a batch's
outputs are delivered before its positions are stored, and those are stored before Kafka's commit;
a failure anywhere seeks back to the batch so it is applied again; a revoke forgets the partitions
and the cached members; a position store that lost writes rewinds the partition.
"""
from __future__ import annotations

import threading
from pathlib import Path

import pytest
from confluent_kafka import OFFSET_BEGINNING, TopicPartition

from processors.fx import FxTable
from schemas.codec import Codec
from streams.engine.batch import BatchResult, Message
from streams.engine.outputs import OutRecord
from streams.kafka.topics import Topics
from streams.redis.member_cache import MemberCache
from streams.runtime.checkpoint import Checkpoint, MemoryPositions
from streams.runtime.config_file import ConfigFile
from streams.runtime.job_runner import JobRunner
from streams.runtime.metrics import Metrics
from streams.runtime.parts import Parts
from streams.runtime.settings import Settings
from streams.runtime.worker import Worker

T = "in.postings"
U = "in.bills"


class Log(list):
    """What happened, in order: ("publish", n records), ("store", positions), ("commit", offsets), ..."""

    def kinds(self) -> list[str]:
        return [e[0] for e in self]


class Positions(MemoryPositions):
    def __init__(self, log: Log, positions=None, fail: BaseException | None = None):
        super().__init__(positions)
        self.log, self.fail = log, fail

    def advance(self, positions) -> None:
        if self.fail is not None:
            raise self.fail
        self.log.append(("store", dict(positions)))
        super().advance(positions)


class Sink:
    def __init__(self, log: Log, fail: BaseException | None = None):
        self.log, self.fail = log, fail
        self.published: list[tuple[str, bytes | None, bytes | None]] = []

    def __call__(self, result: BatchResult) -> None:
        if self.fail is not None:
            raise self.fail
        self.log.append(("publish", len(result.records)))
        self.published += [(r.topic, r.key, r.value) for r in result.records]

    def close(self) -> None:
        self.log.append(("close",))


class Engine:
    """Stands in for streams.engine.batch.Engine: one record per message, positions as the engine sets them."""

    changelog = False

    def __init__(self, log: Log):
        self.log = log

    def process(self, batch: list[Message]) -> BatchResult:
        self.log.append(("apply", [(m.topic, m.partition, m.offset) for m in batch]))
        result = BatchResult()
        for m in batch:
            result.positions[(m.topic, m.partition)] = m.offset + 1
            result.records.append(OutRecord("out", m.key, m.value))
        return result

    def clean_released(self, result: BatchResult) -> None:
        self.log.append(("clean_released",))

    def release_fx(self, currencies) -> BatchResult:
        return BatchResult()

    def release_unknown(self) -> BatchResult:
        return BatchResult()

    def release_markers(self) -> BatchResult:
        return BatchResult()


class Store:
    def __init__(self):
        self.cache = MemberCache(10)
        self.cache.put("M1", {"v": "1"})  # a member snapshot kept between batches


class Consumer:
    def __init__(self, log: Log, batches: list[list[Message]] | None = None):
        self.log = log
        self.batches = list(batches or [])
        self.assigned: list[tuple[str, int, int]] = []
        self.seeks: list[tuple[str, int, int]] = []
        self.callbacks: dict = {}

    def assign(self, partitions) -> None:
        self.assigned = [(tp.topic, tp.partition, tp.offset) for tp in partitions]
        self.log.append(("assign", self.assigned))

    def unassign(self) -> None:
        self.assigned = []
        self.log.append(("unassign",))

    def commit(self, *, offsets, asynchronous: bool) -> None:
        self.log.append(("commit", {(tp.topic, tp.partition): tp.offset for tp in offsets}))

    def seek(self, tp) -> None:
        self.seeks.append((tp.topic, tp.partition, tp.offset))

    # what run() uses besides
    def subscribe(self, topics, on_assign, on_revoke) -> None:
        self.callbacks = {"assign": on_assign, "revoke": on_revoke}
        on_assign(self, [TopicPartition(T, 0), TopicPartition(U, 0)])

    def consume(self, n: int, timeout: float):
        return [KafkaMessage(m) for m in self.batches.pop(0)] if self.batches else []

    def get_watermark_offsets(self, tp, cached: bool):
        return 0, 0

    def position(self, tps):
        return tps

    def close(self) -> None:
        self.log.append(("consumer closed",))


class KafkaMessage:
    def __init__(self, m: Message):
        self.m = m

    def topic(self):
        return self.m.topic

    def partition(self):
        return self.m.partition

    def offset(self):
        return self.m.offset

    def key(self):
        return self.m.key

    def value(self):
        return self.m.value

    def headers(self):
        return None

    def error(self):
        return None

    def timestamp(self):
        return 0, 0


class FxReader:
    def start(self, consumer, publish) -> None:
        pass

    def poll(self, consumer, publish) -> set[str]:
        return set()


def msgs(topic: str, partition: int, first: int, n: int) -> list[Message]:
    return [Message(topic, partition, o, b"M1", f"{topic}:{o}".encode()) for o in range(first, first + n)]


def make_worker(log: Log, positions: MemoryPositions, sink: Sink, consumer: Consumer | None = None) -> Worker:
    settings = Settings(bootstrap="127.0.0.1:9", redis_url="redis://127.0.0.1:9/0", topics=Topics(), group="g")
    parts = Parts(settings, Metrics(), Codec(), FxTable(), ConfigFile(Path(settings.config_path)), None,
                  Store(), Engine(log))  # type: ignore[arg-type]  # stand-ins for the store and the engine
    worker = Worker(parts, Checkpoint(positions), FxReader(),  # type: ignore[arg-type]  # a stand-in reader
                    JobRunner(parts.engine, None, lambda: sink), lambda: sink,
                    lambda group, **conf: consumer or Consumer(log))
    worker.retry_pause = 0.0
    return worker


@pytest.fixture
def log() -> Log:
    return Log()


def assigned(worker: Worker, consumer: Consumer, *partitions: tuple[str, int]) -> None:
    worker._on_assign(consumer, [TopicPartition(t, p) for t, p in partitions])


def test_a_partition_starts_where_the_position_store_says_and_the_known_positions_are_committed(log):
    """Invariant: the start offset is the stored position (the beginning when none is stored, even
    if Kafka has a commit: the store is the source of truth); stored positions are committed."""
    positions = Positions(log, {(T, 0): 5})
    consumer = Consumer(log)
    worker = make_worker(log, positions, Sink(log), consumer)
    assigned(worker, consumer, (T, 0), (T, 1))
    assert consumer.assigned == [(T, 0, 5), (T, 1, OFFSET_BEGINNING)]
    assert log[-1] == ("commit", {(T, 0): 5})
    assert worker.checkpoint.written == {(T, 0): 5, (T, 1): None}


def test_outputs_are_delivered_before_positions_are_stored_and_committed(log):
    """Invariant: publish -> store positions -> commit, in that order, for every batch."""
    positions = Positions(log)
    consumer = Consumer(log)
    sink = Sink(log)
    worker = make_worker(log, positions, sink, consumer)
    assigned(worker, consumer, (T, 0), (U, 0))
    log.clear()
    worker._apply(msgs(T, 0, 0, 3) + msgs(U, 0, 7, 2), consumer, sink)
    assert log.kinds() == ["apply", "publish", "clean_released", "store", "commit"]
    assert log[3] == ("store", {(T, 0): 3, (U, 0): 9})
    assert log[4] == ("commit", {(T, 0): 3, (U, 0): 9})
    assert positions.positions == {(T, 0): 3, (U, 0): 9}
    assert worker.last_error is None


@pytest.mark.parametrize("where", ["publish", "store"])
def test_a_failed_batch_is_not_checkpointed_and_is_read_again(log, where):
    """Invariant: if delivery or the position write fails, nothing is committed, the consumer seeks
    back to the batch's first offsets and the cached members are forgotten."""
    boom = RuntimeError("down")
    positions = Positions(log, fail=boom if where == "store" else None)
    consumer = Consumer(log)
    sink = Sink(log, fail=boom if where == "publish" else None)
    worker = make_worker(log, positions, sink, consumer)
    assigned(worker, consumer, (T, 0), (U, 0))
    log.clear()
    worker._apply(msgs(T, 0, 4, 3) + msgs(U, 0, 2, 1), consumer, sink)
    assert "commit" not in log.kinds() and "store" not in log.kinds()
    assert sorted(consumer.seeks) == sorted([(T, 0, 4), (U, 0, 2)])
    assert positions.positions == {}
    assert worker.last_error == "RuntimeError: down"
    assert len(worker.parts.store.cache) == 0


class Crash(BaseException):
    """The process dies here (not an Exception: nothing in the loop catches it)."""


def test_a_crash_between_publish_and_commit_replays_the_batch_with_the_same_outputs(log):
    """Invariant: the outputs of a batch whose positions were not stored are published again by the
    next owner of the partition, which starts at the batch's first offset (at least once, same records)."""
    positions = Positions(log, {(T, 0): 10}, fail=Crash())
    consumer = Consumer(log)
    sink = Sink(log)
    first = make_worker(log, positions, sink, consumer)
    assigned(first, consumer, (T, 0))
    batch = msgs(T, 0, 10, 4)
    with pytest.raises(Crash):
        first._apply(batch, consumer, sink)
    assert sink.published and positions.positions == {(T, 0): 10}
    delivered_before = list(sink.published)

    positions.fail = None  # a new process
    consumer2 = Consumer(log)
    second = make_worker(log, positions, sink, consumer2)
    assigned(second, consumer2, (T, 0))
    assert consumer2.assigned == [(T, 0, 10)]  # the batch is read again
    second._apply(batch, consumer2, sink)
    assert sink.published == delivered_before * 2
    assert positions.positions == {(T, 0): 14}


def test_revoke_forgets_partitions_positions_and_members(log):
    """Invariant: after a revoke the worker holds nothing of the partitions it lost: no positions to
    compare (no rewind of another worker's partition), no commit for them, no cached member."""
    positions = Positions(log)
    consumer = Consumer(log)
    sink = Sink(log)
    worker = make_worker(log, positions, sink, consumer)
    assigned(worker, consumer, (T, 0))
    worker._apply(msgs(T, 0, 0, 2), consumer, sink)
    assert len(worker.parts.store.cache) == 1
    worker._on_revoke(consumer, [TopicPartition(T, 0)])
    assert log[-1] == ("unassign",)
    assert worker.checkpoint.assigned == set() and worker.checkpoint.written == {}
    assert len(worker.parts.store.cache) == 0
    positions.lose((T, 0), None)  # the new owner's business now
    assert worker.checkpoint.lost() == {}
    log.clear()
    worker._advance(BatchResult(positions={(T, 0): 5}), consumer)  # a late result: stored, not committed
    assert log.kinds() == ["store"]


@pytest.mark.parametrize("back_to", [4, None])
def test_positions_lost_by_the_store_rewind_the_partition_and_drop_the_batch(log, back_to):
    """Invariant: when the store holds an older position than this worker wrote (Redis lost
    acknowledged writes), the batch is not applied; that partition is rewound to what the store holds
    (the beginning when nothing), the batch's other partitions are sought back to their first offsets."""
    positions = Positions(log)
    consumer = Consumer(log)
    sink = Sink(log)
    worker = make_worker(log, positions, sink, consumer)
    assigned(worker, consumer, (T, 0), (U, 0))
    worker._apply(msgs(T, 0, 0, 10) + msgs(U, 0, 0, 3), consumer, sink)
    positions.lose((T, 0), back_to)
    log.clear()
    worker._apply(msgs(T, 0, 10, 2) + msgs(U, 0, 3, 2), consumer, sink)
    assert "apply" not in log.kinds() and "publish" not in log.kinds()
    rewound = back_to if back_to is not None else OFFSET_BEGINNING
    assert sorted(consumer.seeks) == sorted([(T, 0, rewound), (U, 0, 3)])
    assert worker.checkpoint.written[(T, 0)] == back_to
    assert worker.checkpoint.lost() == {}  # rewound once, not again


def test_the_run_loop_assigns_applies_publishes_checkpoints_and_closes_its_clients(log):
    """The loop as run() drives it: subscribe (assignment from the store), consume a batch, apply,
    publish, store, commit; ready while consuming; every client closed when stopped."""
    positions = Positions(log, {(T, 0): 3})
    stop = threading.Event()
    consumer = Consumer(log, [msgs(T, 0, 3, 2)])
    sink = Sink(log)
    worker = make_worker(log, positions, sink, consumer)
    original = consumer.consume

    def consume(n, timeout):
        if not consumer.batches:
            assert worker.ready.is_set()
            stop.set()
        return original(n, timeout)
    consumer.consume = consume
    worker.run(stop)
    kinds = [k for k, *rest in log if not (k == "publish" and rest == [0])]  # the sweeps publish nothing here
    assert kinds.index("assign") < kinds.index("apply") < kinds.index("publish") < kinds.index("store") \
        < kinds.index("commit", kinds.index("store"))
    assert positions.positions[(T, 0)] == 5
    assert kinds[-3:] == ["close", "consumer closed", "consumer closed"]
    assert not worker.ready.is_set()
