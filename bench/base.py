"""`harmony bench` base: the state of one run (``Bench``) shared by the phases, its child processes
(``Child``: worker, naive app, limit, each with a log file), /proc and machine readings (RSS, CPU
time, load average), the code version and the Redis URL's database."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from streams.devstack.process import start_in_own_session, stop_child

REPO_ROOT = Path(__file__).resolve().parent.parent


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


def code_version() -> dict:
    """The commit the bench ran on, and the files changed in the working tree (the hot path moves)."""
    def git(*a):
        try:
            return subprocess.run(["git", *a], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10).stdout
        except (OSError, subprocess.SubprocessError):
            return ""
    # porcelain lines are "XY path": the status columns may start with a space, so no strip() before
    dirty = [ln[3:] for ln in git("status", "--porcelain", "--untracked-files=no").splitlines()
             if ln[3:].startswith(("streams/", "processors/", "schemas/"))]
    return {"commit": git("rev-parse", "--short", "HEAD").strip(), "modified": dirty}


def loadavg() -> list[float] | None:
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


class Child:
    """A subprocess of the bench (worker, naive app, limit) with its own log file."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], workdir: Path):
        self.name = name
        self.log_path = workdir / f"{name}.log"
        self._log = open(self.log_path, "wb")
        self.proc = start_in_own_session(argv, workdir, self._log, env)
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
        code = stop_child(self.proc, sig, timeout)
        self._log.close()
        return code


def child_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    env.update({k: str(v) for k, v in extra.items()})
    return env


# ---------------------------------------------------------------------------------------- the run
class Bench:
    """One run: its arguments, servers, Redis databases, children and ``result`` (the JSON report).
    The phases (bench.traffic, _engine, _latency, _check, _baselines) take it as ``b``."""

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

    started: list[str] = []
    server_pids: dict[str, int] | None = None

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

    def spawn(self, name: str, argv: list[str], **env) -> Child:
        c = Child(name, argv, child_env(**env), self.workdir)
        self.children.append(c)
        return c

    def cleanup(self) -> None:
        for c in self.children:
            if c.alive():
                c.stop(timeout=10)


def cpu_snapshot(b: Bench, workers: list[Child]) -> dict[str, float | None]:
    """CPU seconds so far of the workers, this process, the servers the bench started, the machine."""
    snap = {w.name: proc_cpu_seconds(w.pid) for w in workers}
    snap["machine"] = machine_busy_seconds()
    snap["bench"] = proc_cpu_seconds(os.getpid())
    for name, pid in (b.server_pids or {}).items():
        snap[name] = proc_cpu_seconds(pid)
    return snap


def cpu_delta(cpu0: dict, cpu1: dict) -> dict[str, float]:
    """CPU seconds per process between two snapshots, with ``other_processes`` (the machine's rest)."""
    cpu = {k: round(cpu1[k] - cpu0[k], 2) for k in cpu0 if cpu0[k] is not None and cpu1.get(k)}
    if "machine" in cpu:
        ours = sum(v for k, v in cpu.items() if k != "machine")
        cpu["other_processes"] = round(max(cpu["machine"] - ours, 0.0), 2)
    return cpu


def sweep_rates(a) -> list[float]:
    """The extra offered rates of ``--latency-sweep`` ("500,1000": one more latency run each)."""
    return [float(x) for x in (getattr(a, "latency_sweep", "") or "").split(",") if x.strip()]
