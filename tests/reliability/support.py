"""Helpers of the reliability tests: worker subprocesses, publishing a stream, and the end-state checks."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import IO

from schemas.codec import Codec
from streams.devstack.process import start_in_own_session, stop_child, tail
from streams.engine.events import to_domain
from streams.kafka.lag import LagProbe
from streams.redis.client import connect
from streams.redis.keys import position_key
from streams.redis.member_store import MemberStore
from streams.web.member_view import member_json
from tests.harness import Publisher, decoded, read_topic

from . import model

ROOT = Path(__file__).resolve().parents[2]
_SCRIPT = Path(sys.executable).with_name("harmony")
HARMONY = [str(_SCRIPT), "worker", "--plain"] if _SCRIPT.exists() else [sys.executable, "-m", "streams.cli",
                                                                        "worker", "--plain"]
# the same worker, with SIGSTOP points (tests/reliability/stopper.py)
STOPPER = [sys.executable, "-m", "tests.reliability.stopper"]


# ------------------------------------------------------------------ worker processes
class WorkerProc:
    """`harmony worker --plain` as a child process in its own session, logging to a file."""

    def __init__(self, env: dict[str, str], log_dir: Path, name: str, argv: list[str] | None = None):
        self.env, self.name = env, name
        self.argv = argv or HARMONY
        self.log_path = Path(log_dir) / f"{name}.log"
        self.proc: subprocess.Popen | None = None
        self._log: IO[bytes] | None = None

    def start(self) -> WorkerProc:
        self._log = open(self.log_path, "ab")
        self.proc = start_in_own_session(self.argv, ROOT, self._log, self.env)
        return self

    @property
    def child(self) -> subprocess.Popen:
        """The child process (an error before start())."""
        if self.proc is None:
            raise RuntimeError(f"{self.name} was not started")
        return self.proc

    @property
    def pid(self) -> int:
        return self.child.pid

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def returncode(self):
        return self.proc.poll() if self.proc else None

    def state(self) -> str:
        """Process state letter from /proc (R, S, T = stopped, Z, ...); '' when gone."""
        try:
            stat = Path(f"/proc/{self.child.pid}/stat").read_text()
            return stat[stat.rindex(")") + 2]
        except (OSError, ValueError):
            return ""

    def signal(self, sig) -> None:
        if self.alive:
            os.kill(self.child.pid, sig)

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM (the worker finishes its batch and leaves the group), SIGKILL if it hangs."""
        if self.alive:
            if self.state() == "T":
                os.kill(self.child.pid, signal.SIGCONT)
            stop_child(self.child, signal.SIGTERM, timeout)
        self._close()

    def kill(self) -> None:
        if self.alive:
            self.child.kill()
            self.child.wait()
        self._close()

    def _close(self) -> None:
        log = getattr(self, "_log", None)
        if log is not None:
            log.close()
            self._log = None

    def log_tail(self, n: int = 30) -> str:
        return tail(self.log_path, n)

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""


class Workers:
    """Starts workers of one group (same topics, Redis, group) and cleans up every one it started."""

    def __init__(self, bootstrap: str, redis_url: str, topics, group: str, log_dir: Path, **env):
        self.base = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": bootstrap, "REDIS_URL": redis_url,
                     "HARMONY_TOPIC_PREFIX": topics.prefix, "HARMONY_GROUP": group,
                     "HARMONY_SESSION_TIMEOUT_MS": "6000", "HARMONY_LOGLEVEL": "INFO",
                     "HARMONY_BATCH_SIZE": "50", "PYTHONUNBUFFERED": "1"}
        for k in ("HARMONY_CRASH_AT", "HARMONY_CRASH_AFTER", "HARMONY_STOP_AT", "HARMONY_STOP_AFTER"):
            self.base.pop(k, None)
        self.base.update({k: str(v) for k, v in env.items()})
        self.log_dir = Path(log_dir)
        self.started: list[WorkerProc] = []

    def start(self, stopper: bool = False, **env) -> WorkerProc:
        name = f"worker{len(self.started)}"
        w = WorkerProc({**self.base, **{k: str(v) for k, v in env.items()}}, self.log_dir, name,
                       STOPPER if stopper else None)
        self.started.append(w)
        return w.start()

    def close(self) -> None:
        for w in self.started:
            w.kill()

    def logs(self) -> str:
        return "\n".join(f"--- {w.name} (rc={w.returncode}):\n{w.log_tail(15)}" for w in self.started)


