"""Shared fixtures: one Tansu broker and one redis-server per test session (unless
KAFKA_BOOTSTRAP_SERVERS / REDIS_URL point at existing ones), unique names per test."""
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


@pytest.fixture(scope="session")
def redis_url(request) -> str:
    return os.environ.get("REDIS_URL") or request.getfixturevalue("redis_server").url


@pytest.fixture
def redis_clean(redis_url):
    """A client on an empty database (FLUSHALL before the test)."""
    import redis
    client = redis.Redis.from_url(redis_url)
    client.flushall()
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
