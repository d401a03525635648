"""The worker process as a faust app — wiring in one place.

faust gives the process its lifecycle (start/stop, signals), the web server (API, health,
metrics), leader-elected crontab timers for the scheduled jobs, and an agent that runs jobs
published to ``harmony.jobs.v1``. The charge hot path does not go through faust's per-event
machinery: it is the confluent-kafka batch loop of ``streams.runtime.worker`` running in a supervised
thread inside this app.
"""
from __future__ import annotations

import asyncio
import logging
import tempfile
import threading
import time
from datetime import UTC, date, datetime

import faust
from mode import Service

from processors.model import JST
from processors.validity import jst_date
from streams.engine import jobs
from streams.kafka.clients import kafka_config
from streams.runtime.faust_auth import faust_credentials
from streams.runtime.held_metrics import record_job_run
from streams.runtime.settings import Settings
from streams.runtime.worker import Worker
from streams.web.member_view import member_json

log = logging.getLogger(__name__)


def faust_broker(bootstrap: str) -> str:
    return ";".join(f"kafka://{h.strip()}" for h in bootstrap.split(",") if h.strip())


class EngineThread(Service):
    """Runs the batch loop in a thread; restarts it (with back-off) if it ever dies."""

    def __init__(self, worker: Worker, **kwargs):
        super().__init__(**kwargs)
        self.worker = worker
        self.stop_event = threading.Event()
        self.thread: threading.Thread | None = None

    def _run_engine(self) -> None:
        delay = 1.0
        while not self.stop_event.is_set():
            try:
                self.worker.run(self.stop_event)
                return
            except Exception as exc:  # noqa: BLE001 - logged, retried
                self.worker.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("engine loop stopped; restarting in %.0f s", delay)
                self.stop_event.wait(delay)
                delay = min(delay * 2, 30.0)

    async def on_start(self) -> None:
        self.thread = threading.Thread(target=self._run_engine, name="harmony-engine", daemon=True)
        self.thread.start()

    async def on_stop(self) -> None:
        self.stop_event.set()
        if self.thread is not None:
            await asyncio.get_running_loop().run_in_executor(None, self.thread.join, 30)


def run_job(worker: Worker, job: dict) -> dict:
    """Run a job request ({"job": "close-year", "year": 2026} or {"job": "expire", "as_of": "2029-02-01"})."""
    engine = worker.engine or worker.build()
    publish = worker.job_publisher()
    if job.get("job") == "close-year":
        report = jobs.close_year(engine, int(job["year"]), publish)
    elif job.get("job") == "expire":
        report = jobs.expire(engine, date.fromisoformat(job["as_of"]), publish)
    else:
        raise ValueError(f"unknown job {job!r}")
    record_job_run(worker.store.redis, job, report.as_dict())  # harmony_job_last_* metrics
    log.info("job done: %s", report.as_dict())
    return report.as_dict()


