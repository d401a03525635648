"""The topics of interfaces.md as data, with an optional name prefix: names, roles, keys and the
configs they are created with (by streams/kafka/admin.py). No Kafka client here."""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal

__all__ = ["TopicSpec", "TOPICS", "Topics"]

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

