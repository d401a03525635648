"""Shared plumbing of the lifecycle integration tests: one worker per test module.

``LifecycleEnv`` gives a module its own topic prefix, consumer group and Redis database (FLUSHDB at
start, so the jobs' global indexes only hold this module's members), runs the batch loop
(``tests.harness.RunningWorker``) and runs the jobs the way `harmony close-year` / `harmony expire`
do (``streams.runtime.app.run_job`` on a JobRunner from ``streams.runtime.bootstrap.build_jobs``).
"""
from __future__ import annotations

import time
import uuid
from collections import defaultdict
from datetime import UTC, date, datetime
from urllib.parse import urlsplit, urlunsplit

from confluent_kafka import OFFSET_BEGINNING, KafkaError, TopicPartition

from schemas.codec import Codec
from streams.kafka.admin import create_topics
from streams.kafka.clients import make_consumer
from streams.kafka.topics import Topics
from streams.runtime.app import run_job
from streams.runtime.bootstrap import build_jobs
from streams.web.member_view import member_json
from tests.harness import Publisher, RunningWorker, settings_for, wait_processed


def redis_db_url(url: str, db: int) -> str:
    """``url`` on database ``db``; a Redis Cluster has database 0 only, so its URL is kept as is."""
    from redis.cluster import RedisCluster

    from streams.redis.client import connect
    probe = connect(url)
    try:
        if isinstance(probe, RedisCluster):
            return url
    finally:
        probe.close()
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{db}"))


def connect_flushed(url: str):
    """A client for ``url`` (a cluster client for a cluster node) on an emptied database (every node)."""
    from streams.redis.client import connect
    from tests.conftest import flush_every_node
    client = connect(url)
    if client.__class__.__name__ == "RedisCluster":
        flush_every_node(client)
    else:
        client.flushdb()
    return client


def read_new(bootstrap: str, topic: str, starts: dict[int, int] | None = None, timeout: float = 20.0) -> list:
    """Messages of ``topic`` from ``starts[partition]`` (default: the beginning) to the end of
    every partition (fetch.wait.max.ms 10: an empty partition reports its end at once)."""
    c = make_consumer(f"lc-reader-{uuid.uuid4().hex[:8]}", bootstrap,
                      **{"enable.partition.eof": True, "fetch.wait.max.ms": 10})
    try:
        parts = list(c.list_topics(topic, timeout=10).topics[topic].partitions)
        c.assign([TopicPartition(topic, p, (starts or {}).get(p, OFFSET_BEGINNING)) for p in parts])
        pending, out = set(parts), []
        deadline = time.monotonic() + timeout
        while pending:
            assert time.monotonic() < deadline, f"could not read {topic} to its end"
            for m in c.consume(10_000, timeout=0.05):
                if err := m.error():
                    if err.code() == KafkaError._PARTITION_EOF:
                        pending.discard(m.partition())
                    continue
                out.append(m)
        return out
    finally:
        c.close()


def recreate_topic(bootstrap: str, topic: str, compacted: bool = True) -> None:
    """Delete ``topic`` and create it again, empty (the default partition count)."""
    from confluent_kafka.admin import AdminClient, NewTopic

    from streams.kafka.admin import default_partitions
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.delete_topics([topic])[topic].result()
    config = {"cleanup.policy": "compact"} if compacted else {}
    deadline = time.monotonic() + 20
    while True:
        try:
            admin.create_topics([NewTopic(topic, default_partitions(), 1, config=config)])[topic].result()
            return
        except Exception:  # noqa: BLE001 - the deletion may take a moment
            assert time.monotonic() < deadline, f"could not recreate {topic}"
            time.sleep(0.5)


