"""`harmony bench`: end-to-end throughput and latency of the engine, in one run.

Against a private Tansu broker and redis-server it starts (or the configured
KAFKA_BOOTSTRAP_SERVERS / REDIS_URL, unless ``--private``), with topic names unique to the run.
Traffic comes from the seeded generator of ``streams.simulate.generator`` (Avro-encoded before anything is
timed). Phases:

0. ceiling — in the bench process, before anything runs: decode, rules and output encoding of the
   first 50,000 charges with every member in memory (no Redis, no Kafka), µs per event each: the
   floor of the engine's cost per event, so ``1 / sum`` is the most one process can do here
   (``bench.ceiling``).
1. engine — the real worker end to end: ``--workers`` × ``harmony worker --plain`` subprocesses
   (the FX rates are published before they start; the enrollments once they have their partitions).
   Timed from the first charge published to the moment the last one's effects are visible: the
   worker writes a partition's position to Redis (``pos:<group>:<topic>:<partition>``) only after
   the batch's member updates are applied and its output records are delivered, so the positions
   reaching the end offsets is that moment.
2. latency — while the worker(s) run: new charges at a fixed offered rate (``--latency-rate`` for
   ``--latency-seconds``, then again at each ``--latency-sweep`` rate); ~200 member charges a
   second are tagged with their publish time, and the source record of the oldest pending one of
   each partition (written by the same atomic member script as the balance) is polled in Redis
   every 5 ms: p50/p95/p99 from ``produce()`` to the balance being visible, plus produce -> broker
   acknowledgement and each process's CPU share meanwhile.
3. memory — peak RSS of each worker (``VmHWM`` of /proc/PID/status, read before it stops) and the
   Redis ``used_memory`` growth over the enrollments + charges, per member (plus the average
   ``MEMORY USAGE`` of each member key type over a sample of members).
4. check (``--check``) — a single reference worker replays the same topics into another Redis
   database under another group; every member's balance, lots and qualifying counters must equal
   the measured run's (so ``--workers 2 --check`` shows 2 workers = 1 worker). A digest of all
   balances is in the JSON; ``--compare FILE`` compares it (and a sample of balances) with an
   earlier bench JSON of the same traffic.
5. limit — confluent-kafka pass-through of the same messages (consume in batches, produce the
   same bytes to an output topic, wait for delivery, commit; no decoding, no Redis), in its own
   process (``bench.limit``).
6. naive — the same business logic the straightforward way: a faust agent calling the engine's
   code with one message at a time — member loaded and saved per event, outputs sent one by one
   (``bench.naive``) — on the first ``--naive-events`` charges (their members' enrollments
   are applied to its Redis database beforehand, untimed).

Redis databases: engine = the URL's database n, naive = n+1, reference = n+2; with a configured
Redis they must be empty (``--flush`` empties them).

Profiling: ``--profile FILE`` runs worker 0 under cProfile switched on only for the timed engine
phase (``bench.profiling``, SIGUSR1/SIGUSR2; slower; the top entries are printed);
``--py-spy FILE`` samples worker 0 with py-spy during the same phase (``pip install py-spy``;
``--py-spy-idle`` samples waiting too: a wall-clock profile). Profiled runs are marked in the report.

This module holds the command (``main``) and the order of the phases (``run``); the rest is in
``bench.base`` (the run's state, child processes, /proc readings), ``bench_traffic``
(generating, publishing, waiting for positions), ``bench_engine`` (1 and 3, profiling hooks),
``bench_latency`` (2), ``bench_ceiling`` (0), ``bench_check`` (4), ``bench_baselines`` (5 and 6, the bench's side) and
``bench_report`` (balances read back, the printed table).
"""
from __future__ import annotations

import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

from bench.base import Bench, BenchError, code_version, loadavg, sweep_rates
from bench.baselines import limit_phase, naive_phase
from bench.ceiling import ceiling_phase
from bench.check import check_phase, compare_phase
from bench.engine_phase import engine_phase
from bench.report import report
from bench.traffic import generate
from streams.kafka.admin import create_topics
from streams.kafka.topics import Topics
from streams.runtime.settings import Settings


