"""Smoke test of the earn path through Kafka and Redis: vector 1 end to end."""
from tests.harness import Publisher, RunningWorker, decoded, enrollment, posting, settings_for, wait_processed


def test_room_posting_earns_into_redis(kafka_bootstrap, redis_url, redis_clean, topics, unique):
    s = settings_for(kafka_bootstrap, redis_url, topics, unique)
    pub = Publisher(kafka_bootstrap, topics)
    pub.send("enrollments", enrollment("OH0000001"))
    pub.send("postings", posting("P1", "OH0000001", "35000"))
    pub.flush()
    with RunningWorker(s) as w:
        wait_processed(s)
        from streams.web.member_view import member_json
        view = member_json(w.worker.engine.store, "OH0000001")
    assert view["balance"] == 700
    assert view["lots"] == [{"expires_on": "2029-01-31", "points": 700}]
    assert view["qualifying"]["2026"]["points"] == 700 and view["qualifying"]["2026"]["nights"] == 1
    ledger = decoded(kafka_bootstrap, topics.ledger)
    assert [(e["type"], e["points"]) for e in ledger] == [("EARN", 700)]
    decisions = decoded(kafka_bootstrap, topics.decisions)
    assert [(d["outcome"], d["base_points"]) for d in decisions] == [("EARNED", 700)]
