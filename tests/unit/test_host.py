"""The worker process before and after its worker is built (streams/runtime/host.py): the HTTP side
answers "engine starting" while Redis cannot be reached, and the build is tried again until it works."""
from __future__ import annotations

import asyncio
import threading
from types import SimpleNamespace

from streams.runtime.app import EngineThread, _health
from streams.runtime.host import Host
from streams.runtime.settings import Settings


class Redis:
    def ping(self) -> bool:
        return True


def fake_worker(stopped: threading.Event):
    def run(stop: threading.Event) -> None:
        stopped.set()
    return SimpleNamespace(parts=SimpleNamespace(redis=Redis()), ready=threading.Event(), last_error=None, run=run)


def test_health_says_starting_until_the_worker_is_built_then_asks_redis_and_the_loop():
    attempts = []
    stopped = threading.Event()

    def build(host: Host):
        attempts.append(1)
        if len(attempts) < 3:
            raise ConnectionError("Redis refused")
        return fake_worker(stopped)
    host = Host(Settings(), build=build)
    assert host.redis is None
    assert _health(host) == {"redis": "error: engine starting", "kafka": "error: engine not consuming yet"}

    thread = EngineThread(host, loop=None)
    thread.stop_event.wait = lambda delay: False  # no back-off pauses here
    thread._run_engine()  # fails twice (Redis down), builds, runs the loop until it returns
    assert len(attempts) == 3 and stopped.is_set()
    assert host.worker is not None and host.redis is host.worker.parts.redis
    assert _health(host) == {"redis": "ok", "kafka": "error: engine not consuming yet"}
    host.worker.ready.set()
    assert _health(host) == {"redis": "ok", "kafka": "ok"}
    assert asyncio.run(host.started()) is host.worker


def test_while_redis_cannot_be_reached_health_names_the_error_and_the_build_is_retried():
    attempts = []

    def build(host: Host):
        attempts.append(1)
        raise ConnectionError("Redis refused")
    host = Host(Settings(), build=build)
    thread = EngineThread(host, loop=None)
    thread.stop_event.wait = lambda delay: len(attempts) >= 3 and thread.stop_event.set()  # stop after 3 tries
    thread._run_engine()
    assert len(attempts) == 3 and host.worker is None
    assert _health(host) == {"redis": "error: engine starting", "kafka": "error: ConnectionError: Redis refused"}
