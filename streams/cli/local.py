"""`harmony dev` (broker, Redis, topics and worker on this machine) and `harmony worker`."""
from __future__ import annotations

import os
import shutil
import signal
import sys
from pathlib import Path

from streams.cli.common import settings


def cmd_dev(args) -> int:
    from streams.devstack.process import DevStackError, free_port
    from streams.devstack.redis import RedisServer
    from streams.kafka.admin import create_topics
    from streams.kafka.topics import Topics
    started: list = []
    address_files: list[Path] = []
    try:
        if not os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
            port = 9092 if _port_free(9092) else free_port()
            try:
                broker = dev_broker(args.broker, port)
            except DevStackError as exc:  # e.g. no Java, jars not fetched, a broker that died: say why
                print(f"harmony dev: {exc}", file=sys.stderr)
                return 1
            started.append(broker)
            os.environ["KAFKA_BOOTSTRAP_SERVERS"] = broker.bootstrap
        if not os.environ.get("REDIS_URL"):
            if started:  # our broker starts empty (memory storage): the positions an earlier run left in
                shutil.rmtree(Path(".harmony") / "redis", ignore_errors=True)  # Redis would skip its records
            redis_server = RedisServer(appendonly=True, workdir=Path(".harmony") / "redis").start()
            started.append(redis_server)
            os.environ["REDIS_URL"] = redis_server.url
        if not os.environ.get("HARMONY_WEB_PORT") and not _port_free(6066):
            os.environ["HARMONY_WEB_PORT"] = str(free_port())
        from streams.runtime.engine_address import write as write_addresses
        address_files += write_addresses(dict(os.environ), Path.cwd())
        s = settings()
        created = create_topics(s.bootstrap, Topics.from_env())
        print(f"harmony dev: Kafka {s.bootstrap}  Redis {s.redis_url}  ({len(created)} topics created)")
        print(f"harmony dev: API on http://{s.web_host}:{s.web_port}/members/<id>"
              "  (health: /health, metrics: /metrics)")
        print(f"harmony dev: office console on http://{s.web_host}:{s.web_port}/office/"
              + ("" if os.environ.get("HARMONY_API_TOKENS_FILE")
                 else " (no token file: loopback only, any token signs in)"))
        print("harmony dev: in another terminal: harmony publish pms.folio-postings.v1 examples/postings.jsonl; "
              "harmony wait; harmony member show OH0000001")
        print("harmony dev: Ctrl-C stops the worker, the broker and Redis")
        from streams.runtime.app import run_worker
        run_worker(s, args.loglevel)
        return 0
    finally:
        for f in address_files:  # first: no command may find a dev that is stopping
            f.unlink(missing_ok=True)
        for proc in reversed(started):
            proc.cleanup()  # stopped; a temporary work dir (the broker's) removed, .harmony/redis kept


def dev_broker(kind: str, port: int):
    """The broker `harmony dev` starts: Tansu (memory storage, nothing to install) or Apache Kafka
    (one KRaft node from tools/kafka's jars, storage in a temporary dir removed at exit)."""
    if kind == "kafka":
        from streams.devstack.kafka import KafkaCluster
        return KafkaCluster(nodes=1, port=port).start()
    from streams.devstack.tansu import TansuBroker
    return TansuBroker(port=port).start()


def _port_free(port: int) -> bool:
    import socket
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def cmd_worker(args) -> int:
    if args.plain:
        return run_plain_worker(settings())
    from streams.runtime.app import run_worker
    run_worker(settings(), args.loglevel)
    return 0


def run_plain_worker(s) -> int:
    """The batch loop alone (no web server, no timers): for benchmarks and fault-injection tests."""
    import threading

    from streams.runtime.bootstrap import build_worker
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    build_worker(s).run(stop)
    return 0


def register(sub) -> None:
    """dev, worker"""
    d = sub.add_parser("dev", help="embedded default: local broker + Redis + topics + worker")
    d.add_argument("--loglevel", default="warning")
    d.add_argument("--broker", choices=("tansu", "kafka"), default=os.environ.get("HARMONY_DEV_BROKER", "tansu"),
                   help="the local broker: tansu (default, nothing to install) or kafka (Apache Kafka; needs Java "
                        "and `make kafka`)")
    d.set_defaults(func=cmd_dev)

    w = sub.add_parser("worker", help="run the processor against KAFKA_BOOTSTRAP_SERVERS / REDIS_URL")
    w.add_argument("--loglevel", default="info")
    w.add_argument("--plain", action="store_true",
                   help="only the batch loop (no HTTP API, no scheduled jobs): benchmarks, fault tests")
    w.set_defaults(func=cmd_worker)
