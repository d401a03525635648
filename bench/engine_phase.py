"""`harmony bench` engine phase: ``harmony worker --plain`` child processes timed end to end (then the
latency phase while they run), their CPU time and peak RSS, the Redis memory per member, and the
cProfile (``bench.profiling``) and py-spy hooks on worker 0."""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from bench.base import Bench, BenchError, Child, cpu_delta, cpu_snapshot, proc_status_kb, sweep_rates, with_db
from bench.latency import latency_phase
from bench.report import balances_summary, profile_top, py_spy_top, read_members
from bench.traffic import counts, publish, publish_async, wait_positions
from streams.devstack.process import stop_child
from streams.kafka.topics import Topics
from streams.simulate.messages import member_id

_ASSIGNED = re.compile(rb"assigned (\d+) partitions")


def spawn_worker(b: Bench, name: str, topics: Topics, group: str, db: str, profile: str | None = None) -> Child:
    if profile:  # cProfile switched on/off by SIGUSR1/SIGUSR2 around the timed phase
        argv = [sys.executable, "-m", "bench.profiling", profile, "worker", "--plain"]
    else:
        argv = [sys.executable, "-m", "streams.cli", "worker", "--plain"]
    env = {"KAFKA_BOOTSTRAP_SERVERS": b.bootstrap, "REDIS_URL": with_db(b.redis_url, b.db[db]),
           "HARMONY_TOPIC_PREFIX": topics.prefix, "HARMONY_GROUP": group,
           "HARMONY_SESSION_TIMEOUT_MS": "6000",
           "HARMONY_LOGLEVEL": os.environ.get("HARMONY_BENCH_WORKER_LOGLEVEL", "INFO")}
    return b.spawn(name, argv, **env)


def wait_assigned(b: Bench, workers: list[Child], total: int, timeout: float = 45.0) -> float:
    """Until every worker logged an assignment ("assigned N partitions", INFO) and their latest ones
    add up to ``total``. Without such log lines (the message changed?) it warns and goes on after
    ``timeout``: the phases then wait for the positions anyway, only less precisely."""
    started = time.perf_counter()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        last = []
        for w in workers:
            w.check()
            found = _ASSIGNED.findall(w.log_bytes())
            last.append(int(found[-1]) if found else None)
        counts = [n for n in last if n]
        if len(counts) == len(last) and sum(counts) == total:
            return time.perf_counter() - started
        time.sleep(0.1)
    b.say(f"WARNING: no 'assigned {total} partitions' in the worker logs after {timeout:.0f} s; going on")
    return time.perf_counter() - started


