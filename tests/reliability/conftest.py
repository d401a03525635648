"""Fixtures of the reliability tests: worker subprocesses of one group, cleaned up whatever happens."""
from __future__ import annotations

import pytest

from .support import Workers, flush_redis


@pytest.fixture
def workers_for(kafka_bootstrap, tmp_path, unique):
    """``workers_for(redis_url, topics, group=None, **env)`` -> Workers; every process is killed after the test."""
    made: list[Workers] = []

    def make(redis_url, topics, group=None, **env) -> Workers:
        w = Workers(kafka_bootstrap, redis_url, topics, group or unique, tmp_path, **env)
        made.append(w)
        return w
    yield make
    for w in made:
        w.close()


@pytest.fixture
def clean_redis_url(redis_url):
    """The session Redis (or cluster), emptied before the test."""
    flush_redis(redis_url)
    return redis_url
