"""A seeded scenario of ~2,100 mixed charges over 50 members through Kafka and Redis, checked against
the independent oracle (tests/oracle.py); then the same events again (nothing may change); then the
same stream with the worker process killed (SIGKILL) several times mid-stream."""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from streams.devstack.process import stop_child
from streams.engine import jobs
from streams.kafka.publisher import DeliveryFailed
from tests.harness import Publisher, RunningWorker, decoded, enrollment, posting, settings_for, wait_processed
from tests.integration import checks
from tests.integration.scenario import build
from tests.oracle import Oracle

ROOT = Path(__file__).resolve().parents[2]


def publish(pub: Publisher, events) -> None:
    for kind, ev in events:
        pub.send(kind, ev)
    pub.flush()


def state_problems(store, oracle: Oracle, members) -> list[str]:
    problems = []
    got = checks.views(store, members)
    for m in members:
        want = oracle.members[m].view() if m in oracle.members else checks.comparable(None)
        have = checks.comparable(got[m])
        if have != want:
            problems.append(f"{m}: engine {have} != oracle {want}")
    return problems


def ledger_problems(entries: dict, store, members) -> list[str]:
    per_member, _ = checks.ledger_sums(entries)
    problems = []
    for m, view in checks.views(store, members).items():
        balance = view["balance"] if view else 0
        if per_member.get(m, 0) != balance:
            problems.append(f"{m}: Σ ledger {per_member.get(m, 0)} != balance {balance}")
    return problems


def test_scenario_matches_oracle_then_replay_changes_nothing(kafka_bootstrap, redis_url, redis_clean, topics,
                                                             unique):
    sc = build()
    oracle = Oracle()
    oracle.apply(sc.fx_initial)
    oracle.apply(sc.phase_a)
    held = oracle.held_reasons()
    oracle.apply(sc.phase_a_late)
    s = settings_for(kafka_bootstrap, redis_url, topics, unique)
    pub = Publisher(kafka_bootstrap, topics)
    publish(pub, sc.fx_initial)  # before the worker starts: it loads every rate first
    with RunningWorker(s) as w:
        publish(pub, sc.phase_a)
        wait_processed(s, timeout=120)
        engine_held = {h["source_id"]: h["reason"] for v in checks.views(w.worker.engine.store, sc.members).values()
                       if v for h in v["held"]}
        assert engine_held == held and len(held) >= 50
        assert {"AWAITING_ENROLLMENT", "AWAITING_FX_RATE"} <= set(held.values())
        publish(pub, sc.phase_a_late)
        wait_processed(s, timeout=120)
        report = jobs.close_year(w.worker.engine, 2025, w.worker.jobs.publisher())
        attained = oracle.close_year(2025)
        assert report.changed == len(attained)
        oracle.apply(sc.phase_b)
        publish(pub, sc.phase_b)
        wait_processed(s, timeout=120)
        store = w.worker.engine.store

        assert not oracle.held, "the scenario must leave nothing held"
        assert len(sc.charges) >= 2000
        assert state_problems(store, oracle, sc.members) == []
        versions = {m: (v or {}).get("version") for m, v in checks.views(store, sc.members).items()}

        entries, dup_problems = checks.ledger(kafka_bootstrap, topics.ledger)
        assert dup_problems == []
        assert ledger_problems(entries, store, sc.members) == []
        _, per_source = checks.ledger_sums(entries)
        charge_ids = [oracle.sid(k, e) for k, e in sc.charges]
        wrong_points = [(sid, per_source.get(sid, 0), oracle.points_by_source.get(sid, 0)) for sid in charge_ids
                        if per_source.get(sid, 0) != oracle.points_by_source.get(sid, 0)]
        assert wrong_points == []

        by_source = checks.decisions_by_source(kafka_bootstrap, topics.decisions)
        assert checks.final_decision_problems(by_source, charge_ids) == []
        assert checks.decision_id_problems(by_source) == []
        assert set(by_source) == set(charge_ids)
        wrong = []
        for sid in charge_ids:
            if sid in oracle.is_correction:
                continue  # reasons of corrections are the engine's design; their points are checked above
            final = next(d for d in by_source[sid] if d["outcome"] != "HELD")
            if (final["outcome"], final["reason"]) != oracle.decisions[sid]:
                wrong.append((sid, final["outcome"], final["reason"], oracle.decisions[sid]))
        assert wrong == [], wrong
        no_member = [d for ds in by_source.values() for d in ds if d["reason"] == "NO_MEMBER"]
        assert no_member and all(d["_key"] == d["source_id"] and d["member_id"] is None for d in no_member)
        held_first = {ds[0]["reason"] for ds in by_source.values() if ds[0]["outcome"] == "HELD"}
        assert held_first == {"AWAITING_ENROLLMENT", "AWAITING_FX_RATE", "AWAITING_ORIGINAL"}
        statuses = {c["member_id"]: c["new_status"] for c in decoded(kafka_bootstrap, topics.status)}
        assert statuses == attained

        # the same events again: no state change (not even a version bump), the same ledger
        publish(pub, sc.fx_initial + sc.all_events)
        wait_processed(s, timeout=120)
        assert {m: (v or {}).get("version") for m, v in checks.views(store, sc.members).items()} == versions
        assert state_problems(store, oracle, sc.members) == []
        again, dup_problems = checks.ledger(kafka_bootstrap, topics.ledger)
        assert dup_problems == []
        assert again == entries
        by_source = checks.decisions_by_source(kafka_bootstrap, topics.decisions)
        assert checks.final_decision_problems(by_source, charge_ids, replayed=True) == []
        assert checks.decision_id_problems(by_source) == []


