"""`harmony tail` over every topic and `harmony dlq list/replay`, through the broker and Redis.

* tail decodes every topic the engine writes or reads (Avro single-object framing; the internal
  topics as JSON; dead letters with their origin headers, error and decoded original);
* a dead letter for an unknown member (rejected after the grace) replayed after the enrollment
  arrives earns once, even replayed twice; a record that fails again goes back to the DLQ, its
  replays are counted and the limit stops the loop.
"""
from __future__ import annotations

import io
import json
import time
from collections import Counter

import pytest

from streams.cli.main import main as harmony
from streams.cli.tail import tail
from tests.clock import Clock
from tests.harness import (
    Publisher,
    RunningWorker,
    bill,
    decoded,
    enrollment,
    fx_rate,
    posting,
    read_topic,
    redemption,
    settings_for,
    wait_processed,
)
from tests.office_support import adjustment, claim


@pytest.fixture
def cli_env(monkeypatch, kafka_bootstrap, redis_url, topics):
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka_bootstrap)
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("HARMONY_TOPIC_PREFIX", topics.prefix)


def _wait_for(pred, timeout=20.0):
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.2)


def test_tail_decodes_every_topic(kafka_bootstrap, redis_url, redis_clean, topics, unique):
    from streams.runtime.app import run_job
    from streams.runtime.bootstrap import build_jobs
    s = settings_for(kafka_bootstrap, redis_url, topics, unique)
    pub = Publisher(kafka_bootstrap, topics)
    pub.send("enrollments", enrollment("OHT0001"))
    pub.send("fx", fx_rate("USD", "2026-03-10", "152.30"))
    pub.send("postings", posting("T-1", "OHT0001", "300000", nights=2))
    pub.send("postings", posting("T-2", "OHT0001", "250.00", currency="USD", hotel="NIKKO-SAIPAN"))
    pub.send("bills", bill("T-B1", "OHT0001", [("FOOD", "10000"), ("TAX", "1000")]))
    pub.producer.produce(topics.postings, b"not avro", b"OHT0001")  # a dead letter
    pub.flush()
    with RunningWorker(s):
        wait_processed(s)
        pub.send("redemptions", redemption("T-R1", "OHT0001", "BREAKFAST_ADULT"))
        pub.send("adjustments", adjustment("T-A1", "OHT0001", 500))  # members.adjustments(.results).v1
        pub.send("claims", claim("T-K1", "OHT0001", "T-NONE"))  # charges.claims.v1 (CHARGE_NOT_FOUND)
        pub.flush()
        wait_processed(s)
        jobs = build_jobs(s)
        run_job(jobs, {"job": "close-year", "year": 2026})  # 6,000+ points: LOYAL, a status change
        jobs.close()
    skip = {topics.jobs}  # job requests go there only through the worker's faust agent
    for topic in topics.all():
        n = len(read_topic(kafka_bootstrap, topic))
        if topic in skip:
            continue
        assert n > 0, f"{topic} has no records: the scenario should reach every topic"
        out = io.StringIO()
        printed = tail(s, topic, from_beginning=True, out=out)
        lines = [json.loads(x) for x in out.getvalue().splitlines()]
        assert printed == len(lines) == n, topic
        for rec in lines:
            if topic == topics.dlq:
                assert rec["origin"]["topic"] == topics.postings and rec["error"].startswith("DecodeError")
                assert "error" in rec["original"] and rec["original"]["raw_base64"]
            elif topic == topics.state:
                assert rec["value"] is None or isinstance(rec["value"], (dict, int, str)), rec
            elif "error" in rec:  # the one non-Avro input: shown with why, and its bytes
                assert topic == topics.postings and rec["raw_base64"] == "bm90IGF2cm8=", rec
            else:
                assert rec["type"] and rec["value"], (topic, rec)
    out = io.StringIO()
    tail(s, topics.ledger, from_beginning=True, key="OHT0001", limit=2, out=out)
    first = [json.loads(x) for x in out.getvalue().splitlines()]
    assert len(first) == 2 and all(r["key"] == "OHT0001" and r["type"] == "PointEntry" for r in first)
    decisions = [json.loads(x) for x in _tail_text(s, topics.decisions).splitlines()]
    earned = {d["value"]["source_id"]: d["value"] for d in decisions}
    assert earned["P:T-2"]["fx_rate"] == "152.300000" and earned["P:T-1"]["base_points"] == 6000


def _tail_text(s, topic) -> str:
    out = io.StringIO()
    tail(s, topic, from_beginning=True, out=out)
    return out.getvalue()


