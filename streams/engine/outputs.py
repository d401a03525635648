"""Output records: the engine's results as Avro messages for the output topics (deterministic ids)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_DOWN, Decimal

from processors.member import Member
from processors.model import FolioPosting
from processors.outcomes import Decision, PointMove, RedemptionDecision, StatusChanged
from processors.status import program_year, validity
from processors.validity import jst_date

AMOUNT = Decimal("0.0001")
RATE = Decimal("0.000001")


@dataclass(slots=True)
class OutRecord:
    topic: str
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, str | bytes | None]] | None = None  # as confluent-kafka's produce() takes them


def _q(value: Decimal | None, step: Decimal) -> Decimal | None:
    return None if value is None else value.quantize(step, rounding=ROUND_DOWN)


def current_status(m: Member, today: date) -> tuple[str, date | None]:
    """The status in force on ``today`` and the last day it is valid (None for REGULAR)."""
    status = m.status_on(today)
    if status == "REGULAR":
        return status, None
    return status, validity(program_year(today) - 1)[1]


class OutputBuilder:
    def __init__(self, topics, codec):
        self.t = topics
        self.codec = codec

    def _rec(self, topic: str, name: str, key: str | bytes | None, record: dict, headers=None) -> OutRecord:
        if isinstance(key, str):
            key = key.encode()
        return OutRecord(topic, key, self.codec.encode_trusted(name, record, subject=f"{topic}-value"), headers)

    def decision(self, member_id: str | None, d: Decision, config_version: str) -> OutRecord:
        ev = d.event
        return self._rec(self.t.decisions, "ChargeDecision", member_id or d.source_id, {
            "decision_id": d.id,
            "source_id": d.source_id, "source_topic": d.topic,
            "member_id": member_id, "hotel_code": ev.hotel_code, "business_date": ev.business_date,
            "outcome": d.outcome, "reason": d.reason, "detail": d.detail,
            "eligible_amount_jpy": _q(d.eligible_amount_jpy, AMOUNT), "fx_rate": _q(d.fx_rate, RATE),
            "base_points": d.base, "bonus_points": d.bonus, "reversed_points": d.reversed, "nights": d.nights,
            "config_version": config_version,
            "event_time": ev.posted_at if isinstance(ev, FolioPosting) else ev.closed_at,
        })

    def entry(self, member_id: str, mv: PointMove, config_version: str) -> OutRecord:
        e = mv.entry
        return self._rec(self.t.ledger, "PointEntry", member_id, {
            "entry_id": mv.entry_id, "member_id": member_id, "type": e.type, "points": e.points,
            "lot_expires_on": e.lot, "source_id": mv.source_id, "hotel_code": mv.hotel_code,
            "business_date": mv.business_date, "occurred_at": mv.occurred_at, "balance_after": e.balance_after,
            "config_version": config_version,
        })

    def redemption(self, member_id: str, r: RedemptionDecision) -> OutRecord:
        req = r.request
        return self._rec(self.t.results, "RedemptionResult", member_id, {
            "request_id": req.request_id, "member_id": member_id, "award": req.award, "outcome": r.outcome,
            "reason": r.reason, "points": r.points,
            "lots_used": [{"expires_on": lot, "points": p} for lot, p in r.lots_used],
            "balance_after": r.balance_after, "requested_at": req.requested_at,
        })

    def rejected_request(self, req, reason: str) -> OutRecord:
        return self.redemption(req.member_id or "", RedemptionDecision(req, "REJECTED", reason, 0, [], 0))

    def status(self, member_id: str, s: StatusChanged) -> OutRecord:
        return self._rec(self.t.status, "StatusChange", member_id, {
            "event_id": s.event_id, "member_id": member_id, "year_evaluated": s.year_evaluated,
            "old_status": s.old_status, "new_status": s.new_status, "valid_from": s.valid_from,
            "valid_until": s.valid_until, "qualifying_points": s.qualifying_points,
            "qualifying_nights": s.qualifying_nights, "carried_points": s.carried_points,
            "carried_nights": s.carried_nights, "qualified_by": s.qualified_by,
        })

    def balance(self, m: Member, now: datetime) -> OutRecord:
        status, until = current_status(m, jst_date(now))
        return self._rec(self.t.balances, "MemberBalance", m.member_id, {
            "member_id": m.member_id, "balance": m.balance, "debt": m.lots.debt, "status": status,
            "status_valid_until": until,
            "lots": [{"expires_on": d, "points": p} for d, p in sorted(m.lots.by_expiry.items()) if p],
            # the version written; a replay (nothing written) reports the stored one
            "version": m.saved_version if m.saved_version is not None else m.version, "updated_at": now,
        })

    def state(self, key: str, value: bytes | None) -> OutRecord:
        """A changelog record of member state (JSON; None deletes the key)."""
        return OutRecord(self.t.state, key.encode(), value)

    def positions(self, group: str, positions: dict[tuple[str, int], int]) -> list[OutRecord]:
        return [self.state(f"p|{group}|{topic}|{partition}", str(offset).encode())
                for (topic, partition), offset in positions.items()]

    def dead_letter(self, topic: str, partition: int, offset: int, key: bytes | None, value: bytes | None,
                    error: str, origin_headers: list | None = None) -> OutRecord:
        headers: list[tuple[str, str | bytes | None]] = [
            ("origin.topic", topic.encode()), ("origin.partition", str(partition).encode()),
            ("origin.offset", str(offset).encode()), ("error", error.encode()[:2000])]
        if origin_headers:  # a replayed record that failed again keeps its replay count (harmony dlq replay)
            headers += [(k, v) for k, v in origin_headers if k.startswith("harmony.replay.")]
        return OutRecord(self.t.dlq, key, value or b"", headers)
