"""Issue 9 item 10: ``harmony expire`` without ``--as-of`` expires as of the JST date, whatever the
host's time zone (the help says "now"; program-rules: dates are JST)."""
from __future__ import annotations

import argparse
import os
import time
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from streams.cli import members as cli


@pytest.fixture
def host_zone_utc():
    old = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if old is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = old
    time.tzset()


def test_expire_without_as_of_uses_the_jst_date(monkeypatch, host_zone_utc, capsys):
    jobs = []
    # 31 January 2031, 15:30 UTC = 1 February 2031, 00:30 JST: the lot of 2027 is expired in Japan
    monkeypatch.setattr(cli, "_now", lambda: datetime(2031, 1, 31, 15, 30, tzinfo=UTC), raising=False)
    monkeypatch.setattr(cli, "_jobs", lambda: SimpleNamespace(close=lambda: None))  # no Redis, no Kafka
    import streams.runtime.app
    monkeypatch.setattr(streams.runtime.app, "run_job", lambda runner, job: jobs.append(job) or {"job": "x"})
    assert cli.cmd_expire(argparse.Namespace(as_of=None)) == 0
    assert jobs == [{"job": "expire", "as_of": "2031-02-01"}]
