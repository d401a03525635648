"""A corpus of bad input through Kafka: every message ends in loyalty.dlq.v1 (original key and bytes,
headers origin.topic/partition/offset/error) or as a REJECTED/EXCLUDED decision with its reason; the
worker never stops, no balance changes, and the offsets move on (a valid event after the corpus is
applied). And: a dead letter that cannot be published keeps its offset uncommitted.

Avro bodies are written by hand below (zig-zag varints, length-prefixed strings, two's-complement
decimal bytes) so that values no encoder would produce — an enum index past the last symbol, a
30-digit amount — can be sent.
"""
from __future__ import annotations

import random
import time
from datetime import UTC, date, datetime
from decimal import Decimal
from io import BytesIO

import fastavro
import pytest

from schemas.codec import Codec
from streams.kafka.topics import Topics
from streams.web.member_view import member_json
from tests.harness import Publisher, RunningWorker, enrollment, posting, read_topic, settings_for, wait_processed

MEMBER = "OH8800001"
FP = {name: Codec().fingerprint(name) for name in ("FolioPosting", "PosBill", "MemberEnrollment")}
EPOCH = date(1970, 1, 1)


# ---------------------------------------------------------------- Avro by hand
def _long(n: int) -> bytes:
    n = (n << 1) ^ (n >> 63)
    out = bytearray()
    while n & ~0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _str(s: str | bytes) -> bytes:
    b = s.encode() if isinstance(s, str) else s
    return _long(len(b)) + b


def _opt(s: str | None) -> bytes:
    return _long(0) if s is None else _long(1) + _str(s)


