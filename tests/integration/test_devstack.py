"""The dev/test processes (Tansu, redis-server, redis cluster), topic creation and client config."""
from __future__ import annotations

import socket
import time

import pytest
import redis
from confluent_kafka import KafkaError, TopicPartition
from confluent_kafka.admin import ConfigResource

from streams.devstack.process import DevStackError, free_port
from streams.devstack.redis import RedisCluster, RedisServer
from streams.devstack.tansu import TansuBroker
from streams.kafka.admin import create_topics
from streams.kafka.clients import kafka_config, make_admin, make_consumer, make_producer
from streams.kafka.topics import TOPICS, Topics


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


# -- Kafka ----------------------------------------------------------------------------------------

def test_broker_round_trip(kafka_bootstrap, unique):
    topic = f"{unique}.roundtrip"
    admin = make_admin(kafka_bootstrap)  # keep a reference: futures fail once it is destroyed
    admin.create_topics([_new_topic(topic, 2)])[topic].result(10)
    producer = make_producer(kafka_bootstrap)
    sent = [(f"m{i}".encode(), f"v{i}".encode()) for i in range(5)]
    for k, v in sent:
        producer.produce(topic, v, key=k, partition=1, headers=[("origin", b"test")])
    assert producer.flush(10) == 0

    consumer = make_consumer(unique, kafka_bootstrap, **{"enable.partition.eof": True})
    consumer.assign([TopicPartition(topic, 1, 0)])
    got, deadline = [], time.monotonic() + 10
    try:
        while time.monotonic() < deadline:
            m = consumer.poll(0.2)
            if m is None:
                continue
            if m.error():
                if m.error().code() == KafkaError._PARTITION_EOF:
                    break
                raise AssertionError(m.error())
            got.append((m.key(), m.value(), m.headers()))
    finally:
        consumer.close()
    assert [(k, v) for k, v, _ in got] == sent
    assert all(h == [("origin", b"test")] for _, _, h in got)


def _new_topic(name: str, partitions: int):
    from confluent_kafka.admin import NewTopic
    return NewTopic(name, partitions, 1)


def test_tansu_broker_start_stop(tmp_path):
    broker = TansuBroker(workdir=tmp_path)
    with broker:
        assert broker.running and _listening(broker.port)
        md = make_admin(broker.bootstrap).list_topics(timeout=5)
        assert [b.port for b in md.brokers.values()] == [broker.port]  # advertised listener
    assert not broker.running and not _listening(broker.port)
    assert "listening" in (tmp_path / "tansu.log").read_text()


def test_create_topics_idempotent_with_compaction(kafka_bootstrap, unique):
    t = Topics(prefix=f"{unique}.")
    assert sorted(create_topics(kafka_bootstrap, t, partitions=3)) == sorted(t.all())
    assert create_topics(kafka_bootstrap, t, partitions=3) == []

    admin = make_admin(kafka_bootstrap)
    md = admin.list_topics(timeout=5)
    assert {n: len(md.topics[n].partitions) for n in t.all()} == {n: t.spec(n).partitions or 3 for n in t.all()}
    futures = admin.describe_configs([ConfigResource("topic", n) for n in t.all()])
    policy = {res.name: fut.result(10)["cleanup.policy"].value for res, fut in futures.items()}
    assert policy == {n: ("compact" if t.spec(n).compacted else "delete") for n in t.all()}
    assert {n for n in t.all() if policy[n] == "compact"} == {t.fx, t.enrollments, t.balances, t.state}


def test_topics_fixture_creates_prefixed_topics(kafka_bootstrap, topics, unique):
    names = set(make_admin(kafka_bootstrap).list_topics(timeout=5).topics)
    assert set(topics.all()) <= names
    assert all(n.startswith(f"{unique}.") for n in topics.all())


def test_topic_names(monkeypatch):
    t = Topics("p.")
    assert (t.postings, t.bills, t.fx, t.enrollments, t.redemptions, t.adjustments, t.claims) == t.inputs == (
        "p.pms.folio-postings.v1", "p.pos.bills.v1", "p.fx.rates.v1", "p.members.enrollments.v1",
        "p.redemptions.requests.v1", "p.members.adjustments.v1", "p.charges.claims.v1")
    assert (t.ledger, t.decisions, t.status, t.results, t.balances, t.dlq) == (
        "p.points.ledger.v1", "p.charges.decisions.v1", "p.members.status.v1",
        "p.redemptions.results.v1", "p.members.balances.v1", "p.loyalty.dlq.v1")
    assert t.adjustment_results == "p.members.adjustments.results.v1"
    # the 13 binding topics + adjustment results + the member-state changelog + jobs
    assert len(set(t.all())) == len(TOPICS) == 16
    assert Topics().fx == "fx.rates.v1"
    monkeypatch.setenv("HARMONY_TOPIC_PREFIX", "dev.")
    assert Topics.from_env().ledger == "dev.points.ledger.v1"


