"""Malformed input through Kafka: each record lands in loyalty.dlq.v1 with its original key and bytes
and the headers origin.topic / origin.partition / origin.offset / error; processing continues (a
valid event after them is applied) and no balance changes. A posting id re-sent with other content
is a CONFLICT dead letter."""
from __future__ import annotations

from schemas.codec import Codec
from schemas.jsonio import from_json
from tests.harness import Publisher, RunningWorker, bill, enrollment, posting, read_topic, settings_for, wait_processed
from tests.integration import checks

MEMBER = "OHD00001"


def test_malformed_records_are_dead_lettered_and_processing_continues(kafka_bootstrap, redis_url, redis_clean,
                                                                      topics, unique):
    s = settings_for(kafka_bootstrap, redis_url, topics, unique)
    pub = Publisher(kafka_bootstrap, topics)
    codec = Codec()
    good = codec.encode("FolioPosting", from_json("FolioPosting", posting("D-OK-1", MEMBER, "35000")))
    a_bill = codec.encode("PosBill", from_json("PosBill", bill("D-BILL", MEMBER, [("FOOD", "5000")])))
    bad = {  # name -> (topic attribute, value)
        "not Avro": ("postings", b"this is not Avro at all"),
        "truncated Avro": ("postings", good[: len(good) // 2]),
        "unknown fingerprint": ("postings", b"\xc3\x01" + b"\xee" * 8 + good[10:]),
        "PosBill on the postings topic": ("postings", a_bill),
        "empty value": ("postings", b""),
        "no value (tombstone)": ("postings", None),
        "FolioPosting on the bills topic": ("bills", good),
        "garbage enrollment": ("enrollments", b"\xc3\x01garbage"),
    }
    pub.send("enrollments", enrollment(MEMBER))
    pub.send("postings", posting("D-OK-1", MEMBER, "35000"))
    pub.flush()
    with RunningWorker(s) as w:
        wait_processed(s)
        for attr, value in bad.values():
            pub.producer.produce(getattr(topics, attr), value, MEMBER.encode())
        pub.flush()
        pub.send("postings", posting("D-OK-2", MEMBER, "8999", category="FOOD_BEVERAGE"))  # after the bad ones
        pub.flush()
        wait_processed(s)
        after_bad = checks.views(w.worker.engine.store, [MEMBER])[MEMBER]
        conflicting = posting("D-OK-1", MEMBER, "36000")  # the same posting id, other content
        pub.send("postings", conflicting)
        pub.flush()
        wait_processed(s)
        after_conflict = checks.views(w.worker.engine.store, [MEMBER])[MEMBER]
        assert w.worker.last_error is None

    # where each input landed
    origin = {}
    for attr in ("postings", "bills", "enrollments"):
        topic = getattr(topics, attr)
        for m in read_topic(kafka_bootstrap, topic):
            origin.setdefault((topic, m.value()), []).append((m.partition(), m.offset(), m.key()))
    dlq = read_topic(kafka_bootstrap, topics.dlq)
    letters = []
    for m in dlq:
        h = {k: v.decode() for k, v in m.headers()}
        letters.append((h["origin.topic"], int(h["origin.partition"]), int(h["origin.offset"]), m.key(),
                        m.value() or b"", h["error"]))
    assert len(letters) == len(bad) + 1
    for name, (attr, value) in bad.items():
        topic = getattr(topics, attr)
        ((part, off, key),) = origin[(topic, value)] if value is not None else origin[(topic, None)]
        match = [x for x in letters if x[:3] == (topic, part, off)]
        assert len(match) == 1, name
        _, _, _, dkey, dvalue, error = match[0]
        assert (dkey, dvalue) == (key, value or b""), name
        assert error, name
    encoded_conflict = codec.encode("FolioPosting", from_json("FolioPosting", conflicting))
    ((part, off, _),) = origin[(topics.postings, encoded_conflict)]
    (conflict,) = [x for x in letters if x[:3] == (topics.postings, part, off)]
    assert conflict[5].startswith("CONFLICT") and conflict[4] == encoded_conflict and conflict[3] == MEMBER.encode()

    # the valid events around them were applied, nothing else moved
    assert after_bad["balance"] == 700 + 89 and after_bad["qualifying"]["2026"]["points"] == 789
    assert after_conflict["balance"] == 789 and after_conflict["qualifying"] == after_bad["qualifying"]
    assert after_conflict["lots"] == after_bad["lots"] == [{"expires_on": "2029-01-31", "points": 789}]
    by_source = checks.decisions_by_source(kafka_bootstrap, topics.decisions)
    assert sorted(by_source) == ["P:D-OK-1", "P:D-OK-2"]
    assert [d["base_points"] for d in by_source["P:D-OK-1"]] == [700]  # the conflict decided nothing
    entries, problems = checks.ledger(kafka_bootstrap, topics.ledger)
    assert problems == [] and sorted(e["points"] for e in entries.values()) == [89, 700]
