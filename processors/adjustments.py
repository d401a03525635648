"""Manual adjustments by the membership office (program-rules §4a; topic members.adjustments.v1).

A credit goes into the lot of its business date's year (the JST date of ``requested_at``), paying
debt first; a debit takes from the soonest-expiring lots and never below zero unless its reason may
create debt (CORRECTION by default). One ledger entry ``ADJUST`` per adjustment. Idempotent by
``adjustment_id`` (source id ``A:<id>``): a redelivery re-emits the stored outcome, the same id with
other content is a CONFLICT dead letter. Rejections (0 points, beyond the limit, unknown reason,
unknown or closed member, not enough points) are recorded too, so a redelivery answers the same.

Pure: the member aggregate calls :func:`handle_adjustment`; no I/O.
"""
from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from . import lots as lot_ops
from .model import Lots
from .office_model import AdjustmentDecision, PointAdjustment
from .outcomes import PointMove
from .records import SourceRecord
from .validity import expiry_date, jst_date

if TYPE_CHECKING:
    from .member import Context, Member

APPLIED, REJECTED = "APPLIED", "REJECTED"
LEDGER_TYPE = "ADJUST"


# ---------------------------------------------------------------- lot operations (one place to merge)
def credit_points(lots: Lots, lot: date, points: int) -> list[tuple[date, int]]:
    """Credit ``points`` into ``lot``, debt repaid first; returns [(lot, points added to it)]."""
    paid = lot_ops.credit(lots, lot, points)
    return [(lot, points - paid)] if points - paid > 0 else []


def debit_points(lots: Lots, points: int, as_of: date, may_create_debt: bool) -> list[tuple[date, int]] | None:
    """Take ``points`` from the soonest-expiring usable lots; what they lack becomes debt when
    allowed, else nothing changes and None is returned. Returns [(lot, points taken)]."""
    if not may_create_debt:
        return lot_ops.spend(lots, points, as_of)
    take = min(points, max(lot_ops.spendable(lots, as_of), 0))
    used = lot_ops.spend(lots, take, as_of) or []
    lots.debt += points - take
    return used


# ---------------------------------------------------------------- the rule
def handle_adjustment(m: Member, adj: PointAdjustment, fp: str, raw: bytes, topic: str, ctx: Context) -> None:
    sid = adj.source_id
    rec = m.src.get(sid)
    if rec is not None:
        if rec.fingerprint != fp:
            m._conflict(topic, raw, sid)
            return
    else:
        rec = _decide(m, adj, fp, ctx)
        m._record(sid, rec)
    _emit(m, adj, rec)


def _rejection(reason: str, fp: str, balance: int) -> SourceRecord:
    return SourceRecord(fp, REJECTED, reason, balance=balance)


def _decide(m: Member, adj: PointAdjustment, fp: str, ctx: Context) -> SourceRecord:
    rules = ctx.cfg.office
    pts = adj.points
    if adj.reason not in rules.adjustment_reasons:
        return _rejection("UNKNOWN_REASON", fp, m.balance)
    if pts == 0:
        return _rejection("ZERO_POINTS", fp, m.balance)
    if abs(pts) > rules.adjustment_limit:
        return _rejection("OVER_LIMIT", fp, m.balance)
    if m.enrolled_on is None:
        return _rejection("UNKNOWN_MEMBER", fp, m.balance)
    if m.enrollment_state == "CLOSED":
        return _rejection("MEMBER_CLOSED", fp, m.balance)
    bd = jst_date(adj.requested_at)
    if pts > 0:
        lot = expiry_date(bd, ctx.cfg)
        moved = credit_points(m.lots, lot, pts)
        m.effects.index.add(("lots", lot.isoformat()))
        entry_lot: date | None = lot
    else:
        used = debit_points(m.lots, -pts, bd, adj.reason in rules.debt_reasons)
        if used is None:
            return _rejection("INSUFFICIENT_POINTS", fp, m.balance)
        moved = used
        entry_lot = used[0][0] if len(used) == 1 else None
    m.changes.lots = True
    if adj.reason in rules.counting_reasons:
        q = m._q(bd.year)
        q.points += pts
    detail = f"{adj.reason} by {adj.operator}" + (f": {adj.note}" if adj.note else "")
    return SourceRecord(fp, APPLIED, None, detail[:500], [m._entry(LEDGER_TYPE, pts, entry_lot)],
                        points=pts, lots_used=moved)


def _emit(m: Member, adj: PointAdjustment, rec: SourceRecord) -> None:
    sid = adj.source_id
    moved = sum(p for _, p in rec.lots_used)
    debt_change = 0
    if rec.outcome == APPLIED:
        debt_change = -(rec.points - moved) if rec.points > 0 else (-rec.points - moved)
    balance = rec.entries[-1].balance_after if rec.entries else (rec.balance if rec.balance is not None else m.balance)
    sign = 1 if rec.points >= 0 else -1
    m.effects.adjustments.append(AdjustmentDecision(
        adj, rec.outcome, rec.reason, rec.points, [(lot, sign * p) for lot, p in rec.lots_used], debt_change, balance))
    for e in rec.entries:
        m.effects.moves.append(PointMove(f"{m.member_id}/{sid}/{e.type}", sid, e, adj.requested_at, None,
                                         jst_date(adj.requested_at)))

