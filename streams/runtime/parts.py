"""The engine and what it stands on, as the composition root (streams/runtime/bootstrap.py) wired them."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from processors.fx import FxTable
from schemas.codec import Codec
from streams.engine.batch import Engine
from streams.redis.member_store import MemberStore
from streams.runtime.config_file import ConfigFile
from streams.runtime.metrics import Metrics
from streams.runtime.settings import Settings


@dataclass(frozen=True)
class Parts:
    settings: Settings
    metrics: Metrics
    codec: Codec
    fx: FxTable  # the rates read so far (the FX reader fills it, the engine reads it)
    config: ConfigFile  # () -> ProgramConfig, hot-reloaded
    redis: Any  # redis.Redis or RedisCluster (streams/redis/client.py)
    store: MemberStore
    engine: Engine