def engine_phase(b: Bench, E: Topics, fx, enrollments, charges, latency_charges, skip) -> None:
    a, res = b.a, b.result
    group = f"{b.run_id}-engine"
    r = b.redis("engine")
    publish(b, E, fx)
    mem0 = r.info("memory")["used_memory"]
    b.say(f"engine: starting {a.workers} worker(s) ...")
    t_spawn = time.perf_counter()
    workers = [spawn_worker(b, f"worker{i}", E, group, "engine",
                            profile=a.profile if (i == 0 and a.profile) else None)
               for i in range(a.workers)]
    inputs = [t for t in E.inputs if t != E.fx]
    join = wait_assigned(b, workers, len(inputs) * a.partitions)
    startup = time.perf_counter() - t_spawn
    b.say(f"engine: {a.workers} worker(s) consuming after {startup:.1f} s; publishing {len(enrollments):,} "
          "enrollments ...")
    t0 = time.perf_counter()
    publish(b, E, enrollments)
    t1 = wait_positions(b, r, group, counts(enrollments, E), 600, workers)
    enroll_seconds = t1 - t0
    # a late joiner would rebalance in the middle of the timed phase: settle first
    wait_assigned(b, workers, len(inputs) * a.partitions)
    spy = start_py_spy(b, workers[0]) if a.py_spy else None
    if a.profile:
        workers[0].proc.send_signal(signal.SIGUSR1)
    cpu0 = cpu_snapshot(b, workers)
    b.say(f"engine: enrollments done ({len(enrollments) / enroll_seconds:,.0f}/s); "
          f"publishing {len(charges):,} charges, timing until the last effect is visible ...")
    t0 = time.perf_counter()
    pub, box = publish_async(b, E, charges)
    timeout = max(300.0, len(charges) / 200)
    t1 = wait_positions(b, r, group, counts(charges, E), timeout, workers)
    pub.join()
    if "error" in box:
        raise BenchError(f"publishing failed: {box['error']}")
    seconds = t1 - t0
    cpu1 = cpu_snapshot(b, workers)
    if a.profile:
        workers[0].proc.send_signal(signal.SIGUSR2)
    if spy is not None:
        stop_py_spy(spy)
    mem1 = r.info("memory")["used_memory"]
    res["engine"] = {
        "workers": a.workers, "events": len(charges), "seconds": round(seconds, 3),
        "events_per_s": round(len(charges) / seconds, 1),
        "publish_seconds": round(box.get("seconds", 0.0), 3),
        "startup_seconds": round(startup, 2), "join_seconds": round(join, 2),
        "enrollments": {"events": len(enrollments), "seconds": round(enroll_seconds, 3),
                        "events_per_s": round(len(enrollments) / enroll_seconds, 1)},
        "cpu_seconds": cpu_delta(cpu0, cpu1),
        "machine_cpu_capacity_seconds": round(seconds * (os.cpu_count() or 1), 1),
    }
    b.say(f"engine: {len(charges):,} charges in {seconds:.1f} s = {len(charges) / seconds:,.0f}/s")
    members = len(enrollments)
    res["memory"] = {"redis_used_memory_delta": mem1 - mem0,
                     "redis_bytes_per_member": round((mem1 - mem0) / max(members, 1), 1),
                     "members": members, "member_keys_sampled": member_key_sizes(b, r, members)}

    if "latency" not in skip and latency_charges:
        rates = [a.latency_rate] + sweep_rates(a)
        k = 0
        for i, rate in enumerate(rates):
            n = int(rate * a.latency_seconds)
            out = latency_phase(b, E, r, group, latency_charges[k:k + n], workers, rate)
            k += n
            if i == 0:
                res["latency"] = out
            else:
                res.setdefault("latency_sweep", []).append(out)
    hwm = {w.name: proc_status_kb(w.pid, "VmHWM") for w in workers}
    res["memory"]["worker_peak_rss_kb"] = hwm
    res["memory"]["worker_peak_rss_mb"] = round(max(v or 0 for v in hwm.values()) / 1024, 1)
    res["memory"]["worker_peak_rss_mb_total"] = round(sum(v or 0 for v in hwm.values()) / 1024, 1)
    rss = ", ".join(f"{k} {(v or 0) / 1024:.0f} MB" for k, v in hwm.items())
    b.say(f"engine: stopping worker(s); peak RSS {rss}")
    for w in workers:
        w.stop()
    if a.profile:
        res["profile"] = {"file": a.profile, "top": profile_top(a.profile, 15)}
    if a.py_spy:
        res.setdefault("profile", {})["py_spy"] = {"file": a.py_spy, "top": py_spy_top(a.py_spy, 15)}
    res["balances"] = balances_summary(read_members(r, members))
    r.close()


def member_key_sizes(b: Bench, r, members: int, sample: int = 1000) -> dict:
    import random
    rnd = random.Random(b.a.seed)
    ids = [member_id(rnd.randrange(members)) for _ in range(min(sample, members))]
    from streams.redis.keys import member_keys
    pipe = r.pipeline(transaction=False)
    for mid in ids:
        for k in member_keys(mid):
            pipe.execute_command("MEMORY", "USAGE", k, "SAMPLES", "0")
    sizes = pipe.execute()
    names = ("core", "src", "held", "led")
    out = {n: 0 for n in names}
    for i, v in enumerate(sizes):
        out[names[i % 4]] += v or 0
    avg = {n: round(out[n] / len(ids), 1) for n in names}
    avg["total"] = round(sum(out.values()) / len(ids), 1)
    avg["sample"] = len(ids)
    return avg


# ......................................................................... py-spy
def start_py_spy(b: Bench, worker: Child):
    exe = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(exe).exists():
        raise BenchError("--py-spy needs py-spy: pip install py-spy")
    argv = [exe, "record", "--pid", str(worker.pid), "--rate", "200", "--format", "raw", "--nonblocking",
            "--output", b.a.py_spy] + (["--idle"] if getattr(b.a, "py_spy_idle", False) else [])
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=open(b.workdir / "py-spy.log", "wb"),
                            start_new_session=True)


def stop_py_spy(proc) -> None:
    stop_child(proc, signal.SIGINT, 30)
