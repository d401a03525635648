"""Pipelined Redis commands that work on a single server and on Redis Cluster alike.

redis-py's cluster pipeline refuses EVALSHA, so on a cluster the batch keeps one plain pipeline
per node and routes each command by its key's slot (all keys of a member share one hash tag).
Results come back in the order the commands were added.
"""
from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from redis.cluster import RedisCluster
from redis.exceptions import NoScriptError


class Batch:
    on_noscript: list[Callable[[], None]] = []  # reloads the scripts after Redis lost them (restart)

    def __init__(self, redis):
        self.redis = redis
        self.cluster = isinstance(redis, RedisCluster)
        self._pipes: dict[str, Any] = {}
        self._counts: dict[str, int] = {}
        self._order: list[tuple[str, int]] = []

    def _pipe(self, key: str):
        if self.cluster:
            node = self.redis.get_node_from_key(key)
            name = node.name
            if name not in self._pipes:
                self._pipes[name] = self.redis.get_redis_connection(node).pipeline(transaction=False)
        else:
            name = ""
            if name not in self._pipes:
                self._pipes[name] = self.redis.pipeline(transaction=False)
        return name, self._pipes[name]

    # ``queue(pipeline)``: Callable[..., Any] because callers bind loop values as default parameters
    def add(self, key: str, queue: Callable[..., Any]) -> None:
        """Queue one command (``queue(pipe)``) routed by ``key``."""
        name, pipe = self._pipe(key)
        queue(pipe)
        n = self._counts.get(name, 0)
        self._counts[name] = n + 1
        self._order.append((name, n))

    def __len__(self) -> int:
        return len(self._order)

    def execute(self) -> list:
        try:
            results = {name: pipe.execute() for name, pipe in self._pipes.items()}
        except NoScriptError:
            for reload in list(Batch.on_noscript):
                with contextlib.suppress(Exception):  # another client's Redis may be gone
                    reload()
            raise  # the caller replays (every command of a batch is safe to repeat)
        out = [results[name][i] for name, i in self._order]
        self._pipes.clear()
        self._counts.clear()
        self._order.clear()
        return out
