"""Filing adjustments and claims, and reading their outcome — shared by `harmony adjust` /
`harmony claim`, the HTTP API and the office console.

A request is published to its input topic (members.adjustments.v1, charges.claims.v1) like any other
input, and its outcome is read back from the member's source record in Redis (``A:<id>`` or
``K:<id>``), which the worker writes in the same compare-and-set as the balance change. Waiting is a
poll of one HGET every 50 ms.
"""
from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import orjson

from schemas.codec import Codec
from schemas.jsonio import from_json
from streams.kafka.clients import make_producer
from streams.redis.keys import member_keys


class OfficeClient:
    def __init__(self, settings, redis, producer=None, codec: Codec | None = None):
        self.s = settings
        self.redis = redis
        self.codec = codec or Codec(settings.registry_url)
        self._producer = producer

    @property
    def producer(self):
        if self._producer is None:
            self._producer = make_producer(self.s.bootstrap)
        return self._producer

    def _publish(self, topic: str, name: str, record: dict, key: str) -> None:
        value = self.codec.encode(name, from_json(name, record), subject=f"{topic}-value")
        self.producer.produce(topic, value, key.encode())
        if self.producer.flush(15):
            raise RuntimeError(f"the broker did not acknowledge the {name} within 15 s")

    # ------------------------------------------------------------------ filing
    def adjust(self, member_id: str, points: int, reason: str, operator: str, note: str | None = None,
               adjustment_id: str | None = None, requested_at: datetime | None = None) -> str:
        aid = adjustment_id or f"ADJ-{uuid.uuid4().hex[:12]}"
        at = (requested_at or datetime.now(UTC)).isoformat()
        self._publish(self.s.topics.adjustments, "PointAdjustment", {
            "adjustment_id": aid, "member_id": member_id, "points": points, "reason": reason, "note": note,
            "operator": operator, "requested_at": at}, member_id)
        return aid

    def claim(self, member_id: str, source_id: str, claim_id: str | None = None,
              requested_at: datetime | None = None) -> str:
        cid = claim_id or f"CLM-{uuid.uuid4().hex[:12]}"
        at = (requested_at or datetime.now(UTC)).isoformat()
        self._publish(self.s.topics.claims, "ChargeClaim", {
            "claim_id": cid, "member_id": member_id, "source_id": source_id, "requested_at": at}, member_id)
        return cid

    # ------------------------------------------------------------------ outcomes
    def _record(self, member_id: str, sid: str) -> dict | None:
        raw = self.redis.hget(member_keys(member_id)[1], sid)
        return orjson.loads(raw) if raw else None

    def adjustment_outcome(self, member_id: str, adjustment_id: str) -> dict | None:
        rec = self._record(member_id, "A:" + adjustment_id)
        if rec is None:
            return None
        entries = rec.get("e") or []
        return {"adjustment_id": adjustment_id, "member_id": member_id, "outcome": rec["o"],
                "reason": rec.get("r"), "points": rec.get("p", 0), "detail": rec.get("dt"),
                "balance_after": entries[-1][3] if entries else rec.get("bal"),
                "lots": [{"expires_on": lot, "points": p} for lot, p in rec.get("lu", [])]}

    def claim_outcome(self, member_id: str, claim_id: str) -> dict | None:
        rec = self._record(member_id, "K:" + claim_id)
        if rec is None:
            return None
        subject = json.loads(rec.get("dt") or "{}")
        sid = subject.get("c")
        out: dict[str, Any] = {"claim_id": claim_id, "member_id": member_id, "outcome": rec["o"],
                               "reason": rec.get("r"), "source_id": sid, "hotel_code": subject.get("h") or None,
                               "business_date": subject.get("d"), "base_points": 0, "bonus_points": 0, "nights": 0}
        charge = self._record(member_id, sid) if sid and rec["o"] != "REJECTED" else None
        if charge and rec["o"] == "HELD" and charge.get("o") not in (None, "HELD"):
            # a claim held for its charge's exchange rate: the release decided the charge (under
            # the claim's id) without touching the claim's own record; the charge's outcome is it
            out.update(outcome=charge["o"], reason=charge.get("r"))
        if charge:
            entries = charge.get("e") or []
            base = sum(e[1] for e in entries if e[0] == "EARN")
            bonus = sum(e[1] for e in entries if e[0] == "BONUS")
            if "b" in charge:
                base, bonus = charge["b"]
            out.update(base_points=base, bonus_points=bonus, nights=charge.get("n", 0),
                       eligible_amount_jpy=charge.get("ea"))
        return out

    def wait(self, fetch, *args, timeout: float = 10.0) -> dict | None:
        deadline = time.monotonic() + timeout
        while True:
            out = fetch(*args)
            if out is not None or time.monotonic() >= deadline:
                return out
            time.sleep(0.05)
