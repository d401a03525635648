"""Smoke test of `harmony bench`: a small run (its own Tansu, or Apache Kafka in the Kafka pass, + redis-server)
must produce every section
of the JSON report with positive numbers, and a single reference worker must agree on every balance."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(200)
def test_bench_smoke(tmp_path, broker_kind):
    broker = "tansu" if broker_kind == "tansu" else "kafka"
    out = tmp_path / "bench.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "REDIS_", "HARMONY_"))}
    env["PYTHONPATH"] = str(REPO)
    argv = [sys.executable, "-m", "streams.cli", "bench", "--private", "--broker", broker,
            "--events", "2000", "--members", "200",
            "--naive-events", "300", "--latency-rate", "200", "--latency-seconds", "2", "--latency-sweep", "100",
            "--check",
            "--json", str(out)]
    run = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=190)
    assert run.returncode == 0, f"bench failed:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    res = json.loads(out.read_text())

    for section in ("config", "generate", "ceiling", "limit", "naive", "engine", "ratios", "latency",
                    "latency_sweep", "memory", "balances", "check"):
        assert section in res, f"missing section {section}: {sorted(res)}"
    positive = {
        "limit": ["events", "seconds", "events_per_s"],
        "naive": ["events", "seconds", "events_per_s"],
        "engine": ["events", "seconds", "events_per_s"],
        "ratios": ["engine_vs_naive", "engine_vs_limit"],
        "ceiling": ["events", "us_total", "events_per_s", "records_per_event"],
        "latency": ["samples", "achieved_rate", "p50_ms", "p95_ms", "p99_ms"],
        "memory": ["worker_peak_rss_mb", "redis_bytes_per_member"],
        "balances": ["members", "members_with_points", "total_points"],
    }
    for section, keys in positive.items():
        for k in keys:
            v = res[section][k]
            assert isinstance(v, (int, float)) and v > 0, f"{section}.{k} = {v!r}"
    assert res["engine"]["enrollments"]["events_per_s"] > 0
    lat = res["latency"]
    assert lat["p50_ms"] <= lat["p95_ms"] <= lat["p99_ms"] <= lat["max_ms"]
    assert lat["cpu_percent"]["worker0"] > 0 and 0 < lat["acked_p50_ms"] <= lat["acked_p99_ms"]
    assert [x["offered_rate"] for x in res["latency_sweep"]] == [100.0] and res["latency_sweep"][0]["samples"] > 0
    assert all(v > 0 for v in res["ceiling"]["us_per_event"].values()), res["ceiling"]
    assert res["engine"]["events"] == 2000 and res["balances"]["members"] == 200
    assert res["check"]["ok"] and res["check"]["compared_members"] == 200, res["check"]
    assert res["balances"]["members_with_held_inputs"] == 0
    assert broker in res["environment"]["started"], res["environment"]
    assert "engine / naive" in run.stdout and "p99" in run.stdout and "% of the ceiling" in run.stdout
