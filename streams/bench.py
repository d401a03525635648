"""`harmony bench`: end-to-end throughput and latency of the engine, in one run.

Against a private Tansu broker and redis-server it starts (or the configured
KAFKA_BOOTSTRAP_SERVERS / REDIS_URL, unless ``--private``), with topic names unique to the run.
Traffic comes from the seeded generator of ``streams.simulate`` (Avro-encoded before anything is
timed). Phases:

1. engine — the real worker end to end: ``--workers`` × ``harmony worker --plain`` subprocesses
   (the FX rates are published before they start; the enrollments once they have their partitions).
   Timed from the first charge published to the moment the last one's effects are visible: the
   worker writes a partition's position to Redis (``pos:<group>:<topic>:<partition>``) only after
   the batch's member updates are applied and its output records are delivered, so the positions
   reaching the end offsets is that moment.
2. latency — while the worker(s) run: new charges at a fixed offered rate (``--latency-rate`` for
   ``--latency-seconds``); one member charge in ~10 is tagged with its publish time and its source
   record (written by the same atomic member script as the balance) is polled in Redis every 5 ms:
   p50/p95/p99 from ``produce()`` to the balance being visible.
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
   process (``streams.bench_limit``).
6. naive — the same business logic the straightforward way: a faust agent calling the engine's
   code with one message at a time — member loaded and saved per event, outputs sent one by one
   (``streams.bench_naive``) — on the first ``--naive-events`` charges (their members' enrollments
   are applied to its Redis database beforehand, untimed).

Redis databases: engine = the URL's database n, naive = n+1, reference = n+2; with a configured
Redis they must be empty (``--flush`` empties them).

Profiling: ``--profile FILE`` runs worker 0 under cProfile switched on only for the timed engine
phase (``streams.bench_profile``, SIGUSR1/SIGUSR2; slower; the top entries are printed);
``--py-spy FILE`` samples worker 0 with py-spy during the same phase (``pip install py-spy``;
``--py-spy-idle`` samples waiting too: a wall-clock profile). Profiled runs are marked in the report.
"""
from __future__ import annotations

import gc
import hashlib
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from .bench_report import balances_summary, profile_top, py_spy_top, read_members, report
from .simulate import Generator, SimMessage, member_id, publish
from .topics import Topics, create_topics

REPO_ROOT = Path(__file__).resolve().parent.parent
LATENCY_POLL = 0.005
_ASSIGNED = re.compile(rb"assigned (\d+) partitions")


class BenchError(RuntimeError):
    pass


# ---------------------------------------------------------------------------------------- helpers
def with_db(url: str, db: int) -> str:
    u = urlsplit(url)
    return urlunsplit((u.scheme, u.netloc, f"/{db}", u.query, u.fragment))


def url_db(url: str) -> int:
    path = urlsplit(url).path.strip("/")
    return int(path) if path.isdigit() else 0


