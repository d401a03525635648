"""The worker process as its HTTP side sees it.

Settings, metrics, codec and config file exist from the start; the worker (engine, store, batch
loop: streams/runtime/bootstrap.py) is built in the engine thread once Redis answers, so the web
server can say "engine starting" meanwhile instead of the process failing to start.
"""
from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from schemas.codec import Codec
from streams.runtime.config_file import ConfigFile
from streams.runtime.metrics import Metrics
from streams.runtime.settings import Settings
from streams.runtime.worker import Worker


class Host:
    def __init__(self, settings: Settings, build: Callable[[Host], Worker] | None = None):
        self.s = settings
        self.metrics = Metrics()
        self.codec = Codec(settings.registry_url)
        self.config = ConfigFile(settings.config_path)
        self._build = build or _build_worker
        self.worker: Worker | None = None  # None until build() succeeded
        self.last_error: str | None = None  # why the worker could not be built (yet)

    def build(self) -> Worker:
        """The worker, built on first call (raises while Redis cannot be reached: call again)."""
        if self.worker is None:
            self.worker = self._build(self)
        return self.worker

    async def started(self) -> Worker:
        """The worker once it is built (the HTTP handlers that need the store wait for it)."""
        while self.worker is None:
            await asyncio.sleep(0.05)
        return self.worker

    @property
    def redis(self) -> Any:
        """The engine's Redis client; None while starting."""
        return self.worker.parts.redis if self.worker is not None else None


def _build_worker(host: Host) -> Worker:
    from streams.runtime.bootstrap import build_worker
    return build_worker(host.s, metrics=host.metrics, codec=host.codec, config=host.config)
