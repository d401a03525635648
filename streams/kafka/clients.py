"""Thin confluent-kafka factories. Configuration, lowest precedence first:

1. the client defaults below (producer: acks=all, idempotence, linger 5 ms, no compression; consumer: manual
   commits, earliest, range assignor),
2. the environment: `KAFKA_BOOTSTRAP_SERVERS` and `KAFKA_CONFIG_<NAME>` (e.g.
   `KAFKA_CONFIG_SECURITY_PROTOCOL=SASL_SSL` -> `security.protocol`),
3. keyword overrides in code: `linger_ms=20` or `**{"linger.ms": 20}` (underscores become dots).

Nothing is created at import time.
"""
from __future__ import annotations

import logging
import os
import time
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient

__all__ = ["DEFAULT_BOOTSTRAP", "kafka_config", "make_producer", "make_consumer", "make_admin",
           "check_connection", "BrokerConnectionError"]

DEFAULT_BOOTSTRAP = "127.0.0.1:9092"
_ENV_PREFIX = "KAFKA_CONFIG_"

PRODUCER_DEFAULTS: dict[str, Any] = {
    "acks": "all",
    "enable.idempotence": True,
    "linger.ms": 5,
    # no compression by default: cheapest for the producer, and readable by every client (aiokafka
    # needs an extra library for lz4); set KAFKA_CONFIG_COMPRESSION_TYPE to change it
    "compression.type": "none",
}

CONSUMER_DEFAULTS: dict[str, Any] = {
    "enable.auto.commit": False,
    "auto.offset.reset": "earliest",
    # range keeps partition i of every co-partitioned topic on the same member
    "partition.assignment.strategy": "range",
    # Tansu answers the first JoinGroup after ~session.timeout.ms / 2 (45 s default -> 23 s;
    # 10 s -> 5 s; 6 s -> 3 s). 10 s is the pre-Kafka-3.0 default and fine for production
    # (librdkafka heartbeats from its own thread); tests may pass session_timeout_ms=6000.
    "session.timeout.ms": 10000,
    # a fetch returns as soon as data is there on Kafka, but Tansu holds it for the whole wait:
    # keep the wait short so a quiet partition does not delay the others (latency)
    "fetch.wait.max.ms": 20,
    # librdkafka waits this long before fetching a partition again after a fetch error (default 500 ms).
    # Tansu answers some fetches of a live partition with an error: with the default, a message now
    # and then waited ~500 ms (p99 publish -> balance 514 ms at 500 events/s; 73 ms with 20 ms)
    "fetch.error.backoff.ms": 20,
}


class LibrdkafkaLog:
    """librdkafka's log lines through Python logging (logger ``librdkafka``) instead of raw lines on
    stderr. Connection chatter — a broker closing an idle connection ("Disconnected: connection
    closed by peer"), a refused connect while a broker starts — is logged at INFO (librdkafka calls it
    an error; the client reconnects by itself and reports real failures through its error callbacks)."""

    CHATTER = ("Disconnected", "Connection refused", "connection closed by peer", "Connect to ipv",
               "all broker connections are down", "Timed out LeaveGroupRequest")

    def __init__(self, name: str = "librdkafka"):
        self.logger = logging.getLogger(name)

    def log(self, level: int, msg: str, *args: Any) -> None:
        text = msg % args if args else msg
        if level > logging.INFO and any(c in text for c in self.CHATTER):
            level = logging.INFO
        self.logger.log(level, "%s", text)


LIBRDKAFKA_LOG = LibrdkafkaLog()

# confluent-kafka's Python-level options keep their underscores
_PY_KEYS = frozenset({"error_cb", "stats_cb", "throttle_cb", "oauth_cb", "on_commit", "on_delivery", "logger"})


def _key(name: str) -> str:
    return name if name in _PY_KEYS else name.replace("_", ".")


