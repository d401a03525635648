"""The composition root: the one place that builds the parts and wires them together.

Everything that needs an engine, a store or a worker (the worker process, the CLI, the bench, the
tests) asks here, with settings and optional overrides for what a caller provides itself (a clock,
metrics, a Redis client, a publisher, a position store). Nothing below this module builds its own
collaborators, and nothing is attached to an object after it is built.

    build_engine(settings)  -> Parts      codec, FX table, config file, Redis, member store, engine
    build_worker(settings)  -> Worker     Parts + checkpoint (positions in Redis) + FX reader + jobs
    build_jobs(settings)    -> JobRunner  Parts + a publisher for close-year / expire

``build_engine`` connects to Redis (unless a client is passed): the worker process calls it in its
engine thread, retried until Redis answers (streams/runtime/host.py).
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from processors.fx import FxTable
from schemas.codec import Codec
from streams.engine.batch import Engine
from streams.engine.events import DOMAIN_CLASSES, to_domain
from streams.kafka.clients import make_consumer
from streams.kafka.publisher import Publisher
from streams.redis.client import connect
from streams.redis.member_store import MemberStore
from streams.redis.positions import RedisPositions
from streams.runtime.checkpoint import Checkpoint, PositionStore
from streams.runtime.config_file import ConfigFile
from streams.runtime.fx_reader import FxHistory, FxReader
from streams.runtime.held_metrics import refresher
from streams.runtime.job_runner import JobRunner
from streams.runtime.metrics import Metrics
from streams.runtime.parts import Parts
from streams.runtime.ports import OutputSink
from streams.runtime.settings import Settings
from streams.runtime.worker import FaultPoints, Worker

Clock = Callable[[], datetime]


def held_decoder(codec: Codec) -> Callable[[str, bytes], Any]:
    """(topic, raw bytes) -> the domain event of a held input (the store decodes what it kept)."""
    def decode(topic: str, raw: bytes) -> Any:
        name, event = codec.decode_domain(raw, DOMAIN_CLASSES)
        return event if not isinstance(event, dict) else to_domain(name, event)
    return decode


def build_engine(settings: Settings, *, clock: Clock | None = None, metrics: Metrics | None = None,
                 redis: Any = None, codec: Codec | None = None, config: ConfigFile | None = None,
                 store: Any = None) -> Parts:
    """The engine over the member store in Redis (``redis``: a client to use instead of connecting;
    ``store``: another member store, e.g. one in memory, and then no Redis unless ``redis`` is given)."""
    metrics = metrics if metrics is not None else Metrics()
    codec = codec or Codec(settings.registry_url)
    config = config or ConfigFile(settings.config_path)
    fx = FxTable()
    if store is None:
        redis = redis if redis is not None else connect(settings.redis_url)
        store = MemberStore(redis, held_decoder(codec), cache_size=settings.member_cache)
    engine = Engine(settings.topics, codec, store, config, fx, metrics, clock, changelog=settings.changelog)
    return Parts(settings, metrics, codec, fx, config, redis, store, engine)


def publisher_factory(settings: Settings, metrics: Metrics) -> Callable[[], OutputSink]:
    return lambda: Publisher(settings.bootstrap, metrics)


def build_jobs(settings: Settings, *, clock: Clock | None = None, metrics: Metrics | None = None,
               redis: Any = None, publisher: Callable[[], OutputSink] | None = None) -> JobRunner:
    """What `harmony close-year` / `harmony expire` run on (``publisher``: opens the jobs' sink)."""
    parts = build_engine(settings, clock=clock, metrics=metrics, redis=redis)
    return JobRunner(parts.engine, parts.redis, publisher or publisher_factory(settings, parts.metrics))


def build_worker(settings: Settings, *, clock: Clock | None = None, metrics: Metrics | None = None,
                 redis: Any = None, codec: Codec | None = None, config: ConfigFile | None = None,
                 publisher: Callable[[], OutputSink] | None = None, positions: PositionStore | None = None,
                 consumer: Callable[..., Any] | None = None) -> Worker:
    """The batch loop with everything it uses. ``publisher`` opens an output sink (the loop's and the
    jobs'), ``consumer(group, **config)`` a Kafka consumer; both default to the Kafka adapters."""
    parts = build_engine(settings, clock=clock, metrics=metrics, redis=redis, codec=codec, config=config)
    open_publisher = publisher or publisher_factory(settings, parts.metrics)
    fx_reader = FxReader(settings.topics.fx, parts.codec, parts.fx, FxHistory(parts.redis), parts.engine.out,
                         parts.metrics, settings.changelog)
    worker = Worker(parts, Checkpoint(positions or RedisPositions(parts.redis, settings.group)), fx_reader,
                    JobRunner(parts.engine, parts.redis, open_publisher), open_publisher,
                    consumer or (lambda group, **conf: make_consumer(group, settings.bootstrap, **conf)),
                    FaultPoints.from_env())
    parts.metrics.refreshers.append(refresher(lambda: parts.redis, clock))  # held inputs, job runs
    return worker