def create_app(settings: Settings, worker: Worker) -> faust.App:
    app = faust.App(
        f"{settings.group}-app", broker=faust_broker(settings.bootstrap), store="memory://",
        # the KAFKA_CONFIG_* security settings, as for every confluent-kafka client (streams/runtime/faust_auth.py)
        broker_credentials=faust_credentials(kafka_config(settings.bootstrap)),
        web_port=settings.web_port, web_host=settings.web_host, web_bind=settings.web_host,
        datadir=tempfile.mkdtemp(prefix="harmony-faust-"), broker_session_timeout=10,
        broker_heartbeat_interval=2, consumer_auto_offset_reset="latest", topic_partitions=1,
    )
    jobs_topic = app.topic(settings.topics.jobs, value_serializer="json", partitions=1)
    engine_thread = EngineThread(worker, loop=None)

    @app.service
    class _Engine(Service):  # registered so faust starts/stops the engine thread with the app
        async def on_start(self) -> None:
            await engine_thread.start()

        async def on_stop(self) -> None:
            await engine_thread.stop()

    @app.agent(jobs_topic)
    async def run_jobs(stream):
        async for job in stream:
            try:
                await asyncio.get_running_loop().run_in_executor(None, run_job, worker, job)
            except Exception:  # noqa: BLE001 - a bad job request never stops the worker
                log.exception("job %r failed", job)

    @app.crontab("0 0 1 1 *", timezone=JST, on_leader=True)
    async def year_end() -> None:
        await jobs_topic.send(value={"job": "close-year", "year": jst_date(datetime.now(UTC)).year - 1})

    @app.crontab("5 0 * * *", timezone=JST, on_leader=True)
    async def daily_expiry() -> None:
        await jobs_topic.send(value={"job": "expire", "as_of": jst_date(datetime.now(UTC)).isoformat()})

    @app.page("/members/{member_id}")
    async def member(web, request, member_id: str):
        store = await _store(worker)
        view = await asyncio.get_running_loop().run_in_executor(None, member_json, store, member_id)
        if view is None:
            return web.json({"error": f"unknown member {member_id}"}, status=404)
        return web.json(view)

    @app.page("/members/{member_id}/ledger")
    async def ledger(web, request, member_id: str):
        store = await _store(worker)
        try:
            offset, limit = ledger_page(request.query)
        except ValueError as exc:
            return web.json({"error": str(exc), "field": str(exc).split(":")[0]}, status=400)
        loop = asyncio.get_running_loop()
        if not await loop.run_in_executor(None, store.exists, member_id):
            return web.json({"error": f"unknown member {member_id}"}, status=404)
        entries = await loop.run_in_executor(None, store.recent_ledger, member_id, offset, limit)
        total = await loop.run_in_executor(None, store.ledger_length, member_id)
        nxt = offset + limit if offset + limit < total else None
        return web.json({"member_id": member_id, "entries": entries, "offset": offset, "limit": limit,
                         "total_kept": total, "next_offset": nxt})

    @app.page("/health")
    async def health(web, request):
        checks = await asyncio.get_running_loop().run_in_executor(None, _health, worker)
        ok = all(v == "ok" for v in checks.values())
        return web.json({"status": "ok" if ok else "unavailable", **checks}, status=200 if ok else 503)

    @app.page("/metrics")
    async def metrics(web, request):
        worker.metrics.clear("harmony_config_version_info")
        worker.metrics.set("harmony_config_version_info", 1, version=worker.config().version)
        text = await asyncio.get_running_loop().run_in_executor(None, worker.metrics.render)  # reads Redis
        return web.text(text, content_type="text/plain")

    from streams.web.reports import register as register_reports  # GET /reports/liability (office role)
    register_reports(app, worker)

    from streams.web.office_api import install as install_office
    install_office(app, worker, settings)  # authentication, adjustments/claims, OpenAPI, /office/ console
    app.harmony_engine_thread = engine_thread  # type: ignore[attr-defined]
    return app


def ledger_page(query) -> tuple[int, int]:
    """offset (clamped to 0..100000) and limit (clamped to 1..500) of a ledger page; ValueError names
    the field that is not an integer."""
    out = []
    for name, default, lo, hi in (("offset", 0, 0, 100_000), ("limit", 50, 1, 500)):
        try:
            v = int(query.get(name, default))
        except ValueError:
            raise ValueError(f"{name}: must be an integer") from None
        out.append(min(max(v, lo), hi))
    return out[0], out[1]


async def _store(worker: Worker):
    while worker.engine is None:
        await asyncio.sleep(0.05)
    return worker.engine.store


def _health(worker: Worker) -> dict:
    checks = {}
    try:
        if worker.redis is None:
            checks["redis"] = "error: engine starting"
        else:
            worker.redis.ping()
            checks["redis"] = "ok"
    except Exception as exc:  # noqa: BLE001
        checks["redis"] = f"error: {exc}"
    checks["kafka"] = "ok" if worker.ready.is_set() and worker.last_error is None else \
        f"error: {worker.last_error or 'engine not consuming yet'}"
    return checks


def run_worker(settings: Settings, loglevel: str = "info") -> None:
    """Run the worker until SIGINT/SIGTERM."""
    worker = Worker(settings)
    app = create_app(settings, worker)
    fw = faust.Worker(app, loglevel=loglevel, quiet=True)
    if not fw.stdout.isatty():  # faust's spinner writes cursor-control codes even into a file or a pipe
        fw.spinner = None
    fw.execute_from_commandline()


__all__ = ["create_app", "run_worker", "run_job", "time"]