def env_config(environ: dict[str, str] | None = None) -> dict[str, str]:
    """The `KAFKA_CONFIG_*` variables as librdkafka properties."""
    env = os.environ if environ is None else environ
    return {_key(k[len(_ENV_PREFIX):].lower()): v for k, v in env.items()
            if k.startswith(_ENV_PREFIX) and len(k) > len(_ENV_PREFIX)}


def kafka_config(bootstrap: str | None = None, **overrides: Any) -> dict[str, Any]:
    """Common client config: bootstrap (argument, else $KAFKA_BOOTSTRAP_SERVERS, else
    127.0.0.1:9092), the `KAFKA_CONFIG_*` environment, then `overrides`."""
    conf: dict[str, Any] = {"logger": LIBRDKAFKA_LOG}
    conf.update(env_config())
    conf["bootstrap.servers"] = (bootstrap or os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
                                 or conf.get("bootstrap.servers") or DEFAULT_BOOTSTRAP)
    conf.update({_key(k): v for k, v in overrides.items()})
    return conf


def _merged(defaults: dict[str, Any], bootstrap: str | None, overrides: dict[str, Any]) -> dict[str, Any]:
    return {**defaults, **kafka_config(bootstrap, **overrides)}


def make_producer(bootstrap: str | None = None, **overrides: Any) -> Producer:
    conf = _merged(PRODUCER_DEFAULTS, bootstrap, overrides)
    try:
        return Producer(conf)
    except KafkaException:
        if conf.get("compression.type") != "lz4" or "compression_type" in overrides \
                or "compression.type" in overrides:
            raise
        conf["compression.type"] = "none"  # librdkafka built without lz4
        return Producer(conf)


def make_consumer(group: str, bootstrap: str | None = None, **overrides: Any) -> Consumer:
    return Consumer(_merged(CONSUMER_DEFAULTS, bootstrap, {"group.id": group, **overrides}))


def make_admin(bootstrap: str | None = None, **overrides: Any) -> AdminClient:
    return AdminClient(kafka_config(bootstrap, **overrides))


class BrokerConnectionError(RuntimeError):
    """The broker cannot be reached with this configuration (wrong credentials, TLS, address)."""


_AUTH_CODES = frozenset({KafkaError._AUTHENTICATION, KafkaError.SASL_AUTHENTICATION_FAILED, KafkaError._SSL,
                         KafkaError.TOPIC_AUTHORIZATION_FAILED, KafkaError.CLUSTER_AUTHORIZATION_FAILED})


def check_connection(bootstrap: str | None = None, timeout: float = 20.0) -> None:
    """Fail fast, and say why, when the broker cannot be used with the configured client settings:
    an authentication or TLS failure raises BrokerConnectionError as soon as librdkafka reports it
    (about a second), an unreachable broker after `timeout`. librdkafka itself would retry for
    ever, so without this check wrong credentials look like a hang."""
    errors: list[KafkaError] = []
    conf = kafka_config(bootstrap, error_cb=errors.append)
    admin = AdminClient(conf)
    deadline = time.monotonic() + timeout
    while True:
        try:
            admin.list_topics(timeout=min(1.0, max(0.1, deadline - time.monotonic())))
            return
        except KafkaException as exc:
            last: object = exc
        admin.poll(0.1)  # serves error_cb
        auth = [e for e in errors if e.code() in _AUTH_CODES or e.fatal()]
        if auth:
            raise BrokerConnectionError(
                f"Kafka at {conf['bootstrap.servers']} refused the connection: {auth[-1].str()} (check the "
                f"KAFKA_CONFIG_* settings: security.protocol, sasl.mechanism, sasl.username/password, ssl.ca.location)")
        if time.monotonic() >= deadline:
            shown = errors[-1].str() if errors else last
            raise BrokerConnectionError(f"Kafka at {conf['bootstrap.servers']} not reachable within {timeout:.0f}s: "
                                        f"{shown}")
