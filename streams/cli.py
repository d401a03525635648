"""`harmony` — the command line of the One Harmony engine (interfaces.md)."""
from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

# commands that do not need the engine's addresses (dev starts its own; bench starts private ones
# unless they are configured; docs only reads the schemas)
NO_ENGINE = {"dev", "bench", "docs", "api-token"}


def locate_engine(args) -> None:
    """Environment, else a running `harmony dev` (streams/engine_address.py), else exit with a clear error."""
    from .engine_address import EngineNotFound, locate
    if args.command in NO_ENGINE or (args.command == "simulate" and args.dry_run):
        return
    try:
        source = locate()
    except EngineNotFound as exc:
        print(f"harmony {args.command}: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    logging.getLogger(__name__).info("engine addresses from %s", source)


def settings():
    from .settings import Settings
    return Settings()


# ---------------------------------------------------------------------------------------- commands
def cmd_dev(args) -> int:
    from .devstack import DevStackError, RedisServer, free_port
    from .topics import Topics, create_topics
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
        from .engine_address import write as write_addresses
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
        from .app import run_worker
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
        from .kafka_broker import KafkaCluster
        return KafkaCluster(nodes=1, port=port).start()
    from .devstack import TansuBroker
    return TansuBroker(port=port).start()


def _port_free(port: int) -> bool:
    import socket
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def cmd_worker(args) -> int:
    if args.plain:
        return run_plain_worker(settings())
    from .app import run_worker
    run_worker(settings(), args.loglevel)
    return 0


def run_plain_worker(s) -> int:
    """The batch loop alone (no web server, no timers): for benchmarks and fault-injection tests."""
    import threading

    from .worker import Worker
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    Worker(s).run(stop)
    return 0


def cmd_topics_create(args) -> int:
    from .topics import Topics, create_topics
    s = settings()
    created = create_topics(s.bootstrap, Topics.from_env(), partitions=args.partitions)
    topics = Topics.from_env().all()
    for t in topics:
        print(("created  " if t in created else "exists   ") + t)
    return 0


def cmd_publish(args) -> int:
    from .publishing import publish_file
    s = settings()
    sent, bad = publish_file(s, args.topic, Path(args.file))
    print(f"published {sent} records to {args.topic}" + (f"; {bad} bad lines not sent" if bad else ""))
    return 1 if bad else 0


def cmd_wait(args) -> int:
    from .lag import wait_until_caught_up
    from .worker import fx_reader_group
    s = settings()
    t = s.topics
    started = time.monotonic()
    try:
        wait_until_caught_up(s.bootstrap, s.group, [x for x in t.inputs if x != t.fx], args.timeout)
        remaining = max(args.timeout - (time.monotonic() - started), 1.0)
        wait_until_caught_up(s.bootstrap, fx_reader_group(s.group), [t.fx], remaining)
    except TimeoutError as exc:
        print(f"harmony wait: {exc}", file=sys.stderr)
        return 1
    print(f"caught up ({time.monotonic() - started:.1f} s)")
    return 0


def _engine():
    from .worker import Worker
    w = Worker(settings())
    w.build()
    return w


def cmd_member_show(args) -> int:
    from .member_view import member_json, member_text
    w = _engine()
    view = member_json(w.engine.store, args.member_id, ledger=args.entries)
    if view is None:
        print(f"unknown member {args.member_id}", file=sys.stderr)
        return 1
    print(json.dumps(view, indent=2) if args.json else member_text(view))
    return 0


def cmd_close_year(args) -> int:
    from .app import run_job
    report = run_job(_engine(), {"job": "close-year", "year": args.year})
    print(json.dumps(report))
    return 0


def _now() -> datetime:
    """The current instant (aware, UTC); job dates derive from it in JST, never the host's zone."""
    return datetime.now(UTC)


def cmd_expire(args) -> int:
    from processors.validity import jst_date

    from .app import run_job
    as_of = args.as_of or jst_date(_now()).isoformat()  # the JST date, whatever the host's zone
    report = run_job(_engine(), {"job": "expire", "as_of": as_of})
    print(json.dumps(report))
    return 0


def cmd_rebuild(args) -> int:
    from .config_file import load_config
    from .rebuild import rebuild
    s = settings()
    stats = rebuild(s, force=args.force, grace_hours=load_config(s.config_path).unknown_member_grace_hours)
    print(json.dumps(stats))
    return 0


def cmd_simulate(args) -> int:
    from .simulate import main as simulate_main
    return simulate_main(args)


def cmd_bench(args) -> int:
    from .bench import main as bench_main
    return bench_main(args)


# ---------------------------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="harmony", description="One Harmony points engine")
    sub = p.add_subparsers(dest="command", required=True)

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

    t = sub.add_parser("topics", help="topic administration")
    tsub = t.add_subparsers(dest="topics_command", required=True)
    tc = tsub.add_parser("create", help="create every topic (idempotent)")
    tc.add_argument("--partitions", type=int, default=None)
    tc.set_defaults(func=cmd_topics_create)

    pub = sub.add_parser("publish", help="validate JSON lines and publish them Avro-encoded")
    pub.add_argument("topic")
    pub.add_argument("file")
    pub.set_defaults(func=cmd_publish)

    wt = sub.add_parser("wait", help="block until the worker has processed everything published so far")
    wt.add_argument("--timeout", type=float, default=60.0)
    wt.set_defaults(func=cmd_wait)

    m = sub.add_parser("member", help="member state")
    msub = m.add_subparsers(dest="member_command", required=True)
    ms = msub.add_parser("show", help="balance, status, lots, qualifying counters, last entries")
    ms.add_argument("member_id")
    ms.add_argument("--json", action="store_true")
    ms.add_argument("--entries", type=int, default=20)
    ms.set_defaults(func=cmd_member_show)

    cy = sub.add_parser("close-year", help="year-end status evaluation of YEAR, now")
    cy.add_argument("year", type=int)
    cy.set_defaults(func=cmd_close_year)

    ex = sub.add_parser("expire", help="point expiry as of DATE, now")
    ex.add_argument("--as-of", dest="as_of", default=None, help="YYYY-MM-DD (JST); default today in JST")
    ex.set_defaults(func=cmd_expire)

    rb = sub.add_parser("rebuild", help="rebuild member state in an empty Redis from Kafka (changelog + ledger)")
    rb.add_argument("--force", action="store_true", help="overwrite a Redis that already holds member state")
    rb.set_defaults(func=cmd_rebuild)

    sim = sub.add_parser("simulate", help="publish realistic PMS/POS traffic")
    sim.add_argument("--events", type=int, default=10_000)
    sim.add_argument("--members", type=int, default=1_000)
    sim.add_argument("--rate", type=float, default=0, help="events/s (0: as fast as possible)")
    sim.add_argument("--seed", type=int, default=1)
    sim.add_argument("--start", default="2026-04-01", help="first business date")
    sim.add_argument("--days", type=int, default=180)
    sim.add_argument("--zipf", type=float, default=0.8, help="member activity skew: weight of rank r is r^-zipf")
    sim.add_argument("--charges-only", action="store_true",
                     help="send only the charges (the enrollments and FX rates were sent by an earlier run)")
    sim.add_argument("--dry-run", action="store_true", help="generate and describe, send nothing")
    sim.add_argument("--no-create-topics", action="store_true", help="do not create missing topics first")
    sim.set_defaults(func=cmd_simulate)

    b = sub.add_parser("bench", help="end-to-end throughput and latency benchmark")
    b.add_argument("--events", type=int, default=200_000)
    b.add_argument("--members", type=int, default=100_000)
    b.add_argument("--partitions", type=int, default=6)
    b.add_argument("--workers", type=int, default=1)
    b.add_argument("--naive-events", type=int, default=20_000)
    b.add_argument("--latency-rate", type=float, default=2000.0)
    b.add_argument("--latency-seconds", type=float, default=10.0)
    b.add_argument("--latency-sweep", default="500,1000", metavar="RATES",
                   help="more offered rates for the latency phase, comma-separated (default 500,1000; \"\" for none): "
                        "one more run of --latency-seconds each, after the main one")
    b.add_argument("--json", dest="json_out", default=None)
    b.add_argument("--seed", type=int, default=1)
    b.add_argument("--start", default="2026-04-01", help="first business date of the traffic")
    b.add_argument("--days", type=int, default=180)
    b.add_argument("--zipf", type=float, default=0.8, help="member activity skew: weight of rank r is r^-zipf")
    b.add_argument("--check", action="store_true",
                   help="replay the same topics with one reference worker and compare every member's balance")
    b.add_argument("--compare", metavar="FILE", default=None,
                   help="compare the balances with an earlier bench JSON of the same traffic")
    b.add_argument("--profile", metavar="FILE", default=None,
                   help="profile worker 0 with cProfile during the timed engine phase (slower)")
    b.add_argument("--py-spy", dest="py_spy", metavar="FILE", default=None,
                   help="sample worker 0 with py-spy during the timed engine phase (raw collapsed stacks)")
    b.add_argument("--py-spy-idle", dest="py_spy_idle", action="store_true",
                   help="with --py-spy: sample waiting threads too (wall-clock profile, not only CPU)")
    b.add_argument("--skip", default="", help="comma-separated phases to skip: ceiling, limit, naive, latency")
    b.add_argument("--broker", choices=("tansu", "kafka"), default="tansu",
                   help="the private broker the bench starts: tansu (default) or kafka (Apache Kafka, one KRaft node; "
                        "needs Java and `make kafka`)")
    b.add_argument("--private", action="store_true",
                   help="start a private broker and Redis even if KAFKA_BOOTSTRAP_SERVERS / REDIS_URL are set")
    b.add_argument("--flush", action="store_true", help="empty the bench's Redis databases first (configured Redis)")
    b.add_argument("--keep", action="store_true", help="keep the work dir (logs) after a successful run")
    b.set_defaults(func=cmd_bench)

    from . import cli_dlq, cli_docs, cli_report, cli_tail  # analysts' and integration teams' commands
    for module in (cli_tail, cli_dlq, cli_report, cli_docs):
        module.register(sub)
    from .cli_office import register as register_office
    register_office(sub)  # adjust, claim, api-token
    return p


# commands that talk to a configured broker: they check first that it accepts the client settings
# (KAFKA_CONFIG_*), so wrong credentials fail in seconds with the broker's reason instead of hanging
BROKER_COMMANDS = frozenset({"worker", "topics", "publish", "wait", "close-year", "expire", "rebuild", "simulate",
                             "adjust", "claim", "tail", "dlq", "report"})


def check_broker(args) -> str | None:
    """None when the broker answers with the configured settings, else the error to print."""
    if args.command not in BROKER_COMMANDS or getattr(args, "dry_run", False):
        return None
    from .kafka import BrokerConnectionError, check_connection
    try:
        s = settings()
        check_connection(s.bootstrap, timeout=s.connect_timeout)
    except BrokerConnectionError as exc:
        return f"harmony {args.command}: {exc}"
    return None


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=os.environ.get("HARMONY_LOGLEVEL", "WARNING").upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    locate_engine(args)
    from .settings_errors import SettingsError
    try:
        problem = check_broker(args)
        if problem:
            print(problem, file=sys.stderr)
            return 2
        if args.command == "dev" or (args.command == "worker" and not args.plain):
            signal.signal(signal.SIGTERM, signal.default_int_handler)
        return args.func(args) or 0
    except SettingsError as exc:  # a wrong environment variable: say which, no traceback
        for line in exc.problems:
            print(f"harmony {args.command}: {line}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
