"""The topics of interfaces.md as data, with an optional name prefix, and their creation.

Tansu notes (see /work/shared/notes/tansu.md): CreateTopics, TOPIC_ALREADY_EXISTS and a topic's
`cleanup.policy` (DescribeConfigs) behave as on Kafka; there is no replication (use 1), and no
raised size limit is needed for our records (they are a few hundred bytes).
"""
from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from typing import Literal

log = logging.getLogger(__name__)

__all__ = ["TopicSpec", "TOPICS", "Topics", "create_topics", "default_partitions"]

PartitionsRole = Literal["member", "global", "origin"]
MAX_RECORD_BYTES = 11 * 1024 * 1024  # streams.runtime.worker.MAX_MESSAGE (10 MiB, its fetch limit) + room for headers


@dataclass(frozen=True, slots=True)
class TopicSpec:
    """One binding topic.

    `partitions_role` says what the partitioning means for the engine:
    "member" — keyed by member_id (or a source id when there is none); partition i of every
    "member" topic is owned by the same worker (co-partitioned: equal partition counts + range
    assignor); "global" — a small table every worker reads whole (FX rates);
    "origin" — keeps the original record's key (the DLQ).
    """
    attr: str  # attribute name on `Topics`
    name: str  # binding name, without prefix
    direction: Literal["in", "out"]
    partitions_role: PartitionsRole
    compacted: bool = False
    key: str = "member_id"
    partitions: int | None = None  # None: the engine's partition count

    @property
    def cleanup_policy(self) -> str:
        return "compact" if self.compacted else "delete"

    def config(self) -> dict[str, str]:
        """Topic configs set at creation. Every topic takes records a little larger than the worker's
        fetch limit (10 MiB; Apache Kafka refuses more than ~1 MB by default, Tansu has no limit): an
        input record that large is dead-lettered with its original bytes + origin headers, and a
        rejected one may be echoed in its decision."""
        return {"cleanup.policy": self.cleanup_policy, "max.message.bytes": str(MAX_RECORD_BYTES)}


TOPICS: tuple[TopicSpec, ...] = (
    TopicSpec("postings", "pms.folio-postings.v1", "in", "member", key="member_id or reservation_id"),
    TopicSpec("bills", "pos.bills.v1", "in", "member", key="member_id or bill_id"),
    TopicSpec("fx", "fx.rates.v1", "in", "global", compacted=True, key="CURRENCY:RATE_DATE"),
    TopicSpec("enrollments", "members.enrollments.v1", "in", "member", compacted=True),
    TopicSpec("redemptions", "redemptions.requests.v1", "in", "member"),
    TopicSpec("adjustments", "members.adjustments.v1", "in", "member"),
    TopicSpec("claims", "charges.claims.v1", "in", "member"),
    TopicSpec("ledger", "points.ledger.v1", "out", "member"),
    TopicSpec("decisions", "charges.decisions.v1", "out", "member", key="member_id or source id"),
    TopicSpec("status", "members.status.v1", "out", "member"),
    TopicSpec("results", "redemptions.results.v1", "out", "member"),
    TopicSpec("adjustment_results", "members.adjustments.results.v1", "out", "member"),
    TopicSpec("balances", "members.balances.v1", "out", "member", compacted=True),
    TopicSpec("dlq", "loyalty.dlq.v1", "out", "origin", key="original key"),
    # internal: the changelog of member state in Redis (JSON values), read by `harmony rebuild`
    TopicSpec("state", "harmony.member-state.v1", "out", "member", compacted=True,
              key="m|member, s|member|source id, h|member|source id, p|group|topic|partition, "
                  "f|CURRENCY:RATE_DATE (the FX history)"),
    # internal: job requests (close-year, expire) for the worker's faust agent (JSON values)
    TopicSpec("jobs", "harmony.jobs.v1", "in", "global", key="none", partitions=1),
)


class Topics:
    """Prefixed topic names: `Topics("t1.").postings == "t1.pms.folio-postings.v1"`."""

    postings: str
    bills: str
    fx: str
    enrollments: str
    redemptions: str
    adjustments: str
    claims: str
    adjustment_results: str
    ledger: str
    decisions: str
    status: str
    results: str
    balances: str
    dlq: str
    state: str
    jobs: str

    def __init__(self, prefix: str = ""):
        self.prefix = prefix
        for spec in TOPICS:
            setattr(self, spec.attr, prefix + spec.name)

    @classmethod
    def from_env(cls) -> Topics:
        return cls(os.environ.get("HARMONY_TOPIC_PREFIX", ""))

    @property
    def inputs(self) -> tuple[str, ...]:
        """The input topics (postings, bills, fx, enrollments, redemptions, adjustments, claims)."""
        return tuple(self.prefix + s.name for s in TOPICS if s.direction == "in" and s.attr != "jobs")

    @property
    def outputs(self) -> tuple[str, ...]:
        return tuple(self.prefix + s.name for s in TOPICS if s.direction == "out")

    def all(self) -> list[str]:
        return [self.prefix + s.name for s in TOPICS]

    def specs(self) -> list[tuple[str, TopicSpec]]:
        """(prefixed name, spec) for every topic."""
        return [(self.prefix + s.name, s) for s in TOPICS]

    def spec(self, name: str) -> TopicSpec:
        """The spec of a prefixed name."""
        for full, s in self.specs():
            if full == name:
                return s
        raise KeyError(name)

    def __repr__(self) -> str:
        return f"Topics(prefix={self.prefix!r})"


def default_partitions() -> int:
    """$HARMONY_PARTITIONS, else 6 (checked by streams/runtime/settings.py)."""
    from streams.runtime.settings import Settings
    return Settings().partitions


def default_replication() -> int:
    """$HARMONY_REPLICATION_FACTOR, else -1: the broker's `default.replication.factor` (3 on a
    production cluster, README "Production cluster"; Tansu has no replication and accepts -1)."""
    from streams.runtime.settings import Settings
    return Settings().replication_factor


def create_topics(bootstrap: str, topics: Topics, partitions: int | None = None, replication: int | None = None,
                  timeout: float = 30.0) -> list[str]:
    """Create every topic (compacted ones with cleanup.policy=compact); existing ones are left as
    they are. Returns the names created now; returns after metadata shows all of them."""
    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.admin import NewTopic

    from streams.kafka.clients import make_admin

    partitions = partitions or default_partitions()
    replication = replication or default_replication()
    admin = make_admin(bootstrap)
    new = [NewTopic(name, spec.partitions or partitions, replication, config=spec.config())
           for name, spec in topics.specs()]
    created: list[str] = []
    for name, fut in admin.create_topics(new, operation_timeout=timeout, request_timeout=timeout).items():
        try:
            fut.result()
            created.append(name)
        except KafkaException as e:
            if e.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise
    _wait_for_metadata(admin, [n for n, spec in topics.specs() if not spec.partitions], partitions, timeout)
    _wait_for_metadata(admin, [n for n, spec in topics.specs() if spec.partitions], 1, timeout)
    return created


def _wait_for_metadata(admin, names: list[str], partitions: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        md = admin.list_topics(timeout=max(1.0, deadline - time.monotonic()))
        missing = [n for n in names if n not in md.topics or md.topics[n].error is not None
                   or not md.topics[n].partitions]
        if not missing:
            for n in names:
                if len(md.topics[n].partitions) != partitions:
                    log.warning("topic %s exists with %d partitions, not %d: members of different "
                                "topics may not be co-partitioned", n, len(md.topics[n].partitions), partitions)
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"topics not visible in metadata after {timeout:.0f}s: {missing}")
        time.sleep(0.1)
