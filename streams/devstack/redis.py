"""redis-server for `harmony dev` and the tests: one server (`RedisServer`, AOF on by default) or a
cluster of masters (`RedisCluster`)."""
from __future__ import annotations

import os
import shutil
import subprocess
import time
from typing import Literal, Self

from streams.devstack.process import ChildProcess, DevStackError, ProcessGroup, bindable, free_port

__all__ = ["RedisServer", "RedisCluster"]

Fsync = Literal["everysec", "always", "no"]


def _cluster_port() -> int:
    """A free port p (<= 55535) whose cluster bus port p + 10000 is free too."""
    for _ in range(200):
        port = free_port(below=55536)
        if bindable(port + 10000):
            return port
    raise DevStackError("no free port pair for a redis cluster node")


class RedisServer(ChildProcess):
    """`redis-server` on its own port and dir; `restart()` keeps both, so the AOF is reloaded."""

    name = "redis"
    ready_line = b"Ready to accept connections"

    def __init__(self, port: int | None = None, workdir: str | os.PathLike[str] | None = None, *,
                 appendonly: bool = True, appendfsync: Fsync = "everysec",
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

    def restart(self, hard: bool = False, timeout: float = 20.0) -> Self:
        """Stop (SIGTERM: the AOF is flushed) or, with `hard`, kill (SIGKILL) — then start again."""
        if hard:
            self.kill()
        else:
            self.stop()
        return self.start(timeout)


class RedisCluster(ProcessGroup[RedisServer]):
    """Three cluster-enabled masters (no replicas) joined with `redis-cli --cluster create`."""

    def __init__(self, masters: int = 3, workdir: str | os.PathLike[str] | None = None, *,
                 appendonly: bool = False, appendfsync: Fsync = "everysec"):
        if shutil.which("redis-cli") is None:
            raise DevStackError("redis-cli not found on PATH: `apt-get install -y redis-server`")
        super().__init__(workdir, "harmony-rcluster-")
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

    def start(self, timeout: float = 30.0) -> Self:
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