class LifecycleEnv:
    def __init__(self, bootstrap: str, redis_url: str, db: int, name: str):
        self.bootstrap = bootstrap
        self.redis_url = redis_db_url(redis_url, db)
        self.prefix = f"{name}{uuid.uuid4().hex[:6]}."
        self.topics = Topics(prefix=self.prefix)
        self.settings = settings_for(bootstrap, self.redis_url, self.topics, f"{self.prefix}engine")
        self.codec = Codec()
        self._offsets: dict[str, dict[tuple[int, int], dict]] = defaultdict(dict)
        # the engine's clock for the worker and the jobs: real time unless a scenario sets ``now``
        self.now: datetime | None = None
        self.clock = lambda: self.now or datetime.now(UTC)

    def __enter__(self) -> LifecycleEnv:
        self.redis = connect_flushed(self.redis_url)
        create_topics(self.bootstrap, self.topics)
        self.pub = Publisher(self.bootstrap, self.topics)
        self.running = RunningWorker(self.settings, clock=self.clock).__enter__()
        self.jobs = build_jobs(self.settings, clock=self.clock)  # what the CLI builds for close-year / expire
        return self

    def __exit__(self, *exc) -> None:
        try:
            self.running.stop()
        finally:
            self.jobs.close()
            self.redis.close()
            # let the Kafka clients go before the broker does (the env is not used after close)
            self.jobs = self.pub = self.running = None  # type: ignore[assignment]  # closed: not used again

    def restart_worker(self, meanwhile=None) -> None:
        """Stop the worker, run ``meanwhile()`` (e.g. compact a topic), start a new worker."""
        self.running.stop()
        if meanwhile is not None:
            meanwhile()
        self.running = RunningWorker(self.settings, clock=self.clock).__enter__()

    def recreate_fx_topic(self, rates: list[dict]) -> None:
        """What is left of fx.rates.v1 after compaction by currency (or retention): the topic deleted,
        created again empty, ``rates`` published to it."""
        recreate_topic(self.bootstrap, self.topics.fx)
        for r in rates:
            self.pub.send("fx", r)
        self.pub.flush()

    # ------------------------------------------------------------------ inputs
    def send(self, kind: str, *objs: dict) -> None:
        for o in objs:
            self.pub.send(kind, o)

    def sync(self, timeout: float = 60) -> None:
        """Flush what was published and wait until the worker has applied all of it."""
        self.pub.flush()
        wait_processed(self.settings, timeout)

    # ------------------------------------------------------------------ jobs
    def close_year(self, year: int) -> dict:
        return run_job(self.jobs, {"job": "close-year", "year": year})

    def expire(self, as_of: str) -> dict:
        return run_job(self.jobs, {"job": "expire", "as_of": as_of})

    # ------------------------------------------------------------------ state and outputs
    @property
    def store(self):
        return self.jobs.engine.store

    def view(self, member_id: str, today: str | None = None) -> dict | None:
        return member_json(self.store, member_id, today=date.fromisoformat(today) if today else None)

    def member(self, member_id: str):
        return self.store.load(member_id)

    def out(self, kind: str, member_id: str | None = None) -> list[dict]:
        """Every record of an output topic so far (for one member), in (partition, offset) order.
        Reads incrementally, from where the previous read of the topic ended."""
        topic = getattr(self.topics, kind)
        cache = self._offsets[topic]
        starts: dict[int, int] = {}
        for (p, o) in cache:
            starts[p] = max(starts.get(p, 0), o + 1)
        for m in read_new(self.bootstrap, topic, starts):
            cache[(m.partition(), m.offset())] = self.codec.decode(m.value())[1] if kind != "dlq" else \
                {"key": m.key(), "value": m.value(), "headers": dict(m.headers() or [])}
        records = [cache[k] for k in sorted(cache)]
        if member_id is None:
            return records
        return [r for r in records if r.get("member_id") == member_id or r.get("key") == member_id.encode()]

    def ledger(self, member_id: str) -> dict[str, dict]:
        """The member's ledger entries from points.ledger.v1, deduplicated by entry_id."""
        entries: dict[str, dict] = {}
        for e in self.out("ledger", member_id):
            seen = entries.setdefault(e["entry_id"], e)
            assert (seen["type"], seen["points"]) == (e["type"], e["points"]), f"entry {e['entry_id']} changed"
        return entries

    def check_invariant(self, member_id: str) -> int:
        """program-rules §5 for one member: balance = Σ ledger entries = Σ lots − debt; returns it."""
        m = self.member(member_id)
        total = sum(e["points"] for e in self.ledger(member_id).values())
        lots = sum(m.lots.by_expiry.values())
        assert m.balance == total == lots - m.lots.debt, (member_id, m.balance, total, lots, m.lots.debt)
        return m.balance
