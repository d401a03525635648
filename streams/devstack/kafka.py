"""Apache Kafka (KRaft) for the tests and `harmony dev --broker kafka`, started from its jars.

`make kafka` (`mvn -f tools/kafka/pom.xml package`) puts the jars of the pinned release into
tools/kafka/lib/ (git-ignored; `HARMONY_KAFKA_LIB` names another folder). A node is one JVM running
`kafka.Kafka` as a combined broker + controller: its storage is formatted once
(`kafka.tools.StorageTool format`), then it is started on free ports and awaited on readiness (the
"Kafka Server started" log line, then metadata showing every broker of the cluster). A node that
dies or is not ready in time raises DevStackError with its log tail.

`KafkaCluster(nodes=1)` is the default single node (replication 1); `KafkaCluster(nodes=3)` is three
nodes forming the controller quorum, with replication factor 3 and `min.insync.replicas=2` for every
topic (the production settings of README "Production cluster"). Nodes keep their ports and storage
across `kill()` / `start()`, so a test can kill -9 a broker and bring it back.
"""
from __future__ import annotations

import base64
import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any, Self

from streams.devstack.process import ChildProcess, DevStackError, ProcessGroup, free_port, start_in_own_session, tail

__all__ = ["KAFKA_LIB", "kafka_available", "kafka_classpath", "KafkaNode", "KafkaCluster", "cluster_settings"]

KAFKA_LIB = Path(__file__).resolve().parents[2] / "tools" / "kafka" / "lib"
HEAP_MB = 512  # per node, at most (the budget: a 2-core, loaded machine runs up to three)


def _lib() -> Path:
    return Path(os.environ.get("HARMONY_KAFKA_LIB") or KAFKA_LIB)


def _java() -> str | None:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return str(Path(home) / "bin" / "java")
    return shutil.which("java")


def kafka_available() -> bool:
    """Java on PATH (or JAVA_HOME) and the broker jars fetched."""
    return _java() is not None and any(_lib().glob("kafka_2.13-*.jar"))


def kafka_classpath() -> str:
    lib = _lib()
    if _java() is None:
        raise DevStackError("java not found: install a JDK 17+ (`apt-get install -y openjdk-17-jre-headless`)")
    if not any(lib.glob("kafka_2.13-*.jar")):
        raise DevStackError(f"Apache Kafka jars not found in {lib}: run `make kafka` "
                            "(mvn -f tools/kafka/pom.xml package, needs Maven and Maven Central)")
    return str(lib / "*")


def cluster_settings(nodes: int) -> dict[str, Any]:
    """Broker settings that depend on the cluster size: replication of every topic (internal ones
    included) and min.insync.replicas (2 of 3: a write survives one broker down, acks=all waits for two)."""
    rf = 3 if nodes >= 3 else 1
    isr = 2 if rf >= 3 else 1
    return {
        "default.replication.factor": rf,
        "min.insync.replicas": isr,
        "offsets.topic.replication.factor": rf,
        "transaction.state.log.replication.factor": rf,
        "transaction.state.log.min.isr": isr,
        "share.coordinator.state.topic.replication.factor": rf,
        "share.coordinator.state.topic.min.isr": isr,
        "unclean.leader.election.enable": "false",  # Kafka's default, stated: an out-of-sync replica never leads
    }


# the log lines a readiness check and a failing start need; everything else at WARN
_LOG4J = """status = error
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.out.ref = OUT
logger.raft.name = kafka.server.KafkaRaftServer
logger.raft.level = INFO
logger.kafka.name = kafka.Kafka
logger.kafka.level = INFO
logger.tool.name = kafka.tools
logger.tool.level = INFO
"""