def _positions(redis_client, group: str) -> int:
    return sum(int(redis_client.get(k) or 0) for k in redis_client.scan_iter(f"pos:{group}:*"))


def test_kill_9_mid_stream_then_restart_matches_oracle(kafka_bootstrap, redis_url, redis_clean, topics, unique,
                                                       tmp_path):
    """The worker process (`harmony worker --plain`) is SIGKILLed four times while it works through
    a backlog (small batches, so a kill lands anywhere in a batch), and restarted each time."""
    sc = build(seed=99, n_members=50, per_phase=1000)
    events = sc.all_events
    oracle = Oracle()
    oracle.apply(sc.fx_initial)
    oracle.apply(events)
    assert not oracle.held
    pub = Publisher(kafka_bootstrap, topics)
    publish(pub, sc.fx_initial)
    # session timeout 3 s (heartbeat 0.5 s) rather than 6 s: a killed member leaves the group sooner,
    # each restart costs ~4 s instead of ~13 s on Tansu
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap, "REDIS_URL": redis_url,
           "HARMONY_TOPIC_PREFIX": topics.prefix, "HARMONY_GROUP": unique, "HARMONY_SESSION_TIMEOUT_MS": "3000",
           "KAFKA_CONFIG_HEARTBEAT_INTERVAL_MS": "500", "HARMONY_BATCH_SIZE": "25", "HARMONY_LOGLEVEL": "INFO"}
    log = open(tmp_path / "worker.log", "ab")
    harmony = str(Path(sys.executable).parent / "harmony")

    def start():
        return subprocess.Popen([harmony, "worker", "--plain"], env=env, cwd=ROOT, stdout=log, stderr=log)

    rnd = random.Random(7)
    # four chunks; every member's events (and its enrollment) stay in one chunk, in publication order;
    # the EUR rates come last (EUR charges stay held until then)
    chunks: list[list] = [[], [], [], []]
    slot: dict[str, int] = {}
    for kind, ev in events:
        if kind == "fx":
            chunks[3].append((kind, ev))
            continue
        key = ev.get("member_id") or ev.get("posting_id") or ev.get("bill_id")
        chunks[slot.setdefault(key, len(slot) % 4)].append((kind, ev))
    kills = 0
    proc = start()
    try:
        for chunk in chunks:
            before = _positions(redis_clean, unique)
            publish(pub, chunk)
            deadline = time.monotonic() + 60
            while _positions(redis_clean, unique) == before and time.monotonic() < deadline:
                time.sleep(0.01)
            assert _positions(redis_clean, unique) > before, "the worker made no progress"
            time.sleep(rnd.uniform(0.0, 0.3))  # mid-backlog
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            kills += 1
            proc = start()
        # a last input, so that waiting for the group covers the restarted worker's start-up
        sentinel = posting("SENTINEL", None, "1000")
        publish(pub, [("postings", sentinel)])
        wait_processed(settings_for(kafka_bootstrap, redis_url, topics, unique), timeout=120)
    finally:
        stop_child(proc, signal.SIGTERM, 20)
        log.close()
    assert kills == 4
    store = checks.store_for(redis_url)
    entries, dup_problems = checks.ledger(kafka_bootstrap, topics.ledger)
    charge_ids = [oracle.sid(k, e) for k, e in events if k in ("postings", "bills")]
    by_source = checks.decisions_by_source(kafka_bootstrap, topics.decisions)
    _, per_source = checks.ledger_sums(entries)
    wrong_points = {sid: (per_source.get(sid, 0), oracle.points_by_source.get(sid, 0),
                          [(d["outcome"], d["reason"]) for d in by_source.get(sid, [])])
                    for sid in charge_ids if per_source.get(sid, 0) != oracle.points_by_source.get(sid, 0)}
    assert state_problems(store, oracle, sc.members) == [], wrong_points
    assert dup_problems == []
    assert checks.decision_id_problems(by_source) == []
    decision_problems = checks.final_decision_problems(by_source, charge_ids, replayed=True)
    sum_problems = ledger_problems(entries, store, sc.members)
    assert not wrong_points and not decision_problems and not sum_problems, \
        (wrong_points, decision_problems, sum_problems)


