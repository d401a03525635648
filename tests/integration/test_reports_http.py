"""`harmony worker` as a subprocess: GET /metrics exports every metric the Grafana dashboard
queries (histograms included), the held-input and job-run gauges read from Redis, and
GET /reports/liability answers the same report as `harmony report liability --json`."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.harness import enrollment, posting
from tests.integration.test_lifecycle_http import ServedEnv, get, get_json

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "ops" / "grafana" / "dashboards" / "harmony.json"
M = "RPT-001"


@pytest.fixture(scope="module")
def served(kafka_bootstrap, redis_url):
    with ServedEnv(kafka_bootstrap, redis_url, db=7, name="rpt") as e:
        e.send("enrollments", enrollment(M))
        e.send("postings", posting("RP-1", M, "300000", nights=2, bdate="2026-05-01"),
               posting("RP-2", M, "50000", bdate="2027-02-01"),
               posting("RP-GHOST", "RPT-GHOST", "10000"))  # held: AWAITING_ENROLLMENT
        e.sync()
        for args in (("close-year", "2026"), ("expire", "--as-of", "2027-03-01")):
            r = e.cli(*args)
            assert r.returncode == 0, r.stderr
        yield e


def _samples(text: str) -> dict[str, float]:
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


def _exported(text: str) -> set[str]:
    names = set()
    for kind_line in re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M):
        name, kind = kind_line
        names |= {name + s for s in ("_bucket", "_sum", "_count")} if kind == "histogram" else {name}
    return names


def dashboard_metrics() -> set[str]:
    exprs = [t["expr"] for p in json.loads(DASHBOARD.read_text())["panels"] for t in p["targets"]]
    assert exprs
    return {m for e in exprs for m in re.findall(r"\bharmony_[a-z0-9_]+", e)}


def test_every_dashboard_metric_is_exported(served):
    status, _, text = get(served.url("/metrics"))
    assert status == 200
    missing = dashboard_metrics() - _exported(text)
    assert not missing, f"the dashboard queries metrics the engine does not export: {sorted(missing)}"
    s = _samples(text)
    assert s["harmony_batch_seconds_count"] >= 1 and 'harmony_batch_seconds_bucket{le="+Inf"}' in s
    assert s['harmony_batch_stage_seconds_count{stage="apply"}'] >= 1
    assert s["harmony_end_to_end_seconds_count"] >= 1


def test_held_and_job_gauges(served):
    status, _, text = get(served.url("/metrics"))
    s = _samples(text)
    assert s['harmony_held_inputs{age="lt_1h",reason="AWAITING_ENROLLMENT"}'] == 1
    assert s['harmony_held_inputs{age="gt_3d",reason="AWAITING_ENROLLMENT"}'] == 0
    assert 0 <= s['harmony_held_oldest_seconds{reason="AWAITING_ENROLLMENT"}'] < 3600
    assert s["harmony_job_last_year_closed"] == 2026
    assert s['harmony_job_last_success_timestamp_seconds{job="expire"}'] > 1.7e9
    assert s["harmony_job_last_expiry_as_of_timestamp_seconds"] == 1803826800  # 2027-03-01 00:00 JST


def test_liability_over_http_equals_the_cli(served):
    status, report = get_json(served.url("/reports/liability?as_of=2030-01-01"))
    assert status == 200, report
    m = served.member(M)
    assert report["outstanding"]["net_points"] == m.balance == 6000 + 1000
    assert report["check"]["equal"]
    cli = served.cli("report", "liability", "--as-of", "2030-01-01", "--json")
    assert cli.returncode == 0, cli.stderr
    from_cli = json.loads(cli.stdout)
    for r in (report, from_cli):
        r.pop("seconds")
    assert from_cli == report
    status, body = get_json(served.url("/reports/liability?as_of=yesterday"))
    assert status == 400 and "as_of" in body["error"]