class KafkaNode(ChildProcess):
    """One combined broker + controller JVM (`kafka.Kafka server.properties`)."""

    name = "kafka"
    ready_line = b"Kafka Server started"
    start_timeout = 120.0

    def __init__(self, node_id: int, cluster_id: str, voters: str, controller_port: int, expected_brokers: int,
                 port: int | None = None, workdir: str | os.PathLike[str] | None = None,
                 config: dict[str, Any] | None = None, heap_mb: int = HEAP_MB):
        self.name = f"kafka{node_id}"
        super().__init__(workdir, port)
        self.node_id, self.cluster_id, self.voters = node_id, cluster_id, voters
        self.controller_port, self.expected_brokers = controller_port, expected_brokers
        self.heap_mb = min(heap_mb, HEAP_MB)
        self.extra = dict(config or {})
        self.properties = self.workdir / "server.properties"
        self.data_dir = self.workdir / "data"

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def server_properties(self) -> dict[str, Any]:
        listeners = {"PLAINTEXT": self.port, "CONTROLLER": self.controller_port}
        extra = dict(self.extra)
        listeners.update(extra.pop("_listeners", {}))  # {"SASL_SSL": port, ...}: listener name = protocol
        props: dict[str, Any] = {
            "process.roles": "broker,controller",
            "node.id": self.node_id,
            "controller.quorum.voters": self.voters,
            "listeners": ",".join(f"{n}://127.0.0.1:{p}" for n, p in listeners.items()),
            "advertised.listeners": ",".join(f"{n}://127.0.0.1:{p}" for n, p in listeners.items()
                                             if n != "CONTROLLER"),
            "listener.security.protocol.map": ",".join(f"{n}:{'PLAINTEXT' if n == 'CONTROLLER' else n}"
                                                       for n in listeners),
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "log.dirs": str(self.data_dir),
            "num.partitions": 1,
            "offsets.topic.num.partitions": 10,  # 50 by default: slower first group join on a small machine
            "group.initial.rebalance.delay.ms": 0,
            # the fault-injection tests run workers with a 3 s session timeout (a killed member leaves
            # sooner); Kafka refuses a JoinGroup below this minimum (6 s by default), Tansu has none
            "group.min.session.timeout.ms": 3000,
            "auto.create.topics.enable": "true",  # faust creates its leader topic this way
            "num.network.threads": 2,
            "num.io.threads": 4,
            "log.retention.check.interval.ms": 60000,
            **cluster_settings(self.expected_brokers),
        }
        props.update(extra)
        return props

    def _write_config(self) -> None:
        self.properties.write_text("".join(f"{k}={v}\n" for k, v in self.server_properties().items()))
        (self.workdir / "log4j2.properties").write_text(_LOG4J)

    def _jvm(self, main: str, *args: str, heap_mb: int) -> list[str]:
        java = _java()
        assert java is not None
        return [java, f"-Xmx{heap_mb}m", f"-Xms{min(heap_mb, 128)}m", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20",
                "-XX:+ExitOnOutOfMemoryError", "-Djava.awt.headless=true",
                f"-Dlog4j2.configurationFile={self.workdir / 'log4j2.properties'}",
                f"-Dkafka.logs.dir={self.workdir}", "-cp", kafka_classpath(), main, *args]

    def format_storage(self) -> subprocess.Popen[bytes] | None:
        """Start `StorageTool format` unless the storage is formatted (meta.properties): returns the
        process to `wait_formatted`, or None."""
        self._write_config()
        if (self.data_dir / "meta.properties").exists():
            return None
        with open(self.workdir / "format.log", "wb") as log:
            return start_in_own_session(
                # `--cluster-id=` form: a base64 id may start with "-", which argparse would take for an option
                self._jvm("kafka.tools.StorageTool", "format", f"--cluster-id={self.cluster_id}",
                          "-c", str(self.properties), "--ignore-formatted", heap_mb=256),
                self.workdir, log)

    def wait_formatted(self, proc: subprocess.Popen[bytes] | None, timeout: float) -> None:
        if proc is None:
            return
        try:
            rc = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            rc = None
        if rc != 0:
            why = "timed out" if rc is None else f"exited with code {rc}"
            raise DevStackError(f"formatting the storage of {self.name} {why}; log:\n"
                                f"{tail(self.workdir / 'format.log')}")

    def _argv(self) -> list[str]:
        return self._jvm("kafka.Kafka", str(self.properties), heap_mb=self.heap_mb)

    def _ready(self) -> bool:
        from confluent_kafka.admin import AdminClient
        admin = AdminClient({"bootstrap.servers": self.bootstrap, "socket.timeout.ms": 3000})
        md = admin.list_topics(timeout=3)
        return len(md.brokers) >= self.expected_brokers

    def _prepare(self) -> None:
        """(Re)write the configuration: a start after kill()/stop() keeps the ports and the storage."""
        self._write_config()


class KafkaCluster(ProcessGroup[KafkaNode]):
    """`nodes` combined broker/controller nodes on free ports (1 by default, or 3: RF 3, min ISR 2)."""

    stop_timeout = 30.0

    def __init__(self, nodes: int = 1, workdir: str | os.PathLike[str] | None = None,
                 config: dict[str, Any] | None = None, heap_mb: int = HEAP_MB, port: int | None = None):
        if nodes not in (1, 3):
            raise ValueError("a Kafka cluster here has 1 or 3 nodes")
        kafka_classpath()  # fail now, with the fix, when java or the jars are missing
        super().__init__(workdir, "harmony-kafka-")
        self.cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        controller_ports = [free_port() for _ in range(nodes)]
        voters = ",".join(f"{i + 1}@127.0.0.1:{p}" for i, p in enumerate(controller_ports))
        self.nodes = [KafkaNode(i + 1, self.cluster_id, voters, controller_ports[i], nodes,
                                port=port if i == 0 else None, workdir=self.workdir / f"node{i + 1}",
                                config=config, heap_mb=heap_mb)
                      for i in range(nodes)]

    @property
    def bootstrap(self) -> str:
        return ",".join(n.bootstrap for n in self.nodes)

    @property
    def port(self) -> int:
        return self.nodes[0].port

    def node(self, node_id: int) -> KafkaNode:
        return self.nodes[node_id - 1]

    def start(self, timeout: float = 180.0) -> Self:
        """Format (in parallel), launch every node, then wait for all: a quorum needs them together."""
        deadline = time.monotonic() + timeout
        try:
            formats = [n.format_storage() for n in self.nodes]
            for n, proc in zip(self.nodes, formats):
                n.wait_formatted(proc, max(1.0, deadline - time.monotonic()))
            for n in self.nodes:
                if not n.running:
                    n.launch()
            for n in self.nodes:
                n.await_ready(deadline, timeout)
        except BaseException:
            self.kill()
            raise
        return self

    def cleanup(self) -> None:
        """Stop; a throw-away cluster (our own work dir) is killed: nothing in it is kept anyway, and
        the last nodes of a quorum may wait long for a controlled shutdown."""
        if self._own_dir:
            self.kill()
        super().cleanup()
