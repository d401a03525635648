"""Shared fixtures: one broker and one redis-server per test session (unless
KAFKA_BOOTSTRAP_SERVERS / REDIS_URL point at existing ones), unique names per test.

`--broker=tansu|kafka|kafka3` (or HARMONY_TEST_BROKER) picks the session broker: Tansu (default,
memory storage), Apache Kafka as one KRaft node, or a 3-node Apache Kafka cluster (replication 3,
min.insync.replicas 2), started from the jars of tools/kafka (streams.devstack.kafka; `make kafka`).
`kafka_bootstrap` is its bootstrap string whichever it is; `broker_kind` says which it is.

`--redis=cluster` (or HARMONY_TEST_REDIS=cluster) runs the tests against a 3-master Redis Cluster
(streams.devstack.redis.RedisCluster) instead: `redis_url` is then a cluster node's URL (the engine detects
the cluster from it) and `redis_clean` a cluster client, flushed on every node."""
from __future__ import annotations

import os
import uuid

import pytest

BROKERS = ("tansu", "kafka", "kafka3")


def broker_mode(config) -> str:
    mode = config.getoption("--broker") or os.environ.get("HARMONY_TEST_BROKER") or "tansu"
    if mode not in BROKERS:
        raise pytest.UsageError(f"HARMONY_TEST_BROKER must be one of {', '.join(BROKERS)}, not {mode!r}")
    return mode


@pytest.fixture(scope="session")
def broker_kind(request) -> str:
    """"tansu", "kafka" (one Apache Kafka node) or "kafka3" (three)."""
    return broker_mode(request.config)


@pytest.fixture(scope="session")
def kafka_bootstrap(request, tmp_path_factory, broker_kind):
    """bootstrap.servers of the session broker (--broker; Tansu with memory storage by default)."""
    configured = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if configured:
        yield configured
        return
    if broker_kind == "tansu":
        from streams.devstack.tansu import TansuBroker
        with TansuBroker(workdir=tmp_path_factory.mktemp("tansu")) as broker:
            yield broker.bootstrap
        return
    yield request.getfixturevalue("kafka_cluster").bootstrap


@pytest.fixture(scope="session")
def kafka_cluster(tmp_path_factory, broker_kind):
    """The session's Apache Kafka (streams.devstack.kafka.KafkaCluster): 1 node, or 3 with --broker=kafka3."""
    if broker_kind == "tansu":
        pytest.skip("needs --broker=kafka or kafka3")
    from streams.devstack.kafka import KafkaCluster
    with KafkaCluster(nodes=3 if broker_kind == "kafka3" else 1,
                      workdir=tmp_path_factory.mktemp("kafka")) as cluster:
        yield cluster


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    """A redis-server for the session (appendonly yes, appendfsync everysec)."""
    from streams.devstack.redis import RedisServer
    with RedisServer(workdir=tmp_path_factory.mktemp("redis"), appendonly=True,
                     appendfsync="everysec") as server:
        yield server


def pytest_addoption(parser):
    parser.addoption("--broker", choices=BROKERS, default=None,
                     help="broker for the tests: tansu (default), kafka (one Apache Kafka KRaft node) or kafka3 "
                          "(three nodes, RF 3, min.insync.replicas 2) (also: HARMONY_TEST_BROKER)")
    parser.addoption("--redis", choices=("single", "cluster"), default=None,
                     help="Redis for the tests: one redis-server (default) or a 3-master Redis Cluster "
                          "(also: HARMONY_TEST_REDIS=cluster)")


def pytest_report_header(config):
    return f"broker: {broker_mode(config)}, redis: {redis_mode(config)}"


def redis_mode(config) -> str:
    return config.getoption("--redis") or os.environ.get("HARMONY_TEST_REDIS") or "single"


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory):
    """Three cluster-enabled redis-server masters for the session (AOF everysec)."""
    from streams.devstack.redis import RedisCluster
    with RedisCluster(workdir=tmp_path_factory.mktemp("rcluster"), appendonly=True) as cluster:
        yield cluster


@pytest.fixture(scope="session")
def redis_url(request) -> str:
    if os.environ.get("REDIS_URL"):
        return os.environ["REDIS_URL"]
    if redis_mode(request.config) == "cluster":
        return request.getfixturevalue("redis_cluster").url
    return request.getfixturevalue("redis_server").url


def flush_every_node(client) -> None:
    """FLUSHALL on a single server, or on every node of a cluster."""
    from redis.cluster import RedisCluster
    if isinstance(client, RedisCluster):
        for node in client.get_nodes():
            client.get_redis_connection(node).flushall()
    else:
        client.flushall()


@pytest.fixture
def redis_clean(redis_url):
    """A client on an empty database (FLUSHALL before the test, on every node of a cluster); a
    cluster client when `redis_url` is a cluster node (streams.redis.client.connect)."""
    from streams.redis.client import connect
    client = connect(redis_url)
    flush_every_node(client)
    yield client
    client.close()


@pytest.fixture
def unique() -> str:
    """A short unique name for topic prefixes and group ids, e.g. 't1a2b3c4d'."""
    return f"t{uuid.uuid4().hex[:8]}"


@pytest.fixture
def topics(kafka_bootstrap, unique):
    """All binding topics under the prefix '<unique>.', created on the broker
    ($HARMONY_PARTITIONS partitions, default 6)."""
    from streams.kafka.admin import create_topics
    from streams.kafka.topics import Topics
    t = Topics(prefix=f"{unique}.")
    create_topics(kafka_bootstrap, t)
    return t
