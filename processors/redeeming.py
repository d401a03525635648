"""Deciding a member's redemption (points out of the lots that expire first) and its cancellation
(points back into the lots they came from, the expired part forfeited); quotes: processors.redemption."""
from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from . import lots as lot_ops
from .model import RedemptionRequest
from .records import SourceRecord
from .redemption import quote
from .validity import jst_date

if TYPE_CHECKING:
    from .member import Context, Member


def decide(m: Member, req: RedemptionRequest, fp: str, ctx: Context) -> SourceRecord:
    """A redemption request or its cancellation, decided against the member's lots (which it changes)."""
    def rejected(reason: str) -> SourceRecord:
        return SourceRecord(fp, "REJECTED", reason)
    if m.enrolled_on is None:
        return rejected("UNKNOWN_MEMBER")
    if m.enrollment_state == "CLOSED":
        return rejected("MEMBER_CLOSED")
    as_of = jst_date(req.requested_at)
    if req.award == "CANCEL":
        return _cancel(m, req, fp, as_of)
    q = quote(req, ctx.cfg)
    if q.reason:
        return rejected(q.reason)
    used = lot_ops.spend(m.lots, q.points, as_of)
    if used is None:
        return rejected("INSUFFICIENT_POINTS")
    m.changes.lots = True
    return SourceRecord(fp, "APPROVED", entries=[m._entry("REDEEM", -q.points, None)],
                        points=q.points, lots_used=used)


def _cancel(m: Member, req: RedemptionRequest, fp: str, as_of: date) -> SourceRecord:
    """A cancellation gives the points back to the lots they came from; what expired meanwhile is lost."""
    orig_sid = f"R:{req.cancels_request_id}"
    orig = m.src.get(orig_sid) if req.cancels_request_id else None
    if orig is None:
        return SourceRecord(fp, "REJECTED", "UNKNOWN_REQUEST")
    if orig.outcome != "APPROVED" or orig.lots_used == [] or orig.points <= 0 \
            or not orig.entries or orig.entries[0].type != "REDEEM":  # a cancellation is not cancellable
        return SourceRecord(fp, "REJECTED", "NOT_CANCELLABLE")
    if orig.cancelled_by:
        return SourceRecord(fp, "REJECTED", "ALREADY_CANCELLED")
    restored, forfeited = lot_ops.restore(m.lots, orig.lots_used, as_of)
    for lot, _ in restored:  # the expiry job may have dropped the member from this lot's index
        m.effects.index.add(("lots", lot.isoformat()))
    orig.cancelled_by = req.request_id
    m.new_src.add(orig_sid)
    m.changes.lots = True
    lost = sum(p for _, p in forfeited)
    total = sum(p for _, p in restored) + lost
    entries = [m._entry("REFUND", total, None, m.balance + lost)]
    if lost:
        entries.append(m._entry("EXPIRE", -lost, forfeited[0][0]))
    return SourceRecord(fp, "APPROVED", detail=f"cancels {orig_sid}", entries=entries, points=total,
                        lots_used=restored)