def test_tail_cli_since_and_limit(kafka_bootstrap, redis_url, redis_clean, topics, unique, cli_env, capsys):
    pub = Publisher(kafka_bootstrap, topics)
    pub.send("enrollments", enrollment("OHT0002"))
    pub.flush()
    assert harmony(["tail", "members.enrollments.v1", "--from-beginning"]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    assert json.loads(line)["value"] == {"member_id": "OHT0002", "enrolled_on": "2026-01-01", "state": "ACTIVE"}
    assert harmony(["tail", "members.enrollments.v1", "--since", "2999-01-01"]) == 0
    assert capsys.readouterr().out == ""  # nothing at or after that time
    assert harmony(["tail", "members.enrollments.v1", "--since", "2000-01-01T00:00", "--limit", "1"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1


def test_unknown_member_dead_letter_replayed_after_enrollment_earns_once(
        kafka_bootstrap, redis_url, redis_clean, topics, unique, cli_env, capsys):
    clock = Clock()
    s = settings_for(kafka_bootstrap, redis_url, topics, unique, sweep_seconds=0.2)
    pub = Publisher(kafka_bootstrap, topics)
    ghost = posting("GH-1", "OHGH0001", "35000")
    with RunningWorker(s, clock=clock) as w:
        pub.send("postings", ghost)
        pub.producer.produce(topics.postings, b"\xc3\x01broken", b"OHGH0001")  # fails on every replay
        pub.flush()
        wait_processed(s)
        clock.advance(hours=73)  # past the 72 h grace: REJECTED UNKNOWN_MEMBER, dead-lettered
        _wait_for(lambda: len(read_topic(kafka_bootstrap, topics.dlq)) == 2)

        assert harmony(["dlq", "list"]) == 0
        listing = capsys.readouterr().out
        assert "UNKNOWN_MEMBER 1" in listing and "DecodeError 1" in listing and "2 dead letters" in listing

        # the cause is fixed: the member enrolls
        pub.send("enrollments", enrollment("OHGH0001"))
        pub.flush()
        wait_processed(s)
        assert harmony(["dlq", "replay", "--reason", "UNKNOWN_MEMBER", "--dry-run"]) == 0
        assert "would replay 1 of 1" in capsys.readouterr().out
        for _ in range(2):  # replayed twice: applied once
            assert harmony(["dlq", "replay", "--reason", "UNKNOWN_MEMBER"]) == 0
            assert "replayed 1 of 1" in capsys.readouterr().out
            wait_processed(s)
        view = w.worker.engine.store.load("OHGH0001")
        assert view.balance == 700 and sum(view.lots.by_expiry.values()) == 700

        # the broken record fails again: back to the DLQ, its replays counted, the limit stops it
        for _ in range(2):
            assert harmony(["dlq", "replay", "--reason", "DecodeError", "--max-replays", "2"]) == 0
            assert "replayed 1 of" in capsys.readouterr().out
            wait_processed(s)
        _wait_for(lambda: len(read_topic(kafka_bootstrap, topics.dlq)) == 4)
        assert harmony(["dlq", "replay", "--reason", "DecodeError", "--max-replays", "2"]) == 0
        out = capsys.readouterr().out
        assert "replayed 0 of 3" in out and "replayed 2 times already (limit 2)" in out

    entries = {}
    for e in decoded(kafka_bootstrap, topics.ledger):
        entries.setdefault(e["entry_id"], e)
    earned = [e for e in entries.values() if e["source_id"] == "P:GH-1"]
    assert [(e["type"], e["points"]) for e in earned] == [("EARN", 700)]
    ds = [d for d in decoded(kafka_bootstrap, topics.decisions) if d["source_id"] == "P:GH-1"]
    assert Counter(d["outcome"] for d in ds) == Counter({"HELD": 1, "REJECTED": 1, "EARNED": 2})  # 2nd: replay
    # the broken record's new dead letters carry the count of the replay that failed
    again = sorted(dict(m.headers()).get("harmony.replay.count", b"-").decode()
                   for m in read_topic(kafka_bootstrap, topics.dlq))
    assert again == ["-", "-", "1", "2"]
    replayed = [m for m in read_topic(kafka_bootstrap, topics.postings) if m.headers()]
    counts = sorted(dict(m.headers())["harmony.replay.count"].decode() for m in replayed)
    assert counts == ["1", "1", "2", "2"]  # ghost twice (one record), the broken one twice
