"""Runtime settings from the environment (one place), with the embedded defaults.

Each field names its environment variable (`validation_alias`), its default and its bounds;
pydantic-settings reads and checks them. Code may override any field by keyword
(`Settings(group="g", batch_size=100)`; a keyword wins over the environment) and copy with
`settings.model_copy(update={...})`. A wrong value raises `SettingsError` (streams/runtime/settings_errors.py)
listing every bad variable as ``HARMONY_BATCH_SIZE='abc': expected an integer >= 1``; an empty
variable counts as unset.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from streams.kafka.topics import Topics
from streams.runtime.settings_errors import SettingsError

__all__ = ["DEFAULT_CONFIG", "Settings", "SettingsError"]

_CHECKOUT_CONFIG = Path(__file__).resolve().parents[2] / "config" / "program.toml"
# a checkout (editable install) has it beside the package; an installed image runs from the
# project directory or sets HARMONY_CONFIG
DEFAULT_CONFIG = _CHECKOUT_CONFIG if _CHECKOUT_CONFIG.exists() else Path.cwd() / "config" / "program.toml"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        case_sensitive=True, env_ignore_empty=True, validate_by_name=True, validate_by_alias=True,
        extra="forbid", arbitrary_types_allowed=True)  # arbitrary: `Topics`

    bootstrap: str = Field("127.0.0.1:9092", validation_alias="KAFKA_BOOTSTRAP_SERVERS")
    redis_url: str = Field("redis://127.0.0.1:6379/0", validation_alias="REDIS_URL")
    # $HARMONY_TOPIC_PREFIX (a string) becomes Topics(prefix); code passes a Topics
    topics: Topics = Field(default_factory=Topics, validation_alias="HARMONY_TOPIC_PREFIX",
                           description="a topic name prefix")
    group: str = Field("harmony-engine", validation_alias="HARMONY_GROUP")
    config_path: Path = Field(DEFAULT_CONFIG, validation_alias="HARMONY_CONFIG")
    batch_size: int = Field(2000, ge=1, validation_alias="HARMONY_BATCH_SIZE")
    web_port: int = Field(6066, ge=1, le=65535, validation_alias="HARMONY_WEB_PORT")
    web_host: str = Field("127.0.0.1", validation_alias="HARMONY_WEB_HOST")
    registry_url: str | None = Field(None, validation_alias="SCHEMA_REGISTRY_URL")
    session_timeout_ms: int = Field(10000, ge=1000, validation_alias="HARMONY_SESSION_TIMEOUT_MS")
    changelog: bool = Field(True, validation_alias="HARMONY_CHANGELOG")
    # member snapshots a worker keeps to skip the load round trip (0: off, the default: end to end it
    # cost more worker CPU than it saved on the 2-core bench machine, while halving Redis reads;
    # docs/design.md §2a); checked by every save
    member_cache: int = Field(0, ge=0, validation_alias="HARMONY_MEMBER_CACHE")
    # young-generation collection threshold of the worker process (0: CPython's default); streams/runtime/gc_tuning.py
    gc_gen0: int = Field(50000, ge=0, validation_alias="HARMONY_GC_GEN0")
    sweep_seconds: float = Field(30.0, gt=0, allow_inf_nan=False, validation_alias="HARMONY_SWEEP_SECONDS")
    # topic creation (streams/kafka/topics.py create_topics: `harmony topics create`, `harmony dev`)
    partitions: int = Field(6, ge=1, validation_alias="HARMONY_PARTITIONS")
    # -1: the broker's default.replication.factor
    replication_factor: int = Field(-1, validation_alias="HARMONY_REPLICATION_FACTOR",
                                    description="an integer >= 1, or -1 (the broker's default)")
    # how long a command waits for the broker before it gives up (streams/cli/main.py check_broker)
    connect_timeout: float = Field(20.0, gt=0, allow_inf_nan=False, validation_alias="HARMONY_CONNECT_TIMEOUT")
    # how long POST …/adjustments and …/claims wait for the outcome before answering 202 (streams/web/office_api.py)
    api_wait_seconds: float = Field(10.0, ge=0, allow_inf_nan=False, validation_alias="HARMONY_API_WAIT_SECONDS")

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise SettingsError.from_validation(exc, type(self).model_fields) from None

    @field_validator("topics", mode="before")
    @classmethod
    def _topics_from_prefix(cls, value: Any) -> Any:
        return Topics(value) if isinstance(value, str) else value

    @field_validator("replication_factor")
    @classmethod
    def _replication(cls, value: int) -> int:
        if value == 0 or value < -1:
            raise ValueError("must be -1 or >= 1")
        return value
