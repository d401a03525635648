"""Shared fixtures: one Tansu broker and one redis-server per test session (unless
KAFKA_BOOTSTRAP_SERVERS / REDIS_URL point at existing ones), unique names per test.

`--redis=cluster` (or HARMONY_TEST_REDIS=cluster) runs the tests against a 3-master Redis Cluster
(streams.devstack.RedisCluster) instead: `redis_url` is then a cluster node's URL (the engine detects
the cluster from it) and `redis_clean` a cluster client, flushed on every node."""
from __future__ import annotations

import os
import uuid

import pytest


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory):
    """bootstrap.servers of the session broker (Tansu, memory storage)."""
    configured = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if configured:
        yield configured
        return
    from streams.devstack import TansuBroker
    with TansuBroker(workdir=tmp_path_factory.mktemp("tansu")) as broker:
        yield broker.bootstrap


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    """A redis-server for the session (appendonly yes, appendfsync everysec)."""
    from streams.devstack import RedisServer
    with RedisServer(workdir=tmp_path_factory.mktemp("redis"), appendonly=True,
                     appendfsync="everysec") as server:
        yield server


def pytest_addoption(parser):
    parser.addoption("--redis", choices=("single", "cluster"), default=None,
                     help="Redis for the tests: one redis-server (default) or a 3-master Redis Cluster "
                          "(also: HARMONY_TEST_REDIS=cluster)")


def redis_mode(config) -> str:
    return config.getoption("--redis") or os.environ.get("HARMONY_TEST_REDIS") or "single"


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory):
    """Three cluster-enabled redis-server masters for the session (AOF everysec)."""
    from streams.devstack import RedisCluster
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
    cluster client when `redis_url` is a cluster node (streams.redis_client.connect)."""
    from streams.redis_client import connect
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
    from streams.topics import Topics, create_topics
    t = Topics(prefix=f"{unique}.")
    create_topics(kafka_bootstrap, t)
    return t