# ------------------------------------------------------------------ publishing and waiting
def publish(bootstrap: str, topics, events, pace: float = 0.0, chunk: int = 50) -> None:
    pub = Publisher(bootstrap, topics)
    for i, ev in enumerate(events):
        pub.send(ev.kind, ev.obj, key=ev.key)
        if pace and (i + 1) % chunk == 0:
            pub.flush()
            time.sleep(pace)
    pub.flush()


class BackgroundPublisher(threading.Thread):
    """Publishes ``events`` in chunks of ``chunk`` every ``pace`` seconds, in a thread."""

    def __init__(self, bootstrap, topics, events, pace=0.2, chunk=25):
        super().__init__(daemon=True)
        self.args = (bootstrap, topics, events, pace, chunk)
        self.error: BaseException | None = None

    def run(self):
        try:
            publish(*self.args)
        except BaseException as exc:  # noqa: BLE001 - surfaced by finish()
            self.error = exc

    def finish(self, timeout=120):
        self.join(timeout)
        assert not self.is_alive(), "publisher did not finish"
        if self.error:
            raise self.error


def input_topics(topics) -> list[str]:
    return [t for t in topics.inputs if t != topics.fx]


def caught_up(probe: LagProbe, group: str, topics) -> bool:
    try:
        lag = probe.group_lag(group, input_topics(topics), timeout=5)
    except Exception:  # noqa: BLE001 - the broker may be busy with a rebalance
        return False
    return not any(lag.values())


def wait_caught_up(bootstrap, group, topics, timeout: float, workers: Workers | None = None) -> None:
    deadline = time.monotonic() + timeout
    with LagProbe(bootstrap) as probe:
        while time.monotonic() < deadline:
            if caught_up(probe, group, topics):
                return
            time.sleep(0.3)
        lag = probe.group_lag(group, input_topics(topics), timeout=5)
    raise AssertionError(f"group {group} not caught up after {timeout}s: "
                         f"{ {k: v for k, v in lag.items() if v} }\n{workers.logs() if workers else ''}")


def end_offsets(bootstrap, topics) -> dict:
    with LagProbe(bootstrap) as probe:
        return probe.end_offsets(input_topics(topics))


def redis_positions(redis_url: str, group: str, tps) -> dict:
    """The group's Redis-held positions of ``tps`` [(topic, partition)]: (topic, partition) -> next
    offset (partitions without a position are left out)."""
    r = connect(redis_url)
    try:
        out = {}
        for t, p in tps:
            v = r.get(position_key(group, t, p))
            if v is not None:
                out[(t, p)] = int(v)
        return out
    finally:
        r.close()


def wait_positions_at_end(bootstrap, redis_url, group, topics, timeout: float, workers=None) -> None:
    """Until every input partition's Redis position equals its true end (Redis is the source of truth)."""
    deadline = time.monotonic() + timeout
    while True:
        ends = end_offsets(bootstrap, topics)
        pos = redis_positions(redis_url, group, ends)
        behind = {tp: (pos.get(tp), end) for tp, end in ends.items() if end and pos.get(tp) != end}
        if not behind:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"Redis positions of {group} not at the end after {timeout}s: {behind}\n"
                                 f"{workers.logs() if workers else ''}")
        time.sleep(0.3)


