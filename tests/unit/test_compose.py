"""docker-compose.yml against the code: no Docker engine runs in CI, so this parses the file and checks
that every service's image, command, environment variable and port agrees with what the code reads,
and that the Kafka nodes are configured like the cluster the tests run (streams/devstack/kafka.py:
KRaft, replication factor, min.insync.replicas)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from streams.cli.main import build_parser
from streams.devstack.kafka import cluster_settings
from streams.kafka.admin import default_partitions
from streams.runtime.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
KAFKA = {name: s for name, s in SERVICES.items() if str(s.get("image", "")).startswith("apache/kafka")}
ENGINE = {name: s for name, s in SERVICES.items() if s.get("image") == "one-harmony-engine:local"}
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def _env_names_read_by_the_code() -> set[str]:
    names = set()
    for path in (ROOT / "streams").rglob("*.py"):
        names |= set(re.findall(r"[\"']((?:HARMONY|KAFKA|REDIS|SCHEMA)_[A-Z0-9_]+)[\"']", path.read_text()))
    return names


def _kafka_key(prop: str) -> str:
    return "KAFKA_" + prop.upper().replace(".", "_")


def test_services_are_the_expected_ones():
    assert set(SERVICES) == {*KAFKA, "redis", "topics", "worker", "prometheus", "grafana"}
    assert set(ENGINE) == {"topics", "worker"}
    assert len(KAFKA) in (1, 3)


def test_kafka_image_is_the_release_the_tests_run():
    pinned = re.search(r"<kafka.version>([^<]+)</kafka.version>", (ROOT / "tools/kafka/pom.xml").read_text())
    assert pinned, "tools/kafka/pom.xml pins no kafka.version"
    for name, s in KAFKA.items():
        assert s["image"] == f"apache/kafka:{pinned.group(1)}", name


def test_kafka_is_kraft_with_the_tests_replication_settings():
    ids = {}
    for name, s in KAFKA.items():
        env = {k: str(v) for k, v in s["environment"].items()}
        assert not any(k.startswith("KAFKA_ZOOKEEPER") for k in env), f"{name}: ZooKeeper is gone in Kafka 4"
        assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}, name
        assert env["KAFKA_CONTROLLER_LISTENER_NAMES"] == "CONTROLLER"
        ids[name] = env["KAFKA_NODE_ID"]
        for prop, want in cluster_settings(len(KAFKA)).items():
            assert env.get(_kafka_key(prop), "").lower() == str(want).lower(), \
                f"{name}: {_kafka_key(prop)}={env.get(_kafka_key(prop))!r}, the tests run {prop}={want}"
        assert int(env["KAFKA_NUM_PARTITIONS"]) == default_partitions()
    assert len(set(ids.values())) == len(KAFKA), f"node ids not unique: {ids}"
    for name, s in KAFKA.items():
        voters = set(s["environment"]["KAFKA_CONTROLLER_QUORUM_VOTERS"].split(","))
        assert voters == {f"{ids[n]}@{KAFKA[n]['hostname']}:9093" for n in KAFKA}, name


def _listeners(value: str) -> dict[str, tuple[str, int]]:
    out = {}
    for item in value.split(","):
        m = re.fullmatch(r"(\w+)://([^:]*):(\d+)", item.strip())
        assert m, item
        out[m.group(1)] = (m.group(2), int(m.group(3)))
    return out


def test_kafka_listeners_and_ports():
    for name, s in KAFKA.items():
        env = s["environment"]
        listen, advertised = _listeners(env["KAFKA_LISTENERS"]), _listeners(env["KAFKA_ADVERTISED_LISTENERS"])
        assert advertised["PLAINTEXT"] == (s["hostname"], listen["PLAINTEXT"][1]), name
        host_port = advertised["HOST"][1]
        assert listen["HOST"][1] == host_port and s["ports"] == [f"{host_port}:{host_port}"], name
        protocols = dict(p.split(":") for p in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(","))
        assert set(protocols) == set(listen), name


@pytest.mark.parametrize("service", ["topics", "worker"])
def test_engine_environment_is_what_the_code_reads(service):
    env = {k: str(v) for k, v in SERVICES[service]["environment"].items()}
    read = _env_names_read_by_the_code()
    unknown = [k for k in env if k not in read and not k.startswith("KAFKA_CONFIG_")]
    assert not unknown, f"{service} sets variables the code never reads: {unknown}"
    # the bootstrap names every Kafka node by its PLAINTEXT (in-network) listener
    want = {f"{s['hostname']}:{_listeners(s['environment']['KAFKA_ADVERTISED_LISTENERS'])['PLAINTEXT'][1]}"
            for s in KAFKA.values()}
    assert set(env["KAFKA_BOOTSTRAP_SERVERS"].split(",")) == want
    m = re.fullmatch(r"redis://(\w+):(\d+)/\d+", env["REDIS_URL"])
    assert m and m.group(1) == "redis" and int(m.group(2)) == 6379  # redis-server's default port
    assert int(env["HARMONY_PARTITIONS"]) == default_partitions()
    deps = set(SERVICES[service].get("depends_on", {}))
    assert deps & (set(KAFKA) | {"topics"}), f"{service} does not wait for Kafka or the topics"


def test_engine_commands_parse():
    assert re.search(r'ENTRYPOINT \["harmony"\]', DOCKERFILE)
    for name, s in ENGINE.items():
        args = build_parser().parse_args(s["command"])
        assert args.command in ("topics", "worker"), name
    assert SERVICES["topics"]["command"] == ["topics", "create"]
    assert SERVICES["topics"]["depends_on"] == {k: {"condition": "service_healthy"} for k in KAFKA}


def test_worker_port_is_the_api_port():
    port = int(re.search(r"HARMONY_WEB_PORT=(\d+)", DOCKERFILE).group(1))
    assert port == Settings().web_port == 6066
    assert f"EXPOSE {port}" in DOCKERFILE and "HARMONY_WEB_HOST=0.0.0.0" in DOCKERFILE
    assert SERVICES["worker"]["ports"] == [str(port)]


def test_redis_keeps_an_append_only_file():
    cmd = SERVICES["redis"]["command"]
    assert cmd[0] == "redis-server"
    assert cmd[cmd.index("--appendonly") + 1] == "yes"
    assert cmd[cmd.index("--appendfsync") + 1] in ("everysec", "always")
    assert any(v.endswith(":/data") for v in SERVICES["redis"]["volumes"])


def test_worker_api_has_tokens_and_prometheus_scrapes_it():
    """The worker listens on all addresses in its container, which the API refuses without a token
    file (streams/web/auth.py check_bind); Prometheus scrapes every replica's open /metrics."""
    from streams.web.auth import TokenBook
    env = SERVICES["worker"]["environment"]
    mounted = dict(v.split(":")[:2][::-1] for v in SERVICES["worker"]["volumes"])
    host_file = mounted[env["HARMONY_API_TOKENS_FILE"]]
    book = TokenBook.load(ROOT / host_file)
    assert book.identify("compose-office-token").role == "office"
    assert book.identify("compose-member-app-token").role == "member-app"
    assert "HARMONY_METRICS_PROTECTED" not in env
    prom = yaml.safe_load((ROOT / "ops/prometheus/prometheus.yml").read_text())
    (job,) = prom["scrape_configs"]
    assert job["metrics_path"] == "/metrics"
    (sd,) = job["dns_sd_configs"]
    assert sd["names"] == ["worker"] and sd["port"] == Settings().web_port
