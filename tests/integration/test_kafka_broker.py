"""The Apache Kafka launcher (streams/devstack/kafka.py): a node that cannot start says why (its log
tail) within its timeout, never hangs; missing jars name the command that fetches them. Runs in the
Apache Kafka pass (it needs Java and the jars of `make kafka`)."""
from __future__ import annotations

import time

import pytest

from streams.devstack.process import DevStackError


@pytest.fixture(autouse=True)
def _kafka_pass(broker_kind):
    if broker_kind == "tansu":
        pytest.skip("the Apache Kafka launcher is tested in the --broker=kafka pass")


def test_bad_config_fails_with_the_log_tail(tmp_path):
    from streams.devstack.kafka import KafkaCluster
    cluster = KafkaCluster(nodes=1, workdir=tmp_path, config={"num.network.threads": "many"})
    started = time.monotonic()
    with pytest.raises(DevStackError) as err:
        cluster.start(timeout=120)
    assert time.monotonic() - started < 120
    msg = str(err.value)
    assert "kafka1" in msg and "exited with code" in msg, msg
    assert "num.network.threads" in msg, msg  # the broker's own reason, from its log
    assert not cluster.nodes[0].running


def test_not_ready_in_time_is_an_error_not_a_hang(tmp_path):
    from streams.devstack.kafka import KafkaCluster
    cluster = KafkaCluster(nodes=1, workdir=tmp_path)
    node = cluster.nodes[0]
    node.wait_formatted(node.format_storage(), 120)  # formatted first: the 1 s below is the node's start alone
    started = time.monotonic()
    with pytest.raises(DevStackError, match="not ready after"):
        cluster.start(timeout=1)
    assert time.monotonic() - started < 30
    assert not cluster.nodes[0].running


def test_missing_jars_say_how_to_fetch_them(tmp_path, monkeypatch):
    from streams.devstack.kafka import KafkaCluster
    monkeypatch.setenv("HARMONY_KAFKA_LIB", str(tmp_path / "empty"))
    with pytest.raises(DevStackError, match="make kafka"):
        KafkaCluster(nodes=1, workdir=tmp_path)


def test_restart_keeps_ports_and_data(tmp_path):
    from streams.devstack.kafka import KafkaCluster
    from streams.kafka.clients import make_admin
    with KafkaCluster(nodes=1, workdir=tmp_path) as cluster:
        from confluent_kafka.admin import NewTopic
        admin = make_admin(cluster.bootstrap)  # keep a reference: its futures fail once it is destroyed
        admin.create_topics([NewTopic("kept", 2, 1)])["kept"].result(30)
        before = cluster.bootstrap
        cluster.nodes[0].kill()
        cluster.nodes[0].start()
        assert cluster.bootstrap == before
        assert "kept" in make_admin(cluster.bootstrap).list_topics(timeout=30).topics