# ------------------------------------------------------------------ end-state checks
def store_for(redis_url: str) -> MemberStore:
    codec = Codec()

    def decode_held(topic, raw):
        name, record = codec.decode(raw)
        return to_domain(name, record)
    return MemberStore(connect(redis_url), decode_held)


def engine_views(redis_url: str, members) -> dict[str, dict | None]:
    store = store_for(redis_url)
    try:
        return {m: member_json(store, m) for m in members}
    finally:
        store.redis.close()


def state_problems(redis_url: str, stream: model.Stream) -> list[str]:
    """Every member's balance, debt, lots and qualifying counters against the pure recomputation,
    and balance = Σ lots − debt."""
    want = model.expected(stream)
    got = engine_views(redis_url, stream.members)
    problems = []
    for mid in stream.members:
        g = model.normalize(got[mid])
        if g != want[mid]:
            problems.append(f"{mid}: engine {g} != expected {want[mid]}")
        v = got[mid]
        if v is not None and v["balance"] != sum(lot["points"] for lot in v["lots"]) - v["debt"]:
            problems.append(f"{mid}: balance {v['balance']} != Σ lots − debt ({v['lots']}, {v['debt']})")
    return problems


def ledger_problems(bootstrap: str, topics, redis_url: str, stream: model.Stream) -> list[str]:
    """points.ledger.v1: no entry_id with two different contents; Σ distinct entries per member = balance."""
    by_id: dict[str, dict] = {}
    problems = []
    for e in decoded(bootstrap, topics.ledger):
        first = by_id.setdefault(e["entry_id"], e)
        if first != e:
            problems.append(f"entry {e['entry_id']} published with different content: {first} vs {e}")
    sums: dict[str, int] = defaultdict(int)
    for e in by_id.values():
        sums[e["member_id"]] += e["points"]
    want = model.expected(stream)
    for mid in stream.members:
        if sums.get(mid, 0) != want[mid]["balance"]:
            problems.append(f"{mid}: Σ ledger {sums.get(mid, 0)} != expected balance {want[mid]['balance']}")
    return problems


def decision_problems(bootstrap: str, topics, stream: model.Stream) -> list[str]:
    """Every charge of the stream has a decision, and a final one unless its member never enrolled;
    re-published final decisions of one source are identical."""
    codec = Codec()
    finals: dict[str, set] = defaultdict(set)
    seen: set[str] = set()
    for m in read_topic(bootstrap, topics.decisions):
        d = codec.decode(m.value())[1]
        seen.add(d["source_id"])
        if d["outcome"] != "HELD":
            finals[d["source_id"]].add(tuple(sorted((k, str(v)) for k, v in d.items())))
    ghosts = {mid for mid in stream.members if mid not in {e.obj["member_id"] for e in stream.enrollments}}
    problems = []
    for ev in stream.charges:
        sid = ev.source_id
        if sid not in seen:
            problems.append(f"{sid}: no decision")
        elif ev.obj["member_id"] not in ghosts and len(finals.get(sid, ())) != 1:
            problems.append(f"{sid}: {len(finals.get(sid, ()))} distinct final decisions: "
                            + " | ".join(str(dict(d)) for d in finals.get(sid, ())))
    return problems


def all_problems(bootstrap, topics, redis_url, stream) -> list[str]:
    return (state_problems(redis_url, stream) + ledger_problems(bootstrap, topics, redis_url, stream)
            + decision_problems(bootstrap, topics, stream))


def flush_redis(redis_url: str) -> None:
    from tests.conftest import flush_every_node
    r = connect(redis_url)
    try:
        flush_every_node(r)
    finally:
        r.close()


def enroll_first(bootstrap, topics, group, stream, ws: Workers) -> None:
    """Publish the enrollments and apply them with a worker of the group (stopped afterwards)."""
    publish(bootstrap, topics, stream.enrollments)
    w = ws.start()
    wait_caught_up(bootstrap, group, topics, 60, ws)
    w.stop()