def test_kafka_config_env_and_overrides(monkeypatch):
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    monkeypatch.setenv("KAFKA_CONFIG_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("KAFKA_CONFIG_LINGER_MS", "50")
    conf = kafka_config(linger_ms=7, error_cb=print)
    assert conf["bootstrap.servers"] == "127.0.0.1:9092"
    assert conf["security.protocol"] == "SASL_SSL"
    assert conf["linger.ms"] == 7 and conf["error_cb"] is print
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "k1:9092,k2:9092")
    assert kafka_config()["bootstrap.servers"] == "k1:9092,k2:9092"
    assert kafka_config("x:1")["bootstrap.servers"] == "x:1"


# -- Redis ----------------------------------------------------------------------------------------

def test_redis_restart_keeps_aof_data(tmp_path):
    with RedisServer(workdir=tmp_path, appendonly=True, appendfsync="always") as server:
        port, url = server.port, server.url
        r = redis.Redis.from_url(url)
        r.set("a", "1")
        r.hset("{m:1}", mapping={"balance": 10})
        server.restart(hard=True)  # SIGKILL: only what the AOF has survives
        assert (server.port, server.url) == (port, url)
        assert r.get("a") == b"1" and r.hget("{m:1}", "balance") == b"10"
        r.incr("a")
        server.restart()  # SIGTERM
        assert r.get("a") == b"2"
        r.close()
    assert list(tmp_path.glob("appendonlydir/*")), "AOF files are in the work dir"


def test_redis_without_aof_forgets_on_restart(tmp_path):
    with RedisServer(workdir=tmp_path, appendonly=False) as server:
        r = server.client()
        r.set("a", "1")
        server.restart()
        assert r.get("a") is None
        r.close()


def test_redis_fixtures(redis_url, redis_clean):
    assert redis_url.startswith("redis://")
    assert redis_clean.dbsize() == 0
    redis_clean.set("x", 1)


def test_redis_clean_flushes(redis_clean):
    assert redis_clean.dbsize() == 0


def test_cluster_accepts_keys_in_different_slots():
    with RedisCluster() as cluster:
        assert len(cluster.startup_nodes) == 3 and cluster.url.endswith(str(cluster.nodes[0].port))
        rc = cluster.client()
        keys = [f"{{m:{i}}}" for i in range(30)]
        for k in keys:
            rc.hset(k, "balance", len(k))
        assert [int(rc.hget(k, "balance")) for k in keys] == [len(k) for k in keys]
        owners = {rc.get_node_from_key(k).port for k in keys}
        assert owners == {p for _, p in cluster.startup_nodes}  # keys spread over all 3 masters
        with pytest.raises(redis.exceptions.RedisClusterException):
            rc.mget("{m:1}", "{m:2}")  # cross-slot: refused
        rc.close()
    assert not any(n.running for n in cluster.nodes)


def test_free_port_is_bindable():
    port = free_port()
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))


def test_missing_redis_server_says_how_to_install(monkeypatch):
    import streams.devstack.redis as devstack_redis
    monkeypatch.setattr(devstack_redis.shutil, "which", lambda name: None)
    with pytest.raises(DevStackError, match="apt-get install -y redis-server"):
        RedisServer()


def test_start_failure_reports_the_log(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(DevStackError, match="exited with code") as exc:
            RedisServer(port=taken.getsockname()[1], workdir=tmp_path).start(timeout=10)
    assert "Address already in use" in str(exc.value) or "bind" in str(exc.value).lower()


def test_own_work_dir_is_removed_a_given_one_kept(tmp_path):
    """streams/devstack/process.py: cleanup removes only the work dir it created; both are stopped."""
    with RedisServer(appendonly=False) as own:
        made = own.workdir
        assert made.is_dir() and own.running
    assert not made.exists() and not own.running
    with RedisServer(workdir=tmp_path / "given", appendonly=False) as given:
        assert given.workdir == (tmp_path / "given").resolve()
    assert given.workdir.is_dir() and not given.running
