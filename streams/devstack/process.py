"""What every local process of `harmony dev` and the tests shares: free ports, a child started in its
own session with its log in its work dir, readiness awaited (never a hang: a child that exits or is
not ready in time raises DevStackError with its log tail), stop (SIGTERM, then SIGKILL) and cleanup.

A child runs in its own session so a Ctrl-C aimed at the parent does not kill it before the parent
has shut down cleanly. `ChildProcess` is one such child, `ProcessGroup` several (a cluster); both
are context managers. The launchers: streams/devstack/tansu.py, redis.py, kafka.py.
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
from typing import IO, Generic, Self, TypeVar

__all__ = ["DevStackError", "free_port", "bindable", "port_open", "tail", "start_in_own_session", "stop_child",
           "ChildProcess", "ProcessGroup"]


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


def bindable(port: int) -> bool:
    """Whether a listener could bind 127.0.0.1:`port` now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def port_open(port: int) -> bool:
    """Whether something accepts connections on 127.0.0.1:`port`."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def tail(path: Path, n: int = 20) -> str:
    """The last `n` lines of a log file ("(no log)" when there is none)."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return "(no log)"


def start_in_own_session(argv: list[str], cwd: Path, log: IO[bytes],
                         env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """Start `argv` in `cwd`, its own session (out of reach of the parent's Ctrl-C), no stdin, stdout
    and stderr to `log`; `env` replaces the environment when given."""
    return subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)


def stop_child(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout: float = 10.0) -> int | None:
    """Send `sig` to a running child, wait up to `timeout`, then SIGKILL; returns its exit code."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def _work_dir(workdir: str | os.PathLike[str] | None, prefix: str) -> tuple[Path, bool]:
    """(the work dir, created now), made if missing: `workdir`, else a new temporary dir."""
    path = Path(workdir).resolve() if workdir else Path(tempfile.mkdtemp(prefix=prefix))
    path.mkdir(parents=True, exist_ok=True)
    return path, workdir is None


class _Managed:
    """`with x:` starts x and cleans it up; a start that fails cleans up before it raises."""

    def start(self) -> Self:
        raise NotImplementedError

    def cleanup(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        try:
            return self.start()
        except BaseException:
            self.cleanup()
            raise

    def __exit__(self, *exc: object) -> None:
        self.cleanup()


class ChildProcess(_Managed):
    """One child process with a log file in a work dir (created, and removed, by us if not given).

    A launcher names it (`name`), says how it starts (`_argv`), when it is ready (`ready_line` in its
    log, its port open and `_ready()`), and how long that may take (`start_timeout`)."""

    name = "process"
    stop_signal = signal.SIGTERM
    ready_line = b""  # logged once the process listens (so a foreign process on the port is not taken for ours)
    start_timeout = 20.0

    def __init__(self, workdir: str | os.PathLike[str] | None, port: int | None):
        self.workdir, self._own_dir = _work_dir(workdir, f"harmony-{self.name}-")
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

    # -- launcher hooks -------------------------------------------------------------------------
    def _argv(self) -> list[str]:
        raise NotImplementedError

    def _ready(self) -> bool:
        raise NotImplementedError

    def _prepare(self) -> None:
        """Before each start (e.g. write the configuration)."""

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self, timeout: float | None = None) -> Self:
        """Start (unless running) and wait until ready; DevStackError with the log tail if not."""
        timeout = self.start_timeout if timeout is None else timeout
        self._prepare()
        if not self.running:
            self.launch()
            self.await_ready(time.monotonic() + timeout, timeout)
        return self

    def launch(self) -> None:
        """Start the process (not waiting for it): `await_ready` waits. Several processes that
        need each other to become ready (a Kafka quorum) are launched first, then awaited."""
        self._log_start = self.log_path.stat().st_size if self.log_path.exists() else 0
        self._log = open(self.log_path, "ab")
        self.proc = start_in_own_session(self._argv(), self.workdir, self._log)

    def await_ready(self, deadline: float, timeout: float) -> None:
        """Until it logged `ready_line`, listens and `_ready()`; DevStackError (with the log tail)
        when it exits or `deadline` passes first — never a hang."""
        assert self.proc is not None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self._fail(f"exited with code {self.proc.returncode}")
            try:
                if (self._logged(self.ready_line, self._log_start) and port_open(self.port) and self._ready()
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
        raise DevStackError(f"{self.name} on port {self.port} {why}; log {self.log_path}:\n{tail(self.log_path)}")

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        """`stop_signal` (SIGTERM; Tansu: SIGINT), wait up to `timeout`, then SIGKILL."""
        if self.proc is not None:
            stop_child(self.proc, self.stop_signal, timeout)
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
        return tail(self.log_path, n)


Node = TypeVar("Node", bound=ChildProcess)


class ProcessGroup(_Managed, Generic[Node]):
    """Several children in one work dir (created, and removed, by us if not given): a cluster.
    The launcher fills `nodes` and says how they start together (`start`)."""

    stop_timeout = 10.0

    def __init__(self, workdir: str | os.PathLike[str] | None, prefix: str):
        self.workdir, self._own_dir = _work_dir(workdir, prefix)
        self.nodes: list[Node] = []

    def stop(self) -> None:
        for n in self.nodes:
            n.stop(timeout=self.stop_timeout)

    def kill(self) -> None:
        for n in self.nodes:
            n.kill()

    def cleanup(self) -> None:
        """Stop, and remove the work dir if we created it."""
        self.stop()
        if self._own_dir:
            shutil.rmtree(self.workdir, ignore_errors=True)
