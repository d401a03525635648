"""Broker failover on a 3-node Apache Kafka cluster (replication factor 3, min.insync.replicas 2).

Invariant: while a seeded stream flows through two workers, (1) kill -9 of the broker that leads
input and output partitions, restarted later, and (2) a rolling restart of all three brokers, lose
and double nothing: every member's balance, lots and qualifying counters equal the independent
recomputation (tests/reliability/model.py), every entry_id of points.ledger.v1 has one content and
Σ distinct entries = balance, every charge has one final decision, and the Redis positions reach the
end of every input partition.

What carries it: the producers' acks=all + idempotence (an acknowledged record is on two replicas, a
retried one is not written twice), the engine's idempotent apply, and its rule that a batch counts
only once its outputs are delivered (the workers run with a 5 s message timeout, shorter than a
leader election after a kill -9 (~9 s broker session): deliveries do fail during the failover, and the
batches are replayed).

The cluster is the test module's own (three JVMs): it runs in the Apache Kafka pass (--broker=kafka or
kafka3), not against Tansu.
"""
from __future__ import annotations

import time

import pytest

from streams.kafka.admin import create_topics
from streams.kafka.topics import Topics

from . import model, support

pytestmark = pytest.mark.slow

WORKER_ENV = {"HARMONY_SESSION_TIMEOUT_MS": 6000, "KAFKA_CONFIG_MESSAGE_TIMEOUT_MS": 5000}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, broker_kind):
    if broker_kind == "tansu":
        pytest.skip("broker failover needs Apache Kafka: runs in the --broker=kafka pass")
    from streams.devstack.kafka import KafkaCluster
    with KafkaCluster(nodes=3, workdir=tmp_path_factory.mktemp("kafka3")) as c:
        yield c


@pytest.fixture
def setup(cluster, clean_redis_url, unique, tmp_path):
    topics = Topics(prefix=f"{unique}.")
    create_topics(cluster.bootstrap, topics)
    ws = support.Workers(cluster.bootstrap, clean_redis_url, topics, unique, tmp_path, **WORKER_ENV)
    try:
        yield topics, ws
    finally:
        ws.close()


def leaders(bootstrap: str, topic_names) -> dict[tuple[str, int], int]:
    from streams.kafka.clients import make_admin
    md = make_admin(bootstrap).list_topics(timeout=10)
    return {(t, p): pm.leader for t in topic_names for p, pm in md.topics[t].partitions.items()}


def fully_replicated(bootstrap: str, topic_names, timeout: float = 120.0) -> None:
    """Until every partition of `topic_names` has its 3 replicas in sync (what an operator waits for
    between two restarts of a rolling restart)."""
    from streams.kafka.clients import make_admin
    admin = make_admin(bootstrap)
    deadline = time.monotonic() + timeout
    while True:
        md = admin.list_topics(timeout=10)
        short = [(t, p) for t in topic_names for p, pm in md.topics[t].partitions.items() if len(pm.isrs) < 3]
        if not short:
            return
        assert time.monotonic() < deadline, f"under-replicated after {timeout:.0f}s: {short[:10]}"
        time.sleep(0.5)


def finish_and_check(cluster, redis_url, topics, group, ws, pub, stream) -> None:
    pub.finish(timeout=300)
    support.wait_caught_up(cluster.bootstrap, group, topics, 180, ws)
    support.wait_positions_at_end(cluster.bootstrap, redis_url, group, topics, 60, ws)
    replayed = sum(w.log_text().count("batch failed; it will be replayed") for w in ws.started)
    print(f"{len(stream.charges)} charges; batches replayed after a failed delivery: {replayed}")
    problems = support.all_problems(cluster.bootstrap, topics, redis_url, stream)
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems[:25]) + f"\n{ws.logs()}"


@pytest.mark.timeout(600)
def test_kill_9_of_the_leader_while_events_flow(cluster, setup, clean_redis_url, unique):
    topics, ws = setup
    stream = model.generate(4242, charges=1200, members=40, prefix="FO")
    support.publish(cluster.bootstrap, topics, stream.enrollments)
    ws.start(), ws.start()
    inputs, outputs = support.input_topics(topics), [topics.ledger, topics.decisions, topics.balances]
    lead = leaders(cluster.bootstrap, inputs + outputs)
    # the broker leading the most partitions, among those that lead both input and output partitions
    both = {n for (t, _), n in lead.items() if t in inputs} & {n for (t, _), n in lead.items() if t in outputs}
    victim = max(both, key=lambda n: sum(1 for v in lead.values() if v == n))
    led = sorted(f"{t.removeprefix(topics.prefix)}[{p}]" for (t, p), n in lead.items() if n == victim)

    pub = support.BackgroundPublisher(cluster.bootstrap, topics, stream.charges, pace=0.3, chunk=20)
    pub.start()
    time.sleep(4)  # events flowing through the workers
    cluster.node(victim).kill()
    killed_at = time.monotonic()
    time.sleep(15)  # new leaders elected (~9 s), producers and consumers moved over, events still flowing
    moved = leaders(cluster.bootstrap, inputs + outputs)
    assert victim not in moved.values(), f"broker {victim} still leads partitions 15 s after kill -9: {moved}"
    cluster.node(victim).start()
    print(f"killed broker {victim} (leader of {len(led)} partitions: {', '.join(led)}); "
          f"restarted after {time.monotonic() - killed_at:.0f} s")
    finish_and_check(cluster, clean_redis_url, topics, unique, ws, pub, stream)
    fully_replicated(cluster.bootstrap, inputs + outputs)


@pytest.mark.timeout(600)
def test_rolling_restart_of_all_three_brokers(cluster, setup, clean_redis_url, unique):
    topics, ws = setup
    stream = model.generate(5151, charges=1200, members=40, prefix="RR")
    support.publish(cluster.bootstrap, topics, stream.enrollments)
    ws.start(), ws.start()
    names = topics.all()
    fully_replicated(cluster.bootstrap, names)
    pub = support.BackgroundPublisher(cluster.bootstrap, topics, stream.charges, pace=0.3, chunk=10)
    pub.start()
    time.sleep(3)
    for node in cluster.nodes:
        node.stop(timeout=60)  # SIGTERM: controlled shutdown moves its leaderships first
        node.start()
        fully_replicated(cluster.bootstrap, names)
    finish_and_check(cluster, clean_redis_url, topics, unique, ws, pub, stream)