def proc_status_kb(pid: int, field: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def proc_cpu_seconds(pid: int) -> float | None:
    """utime + stime of a process (all its threads), in seconds."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def _code_version() -> dict:
    """The commit the bench ran on, and the files changed in the working tree (the hot path moves)."""
    def git(*a):
        try:
            return subprocess.run(["git", *a], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""
    dirty = [ln[3:] for ln in git("status", "--porcelain", "--untracked-files=no").splitlines()
             if ln[3:].startswith(("streams/", "processors/", "schemas/"))]
    return {"commit": git("rev-parse", "--short", "HEAD"), "modified": dirty}


def _loadavg() -> list[float] | None:
    try:
        return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    except (OSError, ValueError):
        return None


def machine_busy_seconds() -> float | None:
    """CPU time (all CPUs, all processes) spent busy since boot, from /proc/stat."""
    try:
        f = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError):
        return None
    idle = f[3] + (f[4] if len(f) > 4 else 0)
    return (sum(f[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return 0.0
    k = (len(sorted_values) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)


class Child:
    """A subprocess of the bench (worker, naive app, limit) with its own log file."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], workdir: Path):
        self.name = name
        self.log_path = workdir / f"{name}.log"
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(argv, env=env, cwd=workdir, stdin=subprocess.DEVNULL, stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        self.pid = self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def check(self) -> None:
        if not self.alive():
            raise BenchError(f"{self.name} exited with code {self.proc.returncode}; log {self.log_path}:\n"
                             f"{self.tail()}")

    def log_bytes(self) -> bytes:
        try:
            return self.log_path.read_bytes()
        except OSError:
            return b""

    def tail(self, n: int = 25) -> str:
        return "\n".join(self.log_bytes().decode(errors="replace").splitlines()[-n:])

    def stop(self, timeout: float = 30.0, sig: int = signal.SIGTERM) -> int | None:
        if self.alive():
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode


def child_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    env.update({k: str(v) for k, v in extra.items()})
    return env


# ---------------------------------------------------------------------------------------- the run
class Bench:
    def __init__(self, args, bootstrap: str, redis_url: str, workdir: Path, out=sys.stdout):
        self.a = args
        self.bootstrap = bootstrap
        self.redis_url = redis_url
        self.workdir = workdir
        self.out = out
        self.run_id = f"bench{uuid.uuid4().hex[:8]}"
        base = url_db(redis_url)
        self.db = {"engine": base, "naive": base + 1, "reference": base + 2}
        self.children: list[Child] = []
        self.result: dict = {}
        import redis
        self._redis_mod = redis

    # ------------------------------------------------------------------ small tools
    def say(self, msg: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=self.out, flush=True)

    def redis(self, which: str):
        return self._redis_mod.Redis.from_url(with_db(self.redis_url, self.db[which]), socket_timeout=30)

    def prepare_redis(self, flush: bool) -> None:
        for which in self.db:
            r = self.redis(which)
            n = r.dbsize()
            if n:
                if not flush:
                    raise BenchError(f"Redis database {self.db[which]} ({which}) of {self.redis_url} holds {n} keys; "
                                     "the bench needs empty databases: use --flush, --private or another REDIS_URL "
                                     "database")
                r.flushdb()
            r.close()

    def producer(self, **kw):
        from .kafka import CONSUMER_DEFAULTS, make_producer
        return make_producer(self.bootstrap, **{"queue.buffering.max.messages": 1_000_000, **kw})

    def spawn(self, name: str, argv: list[str], **env) -> Child:
        c = Child(name, argv, child_env(**env), self.workdir)
        self.children.append(c)
        return c

    def spawn_worker(self, name: str, topics: Topics, group: str, db: str, profile: str | None = None) -> Child:
        if profile:  # cProfile switched on/off by SIGUSR1/SIGUSR2 around the timed phase
            argv = [sys.executable, "-m", "streams.bench_profile", profile, "worker", "--plain"]
        else:
            argv = [sys.executable, "-m", "streams.cli", "worker", "--plain"]
        env = {"KAFKA_BOOTSTRAP_SERVERS": self.bootstrap, "REDIS_URL": with_db(self.redis_url, self.db[db]),
               "HARMONY_TOPIC_PREFIX": topics.prefix, "HARMONY_GROUP": group,
               "HARMONY_SESSION_TIMEOUT_MS": "6000", "HARMONY_LOGLEVEL": "INFO"}
        return self.spawn(name, argv, **env)

    def wait_assigned(self, workers: list[Child], total: int, timeout: float = 45.0) -> float:
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
            if all(n for n in last) and sum(last) == total:
                return time.perf_counter() - started
            time.sleep(0.1)
        self.say(f"WARNING: no 'assigned {total} partitions' in the worker logs after {timeout:.0f} s; going on")
        return time.perf_counter() - started

    def positions(self, r, group: str, targets: dict[str, int]) -> dict[str, int]:
        from .settings import Settings
        s = Settings(group=group)
        keys = [(t, s.position_key(t, p)) for t in targets for p in range(self.a.partitions)]
        values = r.mget([k for _, k in keys])
        done: Counter = Counter()
        for (t, _), v in zip(keys, values):
            if v is not None:
                done[t] += int(v)
        return {t: done[t] for t in targets}

    def wait_positions(self, r, group: str, targets: dict[str, int], timeout: float, watch: list[Child],
                       poll: float = 0.01) -> float:
        """perf_counter() when the positions of ``group`` reach ``targets`` (messages per topic)."""
        deadline = time.monotonic() + timeout
        last_check = 0.0
        while True:
            now = time.perf_counter()
            pos = self.positions(r, group, targets)
            if all(pos[t] >= n for t, n in targets.items()):
                return now
            if time.monotonic() > deadline:
                raise BenchError(f"{group}: positions {pos} did not reach {targets} in {timeout:.0f} s")
            if now - last_check > 1.0:
                for c in watch:
                    c.check()
                last_check = now
            time.sleep(poll)

    def publish(self, topics: Topics, msgs: list[SimMessage], rate: float = 0.0, **producer_conf) -> float:
        p = self.producer(**producer_conf)
        return publish(p, topics, msgs, rate)

    def publish_async(self, topics: Topics, msgs: list[SimMessage], **producer_conf) -> tuple[threading.Thread, dict]:
        box: dict = {}

        def run():
            try:
                box["seconds"] = self.publish(topics, msgs, **producer_conf)
            except BaseException as exc:  # noqa: BLE001 - reported by the caller
                box["error"] = exc
        t = threading.Thread(target=run, daemon=True)
        t.start()
        return t, box

    @staticmethod
    def counts(msgs: list[SimMessage], topics: Topics) -> dict[str, int]:
        c = Counter(getattr(topics, m.topic) for m in msgs)
        return dict(c)

    # ------------------------------------------------------------------ the phases
    def run(self) -> dict:
        a = self.a
        skip = set(filter(None, (a.skip or "").split(",")))
        self.prepare_redis(a.flush)
        res = self.result
        res["config"] = {"events": a.events, "members": a.members, "partitions": a.partitions, "workers": a.workers,
                         "naive_events": min(a.naive_events, a.events), "latency_rate": a.latency_rate,
                         "latency_seconds": a.latency_seconds, "seed": a.seed, "start": a.start, "days": a.days,
                         "zipf": a.zipf, "batch_size": int(os.environ.get("HARMONY_BATCH_SIZE", "2000")),
                         "profiled": bool(a.profile or a.py_spy), "skipped": sorted(skip)}
        res["environment"] = {"code": _code_version(), "loadavg_at_start": _loadavg(), "bootstrap": self.bootstrap,
                              "redis": self.redis_url, "started": self.started,
                              "cpus": os.cpu_count(), "python": platform.python_version(), "run_id": self.run_id,
                              "workdir": str(self.workdir)}

        self.say(f"generating {a.events:,} charges for {a.members:,} members (seed {a.seed}) ...")
        t0 = time.perf_counter()
        gen = Generator(a.members, a.events, seed=a.seed, start=date.fromisoformat(a.start), days=a.days, zipf=a.zipf)
        fx = gen.fx_rates()
        enrollments = gen.enrollments()
        charges = gen.charges(a.events)
        summary = gen.summary(charges)
        n_lat = int(a.latency_rate * a.latency_seconds) if "latency" not in skip else 0
        latency_charges = gen.charges(n_lat)
        gen_seconds = time.perf_counter() - t0
        res["generate"] = {"seconds": round(gen_seconds, 2), "fx_rates": len(fx), "enrollments": len(enrollments),
                           "charges": len(charges), "latency_charges": len(latency_charges), "summary": summary}
        for line in summary:
            self.say("  " + line)
        self.say(f"generated and encoded {len(fx) + len(enrollments) + len(charges) + len(latency_charges):,} "
                 f"messages in {gen_seconds:.1f} s")
        gc.collect()
        gc.freeze()  # the pre-encoded traffic is never garbage: keep the collector off it

        E = Topics(f"{self.run_id}.e.")
        create_topics(self.bootstrap, E, partitions=a.partitions)
        self.engine_phase(E, fx, enrollments, charges, latency_charges, skip)
        if a.check:
            self.check_phase(E, enrollments, charges + latency_charges)
        if a.compare:
            self.compare_phase(a.compare)
        if "limit" not in skip:
            self.limit_phase(E, len(enrollments) + len(charges) + len(latency_charges))
        if "naive" not in skip:
            self.naive_phase(fx, enrollments, charges[:a.naive_events])
        eng = res.get("engine", {}).get("events_per_s")
        res["ratios"] = {}
        if eng and res.get("naive", {}).get("events_per_s"):
            res["ratios"]["engine_vs_naive"] = round(eng / res["naive"]["events_per_s"], 2)
        if eng and res.get("limit", {}).get("events_per_s"):
            res["ratios"]["engine_vs_limit"] = round(eng / res["limit"]["events_per_s"], 4)
        return res

    # ......................................................................... engine + latency
    def engine_phase(self, E: Topics, fx, enrollments, charges, latency_charges, skip) -> None:
        a, res = self.a, self.result
        group = f"{self.run_id}-engine"
        r = self.redis("engine")
        self.publish(E, fx)
        mem0 = r.info("memory")["used_memory"]
        self.say(f"engine: starting {a.workers} worker(s) ...")
        t_spawn = time.perf_counter()
        workers = [self.spawn_worker(f"worker{i}", E, group, "engine",
                                     profile=a.profile if (i == 0 and a.profile) else None)
                   for i in range(a.workers)]
        inputs = [t for t in E.inputs if t != E.fx]
        join = self.wait_assigned(workers, len(inputs) * a.partitions)
        startup = time.perf_counter() - t_spawn
        self.say(f"engine: {a.workers} worker(s) consuming after {startup:.1f} s; publishing {len(enrollments):,} "
                 "enrollments ...")
        t0 = time.perf_counter()
        self.publish(E, enrollments)
        t1 = self.wait_positions(r, group, self.counts(enrollments, E), 600, workers)
        enroll_seconds = t1 - t0
        # a late joiner would rebalance in the middle of the timed phase: settle first
        self.wait_assigned(workers, len(inputs) * a.partitions)
        spy = self.start_py_spy(workers[0]) if a.py_spy else None
        if a.profile:
            workers[0].proc.send_signal(signal.SIGUSR1)
        cpu0 = self.cpu_snapshot(workers)
        self.say(f"engine: enrollments done ({len(enrollments) / enroll_seconds:,.0f}/s); "
                 f"publishing {len(charges):,} charges, timing until the last effect is visible ...")
        t0 = time.perf_counter()
        pub, box = self.publish_async(E, charges)
        timeout = max(300.0, len(charges) / 200)
        t1 = self.wait_positions(r, group, self.counts(charges, E), timeout, workers)
        pub.join()
        if "error" in box:
            raise BenchError(f"publishing failed: {box['error']}")
        seconds = t1 - t0
        cpu1 = self.cpu_snapshot(workers)
        if a.profile:
            workers[0].proc.send_signal(signal.SIGUSR2)
        if spy is not None:
            self.stop_py_spy(spy)
        mem1 = r.info("memory")["used_memory"]
        res["engine"] = {
            "workers": a.workers, "events": len(charges), "seconds": round(seconds, 3),
            "events_per_s": round(len(charges) / seconds, 1),
            "publish_seconds": round(box.get("seconds", 0.0), 3),
            "startup_seconds": round(startup, 2), "join_seconds": round(join, 2),
            "enrollments": {"events": len(enrollments), "seconds": round(enroll_seconds, 3),
                            "events_per_s": round(len(enrollments) / enroll_seconds, 1)},
            "cpu_seconds": {k: round(cpu1[k] - cpu0[k], 2) for k in cpu0 if cpu0[k] is not None and cpu1.get(k)},
        }
        cpu = res["engine"]["cpu_seconds"]
        if "machine" in cpu:
            ours = sum(v for k, v in cpu.items() if k != "machine")
            cpu["other_processes"] = round(max(cpu["machine"] - ours, 0.0), 2)
            res["engine"]["machine_cpu_capacity_seconds"] = round(seconds * (os.cpu_count() or 1), 1)
        self.say(f"engine: {len(charges):,} charges in {seconds:.1f} s = {len(charges) / seconds:,.0f}/s")
        members = len(enrollments)
        res["memory"] = {"redis_used_memory_delta": mem1 - mem0,
                         "redis_bytes_per_member": round((mem1 - mem0) / max(members, 1), 1),
                         "members": members, "member_keys_sampled": self.member_key_sizes(r, members)}

        if "latency" not in skip and latency_charges:
            res["latency"] = self.latency(E, r, group, latency_charges, workers)
        hwm = {w.name: proc_status_kb(w.pid, "VmHWM") for w in workers}
        res["memory"]["worker_peak_rss_kb"] = hwm
        res["memory"]["worker_peak_rss_mb"] = round(max(v or 0 for v in hwm.values()) / 1024, 1)
        res["memory"]["worker_peak_rss_mb_total"] = round(sum(v or 0 for v in hwm.values()) / 1024, 1)
        rss = ", ".join(f"{k} {(v or 0) / 1024:.0f} MB" for k, v in hwm.items())
        self.say(f"engine: stopping worker(s); peak RSS {rss}")
        for w in workers:
            w.stop()
        if a.profile:
            res["profile"] = {"file": a.profile, "top": profile_top(a.profile, 15)}
        if a.py_spy:
            res.setdefault("profile", {})["py_spy"] = {"file": a.py_spy, "top": py_spy_top(a.py_spy, 15)}
        res["balances"] = balances_summary(read_members(r, members))
        r.close()

    def cpu_snapshot(self, workers: list[Child]) -> dict[str, float | None]:
        snap = {w.name: proc_cpu_seconds(w.pid) for w in workers}
        snap["machine"] = machine_busy_seconds()
        snap["bench"] = proc_cpu_seconds(os.getpid())
        for name, pid in (self.server_pids or {}).items():
            snap[name] = proc_cpu_seconds(pid)
        return snap

    def member_key_sizes(self, r, members: int, sample: int = 1000) -> dict:
        import random
        rnd = random.Random(self.a.seed)
        ids = [member_id(rnd.randrange(members)) for _ in range(min(sample, members))]
        from .member_store import member_keys
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

    def latency(self, E: Topics, r, group: str, msgs: list[SimMessage], workers: list[Child]) -> dict:
        a = self.a
        rate = a.latency_rate
        every = max(1, round(rate / 200))  # ~200 samples a second
        from .member_store import member_keys
        tagged = {}
        k = 0
        for i, m in enumerate(msgs):
            if m.member_id:
                if k % every == 0:
                    tagged[i] = (member_keys(m.member_id)[1], m.source_id)
                k += 1
        self.say(f"latency: {len(msgs):,} charges at {rate:,.0f}/s offered, {len(tagged):,} tagged ...")
        producer = self.producer()
        names = {attr: getattr(E, attr) for attr in {m.topic for m in msgs}}
        pending: dict[int, float] = {}
        lat: list[float] = []
        started = time.perf_counter()
        i, n = 0, len(msgs)
        deadline = None
        last_check = started
        while i < n or pending:
            now = time.perf_counter()
            due = min(n, int((now - started) * rate) + 1)
            while i < due:
                m = msgs[i]
                while True:
                    try:
                        producer.produce(names[m.topic], m.value, m.key)
                        break
                    except BufferError:
                        producer.poll(0.01)
                if i in tagged:
                    pending[i] = time.perf_counter()
                i += 1
            producer.poll(0)
            if i >= n and deadline is None:
                offered_seconds = time.perf_counter() - started
                deadline = time.monotonic() + 120
            if pending:
                idx = list(pending)
                pipe = r.pipeline(transaction=False)
                for j in idx:
                    pipe.hexists(*tagged[j])
                found = pipe.execute()
                seen = time.perf_counter()
                for j, ok in zip(idx, found):
                    if ok:
                        lat.append(seen - pending.pop(j))
            if deadline is not None and time.monotonic() > deadline:
                raise BenchError(f"latency: {len(pending)} tagged charges never became visible (polled: HEXISTS "
                                 "{m:ID}:src <source id>; did the Redis layout change?)")
            if now - last_check > 1.0:
                for w in workers:
                    w.check()
                last_check = now
            time.sleep(max(0.0, LATENCY_POLL - (time.perf_counter() - now)))
        producer.flush(30)
        # everything (untagged too) applied before the memory/balances are read
        self.wait_positions(r, group, {t: c for t, c in self._totals(E).items()}, 300, workers)
        half = len(lat) // 2
        trend = [round(percentile(sorted(x * 1000 for x in part), 50), 2) for part in (lat[:half], lat[half:])]
        lat.sort()
        ms = [x * 1000 for x in lat]
        out = {"offered_rate": rate, "events": n, "achieved_rate": round(n / offered_seconds, 1),
               "samples": len(ms), "poll_ms": LATENCY_POLL * 1000,
               "p50_ms": round(percentile(ms, 50), 2), "p95_ms": round(percentile(ms, 95), 2),
               "p99_ms": round(percentile(ms, 99), 2), "max_ms": round(ms[-1], 2) if ms else 0.0,
               "min_ms": round(ms[0], 2) if ms else 0.0,
               # growing from the first to the second half: the worker(s) fell behind the offered rate
               "p50_first_half_ms": trend[0], "p50_second_half_ms": trend[1],
               "consumer_fetch_wait_max_ms": int(os.environ.get("KAFKA_CONFIG_FETCH_WAIT_MAX_MS",
                                                                 _consumer_defaults().get("fetch.wait.max.ms", 500)))}
        self.say(f"latency: p50 {out['p50_ms']:.0f} ms, p95 {out['p95_ms']:.0f} ms, p99 {out['p99_ms']:.0f} ms "
                 f"({len(ms):,} samples)")
        return out

    def _totals(self, E: Topics) -> dict[str, int]:
        """Messages in each member input topic of E, from the partitions' true ends."""
        from .lag import LagProbe
        topics = [E.postings, E.bills, E.enrollments]
        with LagProbe(self.bootstrap) as probe:
            ends = probe.end_offsets(topics, timeout=30)
        out: Counter = Counter()
        for (t, _), end in ends.items():
            out[t] += end
        return {t: out[t] for t in topics}

    # ......................................................................... py-spy
    def start_py_spy(self, worker: Child):
        exe = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        if not Path(exe).exists():
            raise BenchError("--py-spy needs py-spy: pip install py-spy")
        argv = [exe, "record", "--pid", str(worker.pid), "--rate", "200", "--format", "raw", "--nonblocking",
                "--output", self.a.py_spy] + (["--idle"] if getattr(self.a, "py_spy_idle", False) else [])
        return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=open(self.workdir / "py-spy.log", "wb"),
                                start_new_session=True)

    @staticmethod
    def stop_py_spy(proc) -> None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    # ......................................................................... check
    def check_phase(self, E: Topics, enrollments, all_charges) -> None:
        a, res = self.a, self.result
        group = f"{self.run_id}-reference"
        r = self.redis("reference")
        self.say("check: a single reference worker replays the same topics into another Redis database ...")
        w = self.spawn_worker("reference", E, group, "reference")
        t0 = time.perf_counter()
        targets = self._totals(E)
        self.wait_positions(r, group, targets, max(600.0, sum(targets.values()) / 200), [w], poll=0.1)
        took = time.perf_counter() - t0
        w.stop()
        ref = read_members(r, len(enrollments))
        r.close()
        e = self.redis("engine")
        got = read_members(e, len(enrollments))
        e.close()
        diff = [mid for mid in ref if ref[mid] != got.get(mid)]
        res["check"] = {"reference_workers": 1, "compared_members": len(ref), "mismatches": len(diff),
                        "mismatch_examples": {mid: {"measured": list(got.get(mid) or ()), "reference": list(ref[mid])}
                                              for mid in diff[:5]},
                        "reference_seconds": round(took, 1),
                        "reference_digest": balances_summary(ref)["digest"], "ok": not diff}
        self.say(f"check: {len(ref):,} members compared with a 1-worker reference: "
                 + ("identical" if not diff else f"{len(diff):,} DIFFER"))

    def compare_phase(self, path: str) -> None:
        res = self.result
        other = json.loads(Path(path).read_text())
        keys = ("events", "members", "seed", "start", "days", "zipf")
        same_traffic = all(other.get("config", {}).get(k) == res["config"].get(k) for k in keys) and \
            other.get("generate", {}).get("latency_charges") == res["generate"]["latency_charges"]
        mine, theirs = res["balances"], other.get("balances", {})
        sample_diff = {m: (mine["sample"].get(m), b) for m, b in theirs.get("sample", {}).items()
                       if mine["sample"].get(m) != b}
        res["compare"] = {"file": path, "same_traffic": same_traffic,
                          "digest_equal": mine["digest"] == theirs.get("digest"),
                          "sample_mismatches": len(sample_diff),
                          "other_workers": other.get("config", {}).get("workers")}
        res["compare"]["ok"] = same_traffic and res["compare"]["digest_equal"] and not sample_diff
        self.say(f"compare with {path} ({res['compare']['other_workers']} worker(s)): "
                 + ("identical balances" if res["compare"]["ok"] else f"{res['compare']}"))

    # ......................................................................... limit
    def limit_phase(self, E: Topics, expect: int) -> None:
        out_topics = Topics(f"{self.run_id}.limit.")
        out = out_topics.prefix + "passthrough.v1"
        from confluent_kafka.admin import NewTopic
        from .kafka import make_admin
        admin = make_admin(self.bootstrap)
        for f in admin.create_topics([NewTopic(out, self.a.partitions, 1)]).values():
            f.result()
        self.say(f"limit: pass-through of {expect:,} messages (consume, produce the same bytes, flush, commit) ...")
        c = self.spawn("limit", [sys.executable, "-m", "streams.bench_limit", "--bootstrap", self.bootstrap,
                                 "--topics", ",".join([E.postings, E.bills, E.enrollments]), "--out", out,
                                 "--expect", str(expect), "--group", f"{self.run_id}-limit",
                                 "--batch", str(int(os.environ.get("HARMONY_BATCH_SIZE", "2000")))])
        try:
            c.proc.wait(600)
        except subprocess.TimeoutExpired:
            c.stop()
            raise BenchError("limit: no result in 600 s")
        c.stop()
        lines = [ln for ln in c.log_bytes().decode(errors="replace").splitlines() if ln.startswith("{")]
        if c.proc.returncode != 0 or not lines:
            raise BenchError(f"limit failed ({c.proc.returncode}):\n{c.tail()}")
        self.result["limit"] = json.loads(lines[-1])
        self.say(f"limit: {self.result['limit']['events_per_s']:,.0f} messages/s")

    # ......................................................................... naive
    def naive_phase(self, fx, enrollments, charges) -> None:
        if not charges:
            return
        N = Topics(f"{self.run_id}.n.")
        create_topics(self.bootstrap, N, partitions=self.a.partitions)
        wanted = {m.member_id for m in charges if m.member_id}
        enr = [m for m in enrollments if m.member_id in wanted]
        # aiokafka (under faust) has no lz4 codec here: the naive app's inputs are sent uncompressed
        plain = {"compression.type": "none"}
        self.publish(N, fx, **plain)
        from .bench_naive import MARK
        r = self.redis("naive")
        self.say(f"naive: faust agent, one event at a time, {len(charges):,} charges (their {len(enr):,} members' "
                 "enrollments applied to its Redis database beforehand, untimed) ...")
        self.preload_enrollments(N, enr)
        first, last = 1, len(charges)
        c = self.spawn("naive", [sys.executable, "-m", "streams.bench_naive"],
                       KAFKA_BOOTSTRAP_SERVERS=self.bootstrap, REDIS_URL=with_db(self.redis_url, self.db["naive"]),
                       HARMONY_TOPIC_PREFIX=N.prefix, HARMONY_GROUP=f"{self.run_id}-naive",
                       BENCH_NAIVE_MARKS=f"{first},{last}", BENCH_NAIVE_DATADIR=str(self.workdir / "naive-data"))
        try:
            # a warm-up charge that is not timed (the consumer group joins; the agent starts)
            self.publish(N, charges[:1], **plain)
            self._wait_mark(r, MARK + str(first), 180, c)
            charges = charges[1:]
            t0 = time.time()
            pub, box = self.publish_async(N, charges, **plain)
            t1 = self._wait_mark(r, MARK + str(last), max(300.0, len(charges) / 50), c)
            pub.join()
            seconds = t1 - t0
            hwm = proc_status_kb(c.pid, "VmHWM")
        finally:
            c.stop(timeout=20, sig=signal.SIGTERM)
        self.result["naive"] = {"events": len(charges), "seconds": round(seconds, 3),
                                "events_per_s": round(len(charges) / seconds, 1),
                                "enrollments": len(enr), "peak_rss_mb": round((hwm or 0) / 1024, 1)}
        self.say(f"naive: {len(charges):,} charges in {seconds:.1f} s = {len(charges) / seconds:,.0f}/s")
        r.close()

    def preload_enrollments(self, N: Topics, enr: list[SimMessage]) -> None:
        """Apply enrollments to the naive app's Redis database with the batch engine, in this process."""
        from .engine import Message
        from .settings import Settings
        from .worker import Worker
        s = Settings(bootstrap=self.bootstrap, redis_url=with_db(self.redis_url, self.db["naive"]), topics=N,
                     group=f"{self.run_id}-naive")
        engine = Worker(s).build()
        engine.changelog = False
        for k in range(0, len(enr), 2000):
            engine.process([Message(N.enrollments, 0, i, m.key, m.value) for i, m in enumerate(enr[k:k + 2000], k)])
        engine.store.redis.close()

    def _wait_mark(self, r, key: str, timeout: float, child: Child) -> float:
        """The time.time() the naive app wrote under ``key`` (when it had handled that many events)."""
        from .bench_naive import DONE
        deadline = time.monotonic() + timeout
        last_check = 0.0
        while True:
            v = r.get(key)
            if v is not None:
                return float(v)
            now = time.monotonic()
            if now > deadline:
                raise BenchError(f"naive: {int(r.get(DONE) or 0)} events handled, no {key} after {timeout:.0f} s; "
                                 f"log {child.log_path}:\n{child.tail()}")
            if now - last_check > 1.0:
                child.check()
                if b"Crashed reason" in child.log_bytes():
                    raise BenchError(f"naive: the faust agent crashed; log {child.log_path}:\n{child.tail()}")
                last_check = now
            time.sleep(0.01)

    started: list[str] = []
    server_pids: dict[str, int] | None = None

    def cleanup(self) -> None:
        for c in self.children:
            if c.alive():
                c.stop(timeout=10)


# ---------------------------------------------------------------------------------------- balances
def main(args) -> int:
    from .devstack import RedisServer, TansuBroker

    args.zipf = getattr(args, "zipf", 0.8)
    for k, v in (("check", False), ("compare", None), ("profile", None), ("py_spy", None), ("private", False),
                 ("flush", False), ("skip", ""), ("keep", False), ("start", "2026-04-01"), ("days", 180)):
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
        if not bootstrap:
            broker = TansuBroker(workdir=workdir / "tansu").start()
            started.append(broker)
            bootstrap = broker.bootstrap
            server_pids["tansu"] = broker.proc.pid
        if not redis_url:
            rs = RedisServer(workdir=workdir / "redis", appendonly=True, appendfsync="everysec").start()
            started.append(rs)
            redis_url = rs.url
            server_pids["redis"] = rs.proc.pid
        bench = Bench(args, bootstrap, redis_url, workdir)
        bench.started = sorted(server_pids)
        bench.server_pids = server_pids
        total0 = time.perf_counter()
        res = bench.run()
        res["environment"]["bench_seconds"] = round(time.perf_counter() - total0, 1)
        res["environment"]["loadavg_at_end"] = _loadavg()
        print(report(res))
        if args.json_out:
            Path(args.json_out).write_text(json.dumps(res, indent=2, default=str) + "\n")
            print(f"JSON written to {args.json_out}")
        ok = True
        failed = (res.get("check") and not res["check"]["ok"]) or (res.get("compare") and not res["compare"]["ok"])
        return 1 if failed else 0
    except BenchError as exc:
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


def _consumer_defaults() -> dict:
    from .kafka import CONSUMER_DEFAULTS
    return CONSUMER_DEFAULTS
