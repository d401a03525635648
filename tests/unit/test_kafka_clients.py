"""Client configuration without a broker: the faust credentials made from KAFKA_CONFIG_*, the way the
end of a partition is found per broker, the Kafka cluster settings, and that every Kafka client of the
engine is made by the factories that apply KAFKA_CONFIG_* (streams/kafka/clients.py, streams/runtime/faust_auth.py)."""
from __future__ import annotations

import re
import ssl
from pathlib import Path

import pytest

from streams.devstack.kafka import HEAP_MB, KafkaNode, cluster_settings
from streams.kafka.clients import env_config
from streams.kafka.lag import end_offset_mode
from streams.runtime.faust_auth import faust_credentials

ROOT = Path(__file__).resolve().parents[2]


def test_plaintext_needs_no_faust_credentials():
    assert faust_credentials({"bootstrap.servers": "x:9092"}) is None


def test_sasl_ssl_scram_reaches_faust():
    conf = env_config({"KAFKA_CONFIG_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_CONFIG_SASL_MECHANISM": "SCRAM-SHA-512",
                       "KAFKA_CONFIG_SASL_USERNAME": "u", "KAFKA_CONFIG_SASL_PASSWORD": "p"})
    cred = faust_credentials(conf)
    assert (cred.protocol.value, cred.mechanism.value, cred.username, cred.password) == \
        ("SASL_SSL", "SCRAM-SHA-512", "u", "p")
    assert isinstance(cred.ssl_context, ssl.SSLContext) and cred.ssl_context.verify_mode == ssl.CERT_REQUIRED


def test_confluent_cloud_plain_and_sasl_plaintext():
    cred = faust_credentials({"security.protocol": "SASL_SSL", "sasl.mechanisms": "PLAIN",
                              "sasl.username": "KEY", "sasl.password": "SECRET"})
    assert (cred.protocol.value, cred.mechanism.value) == ("SASL_SSL", "PLAIN")
    cred = faust_credentials({"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "SCRAM-SHA-256",
                              "sasl.username": "u", "sasl.password": "p"})
    assert (cred.protocol.value, cred.ssl_context) == ("SASL_PLAINTEXT", None)


@pytest.mark.parametrize("conf,match", [
    ({"security.protocol": "SASL_SSL", "sasl.mechanism": "OAUTHBEARER"}, "OAUTHBEARER"),
    ({"security.protocol": "KERBEROS"}, "KERBEROS"),
])
def test_unsupported_settings_are_refused_not_ignored(conf, match):
    with pytest.raises(ValueError, match=match):
        faust_credentials(conf)


def test_end_offsets_from_list_offsets_except_on_tansu(monkeypatch):
    monkeypatch.delenv("HARMONY_END_OFFSETS", raising=False)
    assert end_offset_mode("tansu_cluster") == "fetch"
    assert end_offset_mode("lNMp0imdXTOwzq8RVv2GWQ") == "list-offsets"
    assert end_offset_mode(None) == "list-offsets"
    assert end_offset_mode("tansu_cluster", "list-offsets") == "list-offsets"
    monkeypatch.setenv("HARMONY_END_OFFSETS", "fetch")
    assert end_offset_mode("abc") == "fetch"
    with pytest.raises(ValueError):
        end_offset_mode("abc", "sometimes")


def test_cluster_settings():
    assert cluster_settings(1)["min.insync.replicas"] == 1
    three = cluster_settings(3)
    assert (three["default.replication.factor"], three["min.insync.replicas"],
            three["offsets.topic.replication.factor"]) == (3, 2, 3)


def test_node_heap_is_capped(tmp_path):
    node = KafkaNode(1, "id", "1@127.0.0.1:1", 1, 1, port=2, workdir=tmp_path, heap_mb=4096)
    assert node.heap_mb == HEAP_MB <= 512


def test_every_kafka_client_comes_from_the_factories():
    """No confluent-kafka client constructed outside streams/kafka/clients.py (the dev launchers' readiness
    probes aside), and every faust app gets broker_credentials: otherwise KAFKA_CONFIG_* (SASL, TLS)
    would not reach it."""
    allowed = {"streams/kafka/clients.py", "streams/devstack/tansu.py", "streams/devstack/kafka.py"}
    offenders = []
    for path in sorted((ROOT / "streams").rglob("*.py")):
        text = path.read_text()
        if str(path.relative_to(ROOT)) not in allowed and re.search(r"\b(Producer|Consumer|AdminClient)\(", text):
            offenders.append(path.name)
        if path.name in ("app.py",) or "faust.App(" in text:
            for call in re.findall(r"faust\.App\((.*?)\n    \)", text, re.S):
                if "broker_credentials" not in call:
                    offenders.append(f"{path.name}: faust.App without broker_credentials")
    assert not offenders, offenders