def _decimal(unscaled: int) -> bytes:
    size = max(1, (unscaled.bit_length() + 8) // 8)
    return _str(unscaled.to_bytes(size, "big", signed=True))


CATEGORIES = ["ROOM", "FOOD_BEVERAGE", "OTHER_SERVICE", "TAX", "SERVICE_CHARGE", "SHOPPING_ARCADE"]
CHANNELS = ["RESERVATION_CENTER", "OFFICIAL_WEBSITE", "DIRECT", "TRAVEL_AGENCY", "OTHER"]


def posting_bytes(pid: str, *, member: str | None = MEMBER, hotel: str | bytes = "OKURA-TOKYO",
                  bdate_days: int | None = None, category: int = 0, amount_unscaled: int = 35000_0000,
                  currency: str = "JPY", nights: int = 1, channel: int = 2, header: bytes | None = None) -> bytes:
    """A FolioPosting in single-object encoding, field by field (amount has scale 4)."""
    days = (date(2026, 3, 14) - EPOCH).days if bdate_days is None else bdate_days
    millis = days * 86_400_000 + 3 * 3_600_000
    body = (_str(pid) + _str(hotel) + _str(f"R-{pid}") + _opt(member) + _long(days) + _long(millis)
            + _long(category) + _decimal(amount_unscaled) + _str(currency) + _long(nights) + _long(channel)
            + _opt(None) + _opt(None))
    return (b"\xc3\x01" + FP["FolioPosting"] if header is None else header) + body


def _days(d: date) -> int:
    return (d - EPOCH).days


def _without_field(schema_name: str, field: str, record: dict) -> bytes:
    """``record`` written with the schema minus ``field`` (a producer on an incompatible schema version)
    but framed with the real schema's fingerprint."""
    schema = dict(Codec().schema(schema_name).raw)
    schema["fields"] = [f for f in schema["fields"] if f["name"] != field]
    buf = BytesIO()
    fastavro.schemaless_writer(buf, fastavro.parse_schema(schema), record)
    return b"\xc3\x01" + FP[schema_name] + buf.getvalue()


# ---------------------------------------------------------------- the corpus
def corpus(topics) -> list[tuple[str, str, bytes | None, bytes | None, tuple]]:
    """(name, topic, key, value, expected): expected ("dlq", error substring) or ("decision", source id,
    outcome, reason)."""
    codec = Codec()
    good = posting_bytes("P-SHAPE")
    rnd = random.Random(5)
    mb5 = b"X" + rnd.randbytes(5 * 1024 * 1024)
    pt, bt, et = topics.postings, topics.bills, topics.enrollments
    k = MEMBER.encode()
    rec = {"posting_id": "P-MISSING", "hotel_code": "OKURA-TOKYO", "reservation_id": "R1", "member_id": MEMBER,
           "business_date": date(2026, 3, 14), "posted_at": datetime(2026, 3, 14, 3, tzinfo=UTC),
           "category": "ROOM", "amount": Decimal("35000.0000"), "currency": "JPY", "booking_channel": "DIRECT",
           "rate_plan": None, "corrects_posting_id": None}
    bill_wrong_topic = codec.encode("PosBill", {
        "bill_id": "B-WRONG-TOPIC", "hotel_code": "OKURA-TOKYO", "outlet_code": "O", "outlet_type": "RESTAURANT",
        "member_id": MEMBER, "business_date": date(2026, 3, 14),
        "closed_at": datetime(2026, 3, 14, 11, tzinfo=UTC), "currency": "JPY",
        "lines": [{"kind": "FOOD", "amount": Decimal("1000")}],
        "paid_with_points_amount": Decimal("0"), "voids_bill_id": None})
    enr_empty = codec.encode("MemberEnrollment", {"member_id": "", "enrolled_on": date(2026, 1, 1),
                                                  "state": "ACTIVE"})
    return [
        ("not Avro", pt, k, b"hello, this is not Avro", ("dlq", "not Avro framing")),
        ("truncated Avro", pt, k, good[: len(good) // 2], ("dlq", "truncated")),
        ("unknown fingerprint", pt, k, b"\xc3\x01" + b"\x13" * 8 + good[10:], ("dlq", "unknown schema fingerprint")),
        ("Confluent framing without a registry", pt, k, b"\x00\x00\x00\x00\x07" + good[10:], ("dlq", "registry")),
        ("unknown enum symbol", pt, k, posting_bytes("P-ENUM", category=len(CATEGORIES) + 3), ("dlq", "enum")),
        ("unknown channel symbol", pt, k, posting_bytes("P-CHANNEL", channel=len(CHANNELS)), ("dlq", "enum")),
        ("negative enum index", pt, k, posting_bytes("P-NEGCHANNEL", channel=-1), ("dlq", "enum")),
        ("missing required field", pt, k, _without_field("FolioPosting", "nights", rec), ("dlq", "DecodeError")),
        ("trailing garbage", pt, k, good.replace(b"P-SHAPE", b"P-TRAIL") + b"\x00\x01", ("dlq", "trailing")),
        ("date beyond Python", pt, k, posting_bytes("P-FARDATE", bdate_days=2**31 - 1), ("dlq", "DecodeError")),
        ("a PosBill on the postings topic", pt, k, bill_wrong_topic, ("dlq", "got PosBill")),
        ("no value (tombstone)", pt, k, None, ("dlq", "empty")),
        ("enrollment without member id", et, b"", enr_empty, ("dlq", "member")),
        ("non-UTF-8 key, not Avro", pt, b"\xff\xfe\xfd", b"\xffnot avro either", ("dlq", "not Avro framing")),
        ("5 MB not Avro", pt, k, mb5, ("dlq", "not Avro framing")),
        ("negative nights", pt, k, posting_bytes("P-NEGNIGHTS", nights=-1),
         ("decision", "P:P-NEGNIGHTS", "REJECTED", "INVALID_NIGHTS")),
        ("30-digit amount", pt, k, posting_bytes("P-HUGE", amount_unscaled=10**29 + 12345),
         ("decision", "P:P-HUGE", "REJECTED", "INVALID_AMOUNT")),
        ("negative amount, not a correction", pt, k, posting_bytes("P-NEG", amount_unscaled=-35000_0000),
         ("decision", "P:P-NEG", "REJECTED", "INVALID_AMOUNT")),
        ("unknown currency", pt, k, posting_bytes("P-CUR", currency="yen"),
         ("decision", "P:P-CUR", "REJECTED", "UNKNOWN_CURRENCY")),
        ("currency not the hotel's", pt, k, posting_bytes("P-USD", currency="USD"),
         ("decision", "P:P-USD", "REJECTED", "CURRENCY_MISMATCH")),
        ("unknown hotel", pt, k, posting_bytes("P-HOTEL", hotel="NO-SUCH-HOTEL"),
         ("decision", "P:P-HOTEL", "REJECTED", "UNKNOWN_HOTEL")),
        ("business date 1900", pt, k, posting_bytes("P-1900", bdate_days=_days(date(1900, 1, 1))),
         ("decision", "P:P-1900", "REJECTED", "INVALID_DATE")),
        ("business date 2100", pt, k, posting_bytes("P-2100", bdate_days=_days(date(2100, 1, 1))),
         ("decision", "P:P-2100", "REJECTED", "INVALID_DATE")),
        ("empty member id", pt, b"R-P-EMPTY", posting_bytes("P-EMPTY", member=""),
         ("decision", "P:P-EMPTY", "EXCLUDED", "NO_MEMBER")),
        ("blank member id", pt, b"R-P-BLANK", posting_bytes("P-BLANK", member="   "),
         ("decision", "P:P-BLANK", "EXCLUDED", "NO_MEMBER")),
        ("non-UTF-8 key, no member", pt, b"\xc3\x28", posting_bytes("P-BINKEY", member=None),
         ("decision", "P:P-BINKEY", "EXCLUDED", "NO_MEMBER")),
        ("5 MB hotel code", pt, k, posting_bytes("P-BIG", hotel=b"H" * (5 * 1024 * 1024)),
         ("decision", "P:P-BIG", "REJECTED", "UNKNOWN_HOTEL")),
        ("bill line with a negative amount", bt, k, Codec().encode("PosBill", {
            "bill_id": "B-NEG", "hotel_code": "OKURA-TOKYO", "outlet_code": "O", "outlet_type": "RESTAURANT",
            "member_id": MEMBER, "business_date": date(2026, 3, 14),
            "closed_at": datetime(2026, 3, 14, 11, tzinfo=UTC), "currency": "JPY",
            "lines": [{"kind": "FOOD", "amount": Decimal("-1000")}],
            "paid_with_points_amount": Decimal("0"), "voids_bill_id": None}),
         ("decision", "B:B-NEG", "REJECTED", "INVALID_AMOUNT")),
    ]


def _big_producer_publisher(bootstrap, topics) -> Publisher:
    from streams.kafka.clients import make_producer
    pub = Publisher(bootstrap, topics)
    pub.producer = make_producer(bootstrap, **{"message.max.bytes": 10 * 1024 * 1024})
    return pub


def test_bad_input_corpus(kafka_bootstrap, redis_url, redis_clean, topics, unique):
    """Invariant: every message of the corpus ends in the DLQ (original key and bytes, origin headers,
    a clear error) or as a REJECTED/EXCLUDED decision with the expected reason — exactly one of the
    two; the worker keeps running; the member's balance is untouched by the corpus; the group's
    offsets reach the end and the valid posting published after the corpus is applied."""
    s = settings_for(kafka_bootstrap, redis_url, topics, unique)
    pub = _big_producer_publisher(kafka_bootstrap, topics)
    pub.send("enrollments", enrollment(MEMBER))
    cases = corpus(topics)
    for _name, topic, key, value, _ in cases:
        pub.producer.produce(topic, value, key)
        pub.producer.poll(0)
    pub.send("postings", posting("P-GOOD", MEMBER, "10000"))  # 200 points, after the corpus
    pub.flush()
    with RunningWorker(s) as w:
        wait_processed(s, timeout=90)
        assert w.thread.is_alive() and w.error is None
        view = member_json(w.worker.engine.store, MEMBER)
    assert view["balance"] == 200, view
    assert view["lots"] == [{"expires_on": "2029-01-31", "points": 200}], view
    assert view["qualifying"] == {"2026": {"points": 200, "nights": 1, "carried_points": 0,
                                           "carried_nights": 0}}, view

    sent = {}
    for t in (topics.postings, topics.bills, topics.enrollments):
        for m in read_topic(kafka_bootstrap, t, timeout=30):
            sent[(t, m.value())] = (m.partition(), m.offset(), m.key())
    dlq = {}
    for m in read_topic(kafka_bootstrap, topics.dlq, timeout=30):
        h = {k: v.decode(errors="replace") for k, v in (m.headers() or [])}
        dlq[(h["origin.topic"], int(h["origin.partition"]), int(h["origin.offset"]))] = (m.key(), m.value(), h)
    codec = Codec()
    decisions: dict[str, set] = {}
    for m in read_topic(kafka_bootstrap, topics.decisions, timeout=30):
        d = codec.decode(m.value())[1]
        decisions.setdefault(d["source_id"], set()).add((d["outcome"], d["reason"]))

    problems = []
    for name, topic, key, value, want in cases:
        partition, offset, got_key = sent[(topic, value)]
        in_dlq = dlq.get((topic, partition, offset))
        if want[0] == "dlq":
            if in_dlq is None:
                problems.append(f"{name}: not in the DLQ")
                continue
            dkey, dvalue, h = in_dlq
            if dvalue != (value or b"") or dkey != key:
                problems.append(f"{name}: DLQ record does not carry the original key/bytes ({dkey!r})")
            if want[1].lower() not in h["error"].lower():
                problems.append(f"{name}: DLQ error {h['error']!r} does not mention {want[1]!r}")
        else:
            _, sid, outcome, reason = want
            if in_dlq is not None:
                problems.append(f"{name}: dead-lettered ({in_dlq[2]['error']}) instead of a decision")
            if decisions.get(sid) != {(outcome, reason)}:
                problems.append(f"{name}: decisions {decisions.get(sid)} != {{({outcome}, {reason})}}")
    assert not problems, "\n".join(problems)
    assert len(dlq) == sum(1 for c in cases if c[4][0] == "dlq"), sorted(h["error"] for _, _, h in dlq.values())
    assert decisions.get("P:P-GOOD") == {("EARNED", None)}


def test_dead_letter_that_cannot_be_published_keeps_the_offset(kafka_bootstrap, redis_url, redis_clean, topics,
                                                                unique):
    """Invariant: when the dead-letter record cannot be delivered (here: the DLQ is configured with a
    topic name the broker refuses), the batch counts as failed: neither the Redis position nor the Kafka
    offset moves past the bad message, the worker keeps running and retries; once the DLQ can be
    produced to again, the bad message is dead-lettered (once) and the offset moves on."""
    bad_topics = Topics(topics.prefix)
    bad_topics.dlq = "no such topic!"  # an invalid topic name: the broker answers "Invalid topic"
    s = settings_for(kafka_bootstrap, redis_url, bad_topics, unique)
    pub = Publisher(kafka_bootstrap, topics)
    pub.send("enrollments", enrollment(MEMBER))
    pub.producer.produce(topics.postings, b"not avro", MEMBER.encode())
    pub.send("postings", posting("P-AFTER", MEMBER, "10000"))
    pub.flush()
    from streams.kafka.lag import committed_offsets
    from tests.reliability.support import redis_positions
    with RunningWorker(s) as w:
        deadline = time.monotonic() + 30
        while "DeliveryFailed" not in (w.worker.last_error or "") and time.monotonic() < deadline:
            time.sleep(0.1)
        assert "Invalid topic" in (w.worker.last_error or ""), w.worker.last_error
        time.sleep(2.5)  # a couple of retries
        assert w.thread.is_alive()
        committed = committed_offsets(kafka_bootstrap, unique, [topics.postings])
        positions = redis_positions(redis_url, unique, list(committed))
        assert all(v in (None, 0) for v in committed.values()), committed
        assert not positions, positions
        assert read_topic(kafka_bootstrap, topics.dlq) == []
        w.worker.engine.out.t.dlq = topics.dlq  # the DLQ is back
        wait_processed(s, timeout=30)
        view = member_json(w.worker.engine.store, MEMBER)
    assert view["balance"] == 200
    dlq = read_topic(kafka_bootstrap, topics.dlq)
    assert [m.value() for m in dlq] == [b"not avro"]


def test_negative_enum_index_is_refused():
    """A negative enum index is invalid Avro; the engine's decoder (generated, stricter than fastavro
    1.13, which reads it as symbols[-n]) refuses it: DecodeError (-> DLQ), not the last symbol."""
    from schemas.errors import DecodeError
    from streams.engine.events import DOMAIN_CLASSES
    with pytest.raises(DecodeError):
        Codec().decode_domain(posting_bytes("P-NEGENUM", channel=-1), DOMAIN_CLASSES)
