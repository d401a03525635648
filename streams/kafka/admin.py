"""Creating the topics of streams/kafka/topics.py on a broker (admin client), and waiting until
metadata shows them.

Tansu notes (see /work/shared/notes/tansu.md): CreateTopics, TOPIC_ALREADY_EXISTS and a topic's
`cleanup.policy` (DescribeConfigs) behave as on Kafka; there is no replication (use 1), and no
raised size limit is needed for our records (they are a few hundred bytes).
"""
from __future__ import annotations

import logging
import time

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import NewTopic

from streams.kafka.clients import make_admin
from streams.kafka.topics import Topics

log = logging.getLogger(__name__)

__all__ = ["create_topics", "default_partitions", "default_replication"]


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
