"""Running a job request (close-year, expire) on an engine: what the CLI, the faust agent and the
tests call. The jobs publish their outputs before saving (streams/engine/jobs.py), through a sink
opened on first use."""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date
from typing import Any

from streams.engine import jobs
from streams.engine.batch import Engine
from streams.runtime.held_metrics import record_job_run
from streams.runtime.ports import OutputSink

log = logging.getLogger(__name__)


class JobRunner:
    def __init__(self, engine: Engine, redis: Any, open_publisher: Callable[[], OutputSink]):
        self.engine = engine
        self.redis = redis  # where the last run of each job is recorded (harmony_job_last_* metrics)
        self._open_publisher = open_publisher
        self._publisher: OutputSink | None = None

    def publisher(self) -> OutputSink:
        if self._publisher is None:
            self._publisher = self._open_publisher()
        return self._publisher

    def __call__(self, job: dict) -> dict:
        """Run ``{"job": "close-year", "year": 2026}`` or ``{"job": "expire", "as_of": "2029-02-01"}``."""
        if job.get("job") == "close-year":
            report = jobs.close_year(self.engine, int(job["year"]), self.publisher())
        elif job.get("job") == "expire":
            report = jobs.expire(self.engine, date.fromisoformat(job["as_of"]), self.publisher())
        else:
            raise ValueError(f"unknown job {job!r}")
        record_job_run(self.redis, job, report.as_dict())
        log.info("job done: %s", report.as_dict())
        return report.as_dict()

    def close(self) -> None:
        if self._publisher is not None:
            self._publisher.close()
            self._publisher = None
