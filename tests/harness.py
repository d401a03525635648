"""Test helpers: run the engine's worker against the session broker/Redis, publish, wait, read state."""
from __future__ import annotations

import threading
import time

from schemas.codec import Codec
from schemas.jsonio import from_json
from streams.kafka.clients import make_consumer, make_producer
from streams.kafka.lag import wait_until_caught_up
from streams.runtime.bootstrap import build_worker
from streams.runtime.settings import Settings
from streams.runtime.worker import fx_reader_group

RECORDS = {"postings": "FolioPosting", "bills": "PosBill", "fx": "FxRate", "enrollments": "MemberEnrollment",
           "redemptions": "RedemptionRequest"}
OUT_RECORDS = {"ledger": "PointEntry", "decisions": "ChargeDecision", "status": "StatusChange",
               "results": "RedemptionResult", "balances": "MemberBalance"}


def settings_for(bootstrap: str, redis_url: str, topics, group: str, **kw) -> Settings:
    s = Settings(bootstrap=bootstrap, redis_url=redis_url, topics=topics, group=group,
                 session_timeout_ms=6000, **kw)
    return s


class RunningWorker:
    """A Worker (the batch loop, without the faust shell) in a thread."""

    def __init__(self, settings: Settings, clock=None):
        self.settings = settings
        self.worker = build_worker(settings, clock=clock)
        self.stop_event = threading.Event()
        self.thread: threading.Thread | None = None
        self.error: BaseException | None = None

    def _run(self):
        try:
            self.worker.run(self.stop_event)
        except BaseException as exc:  # surfaced by stop()
            self.error = exc

    def __enter__(self) -> RunningWorker:
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        if not self.worker.ready.wait(60):
            raise RuntimeError(f"worker did not start: {self.error}")
        return self

    def stop(self):
        self.stop_event.set()
        if self.thread:
            self.thread.join(30)
        if self.error:
            raise self.error

    def __exit__(self, *exc):
        self.stop()


class Publisher:
    def __init__(self, bootstrap: str, topics):
        self.topics = topics
        self.codec = Codec()
        self.producer = make_producer(bootstrap)

    def send(self, kind: str, obj: dict, key: str | None = None, raw: bytes | None = None):
        topic = getattr(self.topics, kind)
        value = raw if raw is not None else self.codec.encode(RECORDS[kind], from_json(RECORDS[kind], obj))
        if key is None and raw is None and kind == "fx":  # the binding key: CURRENCY:RATE_DATE
            key = f"{obj['currency']}:{obj['rate_date']}"
        elif key is None and raw is None:
            key = obj.get("member_id") or obj.get("posting_id") or obj.get("bill_id")
        self.producer.produce(topic, value, key.encode() if isinstance(key, str) else key)
        self.producer.poll(0)

    def send_many(self, kind: str, objs):
        for o in objs:
            self.send(kind, o)

    def flush(self):
        assert self.producer.flush(30) == 0


def wait_processed(settings: Settings, timeout: float = 60):
    t = settings.topics
    wait_until_caught_up(settings.bootstrap, settings.group, [x for x in t.inputs if x != t.fx], timeout)
    wait_until_caught_up(settings.bootstrap, fx_reader_group(settings.group), [t.fx], timeout)


def read_topic(bootstrap: str, topic: str, timeout: float = 10.0) -> list:
    """Every message of ``topic`` (to the end of each partition): list of confluent Messages."""
    c = make_consumer(f"reader-{topic}-{time.monotonic_ns()}", bootstrap, **{"enable.partition.eof": True})
    try:
        md = c.list_topics(topic, timeout=10)
        parts = list(md.topics[topic].partitions)
        from confluent_kafka import OFFSET_BEGINNING, TopicPartition
        c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in parts])
        pending, out = set(parts), []
        deadline = time.monotonic() + timeout
        while pending and time.monotonic() < deadline:
            for m in c.consume(1000, timeout=0.2):
                if err := m.error():
                    if err.code() == -191:  # _PARTITION_EOF
                        pending.discard(m.partition())
                    continue
                out.append(m)
        assert not pending, f"could not read {topic} to its end"
        return out
    finally:
        c.close()


def decoded(bootstrap: str, topic: str) -> list[dict]:
    codec = Codec()
    return [codec.decode(m.value())[1] for m in read_topic(bootstrap, topic)]


# ---------------------------------------------------------------- event builders (JSON shapes)
def enrollment(member_id: str, enrolled_on: str = "2026-01-01", state: str = "ACTIVE") -> dict:
    return {"member_id": member_id, "enrolled_on": enrolled_on, "state": state}


def posting(pid: str, member_id: str | None, amount: str, *, category="ROOM", nights=None, channel="DIRECT",
            hotel="OKURA-TOKYO", bdate="2026-03-14", currency="JPY", rate_plan=None, corrects=None) -> dict:
    if nights is None:
        nights = 1 if category == "ROOM" and not amount.startswith("-") else 0
    return {"posting_id": pid, "hotel_code": hotel, "reservation_id": f"R-{pid}", "member_id": member_id,
            "business_date": bdate, "posted_at": f"{bdate}T12:00:00+09:00", "category": category,
            "amount": amount, "currency": currency, "nights": nights, "booking_channel": channel,
            "rate_plan": rate_plan, "corrects_posting_id": corrects}


def bill(bid: str, member_id: str | None, lines: list[tuple[str, str]], *, paid_with_points="0",
         outlet_type="RESTAURANT", hotel="OKURA-TOKYO", bdate="2026-03-14", currency="JPY", voids=None) -> dict:
    return {"bill_id": bid, "hotel_code": hotel, "outlet_code": "OUT1", "outlet_type": outlet_type,
            "member_id": member_id, "business_date": bdate, "closed_at": f"{bdate}T20:00:00+09:00",
            "currency": currency, "lines": [{"kind": k, "amount": a} for k, a in lines],
            "paid_with_points_amount": paid_with_points, "voids_bill_id": voids}


def fx_rate(currency: str, rate_date: str, jpy: str) -> dict:
    return {"currency": currency, "rate_date": rate_date, "jpy_per_unit": jpy}


def redemption(rid: str, member_id: str, award: str, quantity: int = 1, *, amount=None, channel=None,
               at="2026-06-01T10:00:00+09:00", cancels=None, hotel="OKURA-TOKYO") -> dict:
    return {"request_id": rid, "member_id": member_id, "award": award, "quantity": quantity,
            "amount_jpy": amount, "hotel_code": hotel, "booking_channel": channel, "requested_at": at,
            "cancels_request_id": cancels}
