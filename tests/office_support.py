"""Builders and helpers for the membership-office tests (adjustments, claims, API, console)."""
from __future__ import annotations

from datetime import datetime

from tests import harness

harness.RECORDS.setdefault("adjustments", "PointAdjustment")
harness.RECORDS.setdefault("claims", "ChargeClaim")

FIXED_NOW = datetime.fromisoformat("2026-04-01T12:00:00+09:00")


def fixed_clock():
    return FIXED_NOW


def adjustment(aid: str, member_id: str, points: int, reason: str = "GOODWILL", *, note: str | None = None,
               operator: str = "tanaka", at: str = "2026-03-20T10:00:00+09:00") -> dict:
    return {"adjustment_id": aid, "member_id": member_id, "points": points, "reason": reason, "note": note,
            "operator": operator, "requested_at": at}


def claim(cid: str, member_id: str, source_id: str, at: str = "2026-03-25T10:00:00+09:00") -> dict:
    return {"claim_id": cid, "member_id": member_id, "source_id": source_id, "requested_at": at}


def member_state(redis, mid: str) -> dict:
    """Everything Redis holds for a member (core hash, source records, held inputs, recent ledger)."""
    tag = "{m:" + mid + "}"
    return {"core": {k: v for k, v in redis.hgetall(tag).items() if k not in (b"n", b"v")},
            "src": redis.hgetall(tag + ":src"), "held": redis.hgetall(tag + ":held"),
            "led": redis.lrange(tag + ":led", 0, -1)}