def test_outputs_of_a_release_survive_a_failed_delivery(kafka_bootstrap, redis_url, redis_clean, topics, unique):
    """Invariant: outputs of an input released from a hold (here by its enrollment) are published even
    when the delivery fails after the Redis update: the RELEASED marker publishes them again."""
    s = settings_for(kafka_bootstrap, redis_url, topics, unique)
    pub = Publisher(kafka_bootstrap, topics)
    pub.send("postings", posting("HP1", "OHLATE01", "35000"))
    pub.flush()
    with RunningWorker(s) as w:
        wait_processed(s)
        real = w.worker._publish
        failed = []

        def publish_failing_once(result, producer):  # a delivery failure right after the release was stored
            if not failed and any(r.topic == topics.ledger for r in result.records):
                failed.append(True)
                raise DeliveryFailed("injected: broker unreachable")
            real(result, producer)
        w.worker._publish = publish_failing_once
        pub.send("enrollments", enrollment("OHLATE01"))
        pub.flush()
        wait_processed(s)
        assert failed
        view = checks.views(w.worker.engine.store, ["OHLATE01"])["OHLATE01"]
    assert view["balance"] == 700
    entries, _ = checks.ledger(kafka_bootstrap, topics.ledger)
    assert [e["points"] for e in entries.values()] == [700]
    outcomes = [d["outcome"] for d in checks.decisions_by_source(kafka_bootstrap, topics.decisions)["P:HP1"]]
    assert outcomes[-1] == "EARNED"


def test_restart_with_group_commit_behind_redis_catches_up(kafka_bootstrap, redis_url, redis_clean, topics,
                                                           unique):
    """A process killed between writing its positions to Redis and committing them to Kafka leaves the
    group's commit behind. The next worker starts from Redis (nothing to replay) and must still bring
    the group's lag to 0, or `harmony wait` never returns."""
    from confluent_kafka import TopicPartition

    from streams.kafka.clients import make_consumer
    s = settings_for(kafka_bootstrap, redis_url, topics, unique)
    pub = Publisher(kafka_bootstrap, topics)
    publish(pub, [("enrollments", enrollment("OHCB0001"))]
            + [("postings", posting(f"CB{i}", "OHCB0001", "35000")) for i in range(5)])
    with RunningWorker(s):
        wait_processed(s)
    rewind = make_consumer(unique, kafka_bootstrap)  # what a kill before the commit leaves behind
    parts = rewind.list_topics(topics.postings, timeout=10).topics[topics.postings].partitions
    rewind.commit(offsets=[TopicPartition(topics.postings, p, 0) for p in parts], asynchronous=False)
    rewind.close()
    with RunningWorker(s) as w:
        wait_processed(s, timeout=20)
        view = checks.views(w.worker.engine.store, ["OHCB0001"])["OHCB0001"]
    assert view["balance"] == 3500
    entries, problems = checks.ledger(kafka_bootstrap, topics.ledger)
    assert problems == [] and len(entries) == 5