# ---------------------------------------------------------------------------------------- the run
def run(b: Bench) -> dict:
    a = b.a
    skip = set(filter(None, (a.skip or "").split(",")))
    b.prepare_redis(a.flush)
    res = b.result
    res["config"] = {"events": a.events, "members": a.members, "partitions": a.partitions, "workers": a.workers,
                     "naive_events": min(a.naive_events, a.events), "latency_rate": a.latency_rate,
                     "latency_sweep": sweep_rates(a),
                     "latency_seconds": a.latency_seconds, "seed": a.seed, "start": a.start, "days": a.days,
                     "zipf": a.zipf, "batch_size": Settings().batch_size,
                     "profiled": bool(a.profile or a.py_spy), "skipped": sorted(skip)}
    res["environment"] = {"code": code_version(), "loadavg_at_start": loadavg(), "bootstrap": b.bootstrap,
                          "redis": b.redis_url, "started": b.started,
                          "cpus": os.cpu_count(), "python": platform.python_version(), "run_id": b.run_id,
                          "workdir": str(b.workdir)}
    fx, enrollments, charges, latency_charges = generate(b, skip)

    E = Topics(f"{b.run_id}.e.")
    create_topics(b.bootstrap, E, partitions=a.partitions)
    if "ceiling" not in skip:
        ceiling_phase(b, E, fx, enrollments, charges)
    engine_phase(b, E, fx, enrollments, charges, latency_charges, skip)
    if a.check:
        check_phase(b, E, enrollments, charges + latency_charges)
    if a.compare:
        compare_phase(b, a.compare)
    if "limit" not in skip:
        limit_phase(b, E, len(enrollments) + len(charges) + len(latency_charges))
    if "naive" not in skip:
        naive_phase(b, fx, enrollments, charges[:a.naive_events])
    eng = res.get("engine", {}).get("events_per_s")
    res["ratios"] = {}
    if eng and res.get("naive", {}).get("events_per_s"):
        res["ratios"]["engine_vs_naive"] = round(eng / res["naive"]["events_per_s"], 2)
    if eng and res.get("limit", {}).get("events_per_s"):
        res["ratios"]["engine_vs_limit"] = round(eng / res["limit"]["events_per_s"], 4)
    return res


# ---------------------------------------------------------------------------------------- main
def main(args) -> int:
    from streams.devstack.kafka import KafkaCluster
    from streams.devstack.process import DevStackError
    from streams.devstack.redis import RedisServer
    from streams.devstack.tansu import TansuBroker

    args.zipf = getattr(args, "zipf", 0.8)
    for k, v in (("check", False), ("compare", None), ("profile", None), ("py_spy", None), ("private", False),
                 ("flush", False), ("skip", ""), ("keep", False), ("latency_sweep", ""), ("start", "2026-04-01"),
                 ("days", 180)):
        if not hasattr(args, k):
            setattr(args, k, v)
    if args.profile:
        args.profile = str(Path(args.profile).resolve())
    if args.py_spy:
        args.py_spy = str(Path(args.py_spy).resolve())
    workdir = Path(tempfile.mkdtemp(prefix="harmony-bench-"))
    started: list = []
    bench = None
    ok = False
    try:
        bootstrap = None if args.private else os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
        redis_url = None if args.private else os.environ.get("REDIS_URL")
        server_pids = {}
        broker_kind = getattr(args, "broker", "tansu") or "tansu"
        if not bootstrap and broker_kind == "kafka":  # Apache Kafka, one KRaft node (tools/kafka jars)
            kafka = KafkaCluster(nodes=1, workdir=workdir / "kafka").start()
            started.append(kafka)
            bootstrap = kafka.bootstrap
            server_pids["kafka"] = kafka.nodes[0].pid
        elif not bootstrap:
            broker = TansuBroker(workdir=workdir / "tansu").start()
            started.append(broker)
            bootstrap = broker.bootstrap
            server_pids["tansu"] = broker.pid
        if not redis_url:
            rs = RedisServer(workdir=workdir / "redis", appendonly=True, appendfsync="everysec").start()
            started.append(rs)
            redis_url = rs.url
            server_pids["redis"] = rs.pid
        bench = Bench(args, bootstrap, redis_url, workdir)
        bench.started = sorted(server_pids)
        bench.server_pids = server_pids
        total0 = time.perf_counter()
        res = run(bench)
        res["environment"]["bench_seconds"] = round(time.perf_counter() - total0, 1)
        res["environment"]["loadavg_at_end"] = loadavg()
        print(report(res))
        if args.json_out:
            Path(args.json_out).write_text(json.dumps(res, indent=2, default=str) + "\n")
            print(f"JSON written to {args.json_out}")
        ok = True
        failed = (res.get("check") and not res["check"]["ok"]) or (res.get("compare") and not res["compare"]["ok"])
        return 1 if failed else 0
    except (BenchError, DevStackError) as exc:
        print(f"harmony bench: {exc}", file=sys.stderr)
        print(f"logs kept in {workdir}", file=sys.stderr)
        return 1
    finally:
        if bench is not None:
            bench.cleanup()
        for p in reversed(started):
            p.stop()
        if ok and not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)

