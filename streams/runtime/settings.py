"""Runtime settings from the environment (one place), with the embedded defaults."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from streams.kafka.topics import Topics

_CHECKOUT_CONFIG = Path(__file__).resolve().parents[2] / "config" / "program.toml"
# a checkout (editable install) has it beside the package; an installed image runs from the
# project directory or sets HARMONY_CONFIG
DEFAULT_CONFIG = _CHECKOUT_CONFIG if _CHECKOUT_CONFIG.exists() else Path.cwd() / "config" / "program.toml"


@dataclass
class Settings:
    bootstrap: str = field(default_factory=lambda: os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"))
    redis_url: str = field(default_factory=lambda: os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    topics: Topics = field(default_factory=Topics.from_env)
    group: str = field(default_factory=lambda: os.environ.get("HARMONY_GROUP", "harmony-engine"))
    config_path: Path = field(default_factory=lambda: Path(os.environ.get("HARMONY_CONFIG", DEFAULT_CONFIG)))
    batch_size: int = field(default_factory=lambda: int(os.environ.get("HARMONY_BATCH_SIZE", "2000")))
    web_port: int = field(default_factory=lambda: int(os.environ.get("HARMONY_WEB_PORT", "6066")))
    web_host: str = field(default_factory=lambda: os.environ.get("HARMONY_WEB_HOST", "127.0.0.1"))
    registry_url: str | None = field(default_factory=lambda: os.environ.get("SCHEMA_REGISTRY_URL") or None)
    session_timeout_ms: int = field(default_factory=lambda: int(os.environ.get("HARMONY_SESSION_TIMEOUT_MS", "10000")))
    changelog: bool = field(
        default_factory=lambda: os.environ.get("HARMONY_CHANGELOG", "1") not in ("0", "false", "no"))
    # member snapshots a worker keeps to skip the load round trip (0: off, the default: end to end it
    # cost more worker CPU than it saved on the 2-core bench machine, while halving Redis reads;
    # docs/design.md §2a); checked by every save
    member_cache: int = field(default_factory=lambda: int(os.environ.get("HARMONY_MEMBER_CACHE", "0")))
    # young-generation collection threshold of the worker process (0: CPython's default); streams/runtime/gc_tuning.py
    gc_gen0: int = field(default_factory=lambda: int(os.environ.get("HARMONY_GC_GEN0", "50000")))
    sweep_seconds: float = field(default_factory=lambda: float(os.environ.get("HARMONY_SWEEP_SECONDS", "30")))

    def position_key(self, topic: str, partition: int) -> str:
        return f"pos:{self.group}:{topic}:{partition}"
