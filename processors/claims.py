"""Missing-points claims (program-rules §4a; topic charges.claims.v1).

A charge published without a member id is kept by the engine (by source id) for the claim window.
A claim attaches it to the member: the charge is decided exactly as if it had carried the member id
(same eligibility, FX, bonus by the status of its business date, qualifying year, lot), and the
member's source record of the charge is the one a later correction reverses. The claim gets one
decision (ChargeDecision, ``decision_id`` ``K:<claim_id>``): EARNED (or EXCLUDED/HELD as the charge
itself would be), or REJECTED with CHARGE_NOT_FOUND, ALREADY_CREDITED, CLAIM_WINDOW_PASSED,
BEFORE_ENROLLMENT, UNKNOWN_MEMBER, MEMBER_CLOSED. Idempotent by claim id (``K:<claim_id>``).

Pure: the engine finds the kept charge and who else claimed it (Redis) and passes them in.
"""
from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from typing import TYPE_CHECKING

from .model import FolioPosting, Reason, original_source_id
from .office_model import ChargeClaim, ClaimSubject, KeptCharge
from .outcomes import Decision, PointMove
from .records import HeldEvent, SourceRecord
from .validity import jst_date

if TYPE_CHECKING:
    from .member import Context, Member


def candidate_ids(claim: ChargeClaim) -> list[str]:
    """The source ids a claim may name: ``P:x``/``B:x`` as given, else both for a bare id."""
    s = claim.source_id.strip()
    if s[:2] in ("P:", "B:"):
        return [s]
    return ["P:" + s, "B:" + s]


def handle_claim(m: Member, claim: ChargeClaim, fp: str, raw: bytes, topic: str, kept: KeptCharge | None,
                 claimed_by_other: bool, ctx: Context) -> None:
    csid = claim.claim_source_id
    rec = m.src.get(csid)
    if rec is not None:
        if rec.fingerprint != fp:
            m._conflict(topic, raw, csid)
        else:
            _replay(m, claim, rec, topic)
        return
    rec = _decide(m, claim, fp, topic, kept, claimed_by_other, ctx)
    m._record(csid, rec)
    _replay(m, claim, rec, topic, moves=False)


def _subject(kept: KeptCharge | None, claim: ChargeClaim, topic: str) -> dict[str, str]:
    if kept is None:
        return {"c": candidate_ids(claim)[0], "h": "", "d": jst_date(claim.requested_at).isoformat(),
                "t": claim.requested_at.isoformat(), "tp": topic}
    ev = kept.event
    at = ev.posted_at if isinstance(ev, FolioPosting) else ev.closed_at
    return {"c": kept.source_id, "h": ev.hotel_code, "d": ev.business_date.isoformat(), "t": at.isoformat(),
            "tp": kept.topic}


def _decide(m: Member, claim: ChargeClaim, fp: str, topic: str, kept: KeptCharge | None,
            claimed_by_other: bool, ctx: Context) -> SourceRecord:
    subject = _subject(kept, claim, topic)

    def rejected(reason: str) -> SourceRecord:
        return SourceRecord(fp, "REJECTED", reason, json.dumps(subject))
    if m.enrolled_on is None:
        return rejected(Reason.UNKNOWN_MEMBER.value)
    if m.enrollment_state == "CLOSED":
        return rejected(Reason.MEMBER_CLOSED.value)
    credited = [sid for sid in candidate_ids(claim) if sid in m.src]
    if credited:
        subject["c"] = credited[0]
        return rejected("ALREADY_CREDITED")
    # kept until the end of the day after the window (streams/redis/kept_charges.py); Redis expires it in
    # its own time, the engine's clock decides (time is an input: replays and scenario clocks)
    if kept is None or (jst_date(ctx.now) - kept.event.business_date).days > ctx.cfg.office.claim_window_days + 1:
        return rejected("CHARGE_NOT_FOUND")
    if claimed_by_other:
        return rejected("ALREADY_CREDITED")
    ev = kept.event
    if (jst_date(claim.requested_at) - ev.business_date).days > ctx.cfg.office.claim_window_days:
        return rejected("CLAIM_WINDOW_PASSED")
    if ev.business_date < m.enrolled_on:
        return rejected(Reason.BEFORE_ENROLLMENT.value)
    sid = kept.source_id
    n_decisions = len(m.effects.decisions)
    h = HeldEvent(sid, kept.topic, dataclasses.replace(ev, member_id=m.member_id), kept.raw, kept.fingerprint,
                  "", ctx.now, claim_id=claim.claim_id)
    m.touched.clear()
    final = m._decide_charge(h, ctx)
    if final:  # a closed year it counts for is evaluated again, as with the member id on it
        m._late_posting(sid, ctx)
    # the charge's own decision is replaced by the claim's (its id P:/B: was taken by NO_MEMBER)
    mine = [d for d in m.effects.decisions[n_decisions:] if d.source_id == sid]
    m.effects.decisions[n_decisions:] = [d for d in m.effects.decisions[n_decisions:] if d.source_id != sid]
    if final and m.held:
        m.retry_held(ctx, lambda x: x.reason == Reason.AWAITING_ORIGINAL.value and original_source_id(x.event) == sid)
    d = mine[-1] if mine else None
    outcome = d.outcome if d is not None else "HELD"
    return SourceRecord(fp, outcome, d.reason if d is not None else None, json.dumps(subject))


def _replay(m: Member, claim: ChargeClaim, rec: SourceRecord, topic: str, moves: bool = True) -> None:
    """The claim's decision (and, for a redelivered claim, the ledger entries of the charge). A claim
    whose charge was held and has been released since replays the charge's final decision."""
    s = json.loads(rec.detail or "{}")
    sid, at = s.get("c", ""), datetime.fromisoformat(s["t"])
    bd = datetime.fromisoformat(s["d"]).date()
    subject = ClaimSubject(s.get("h", ""), bd, at)
    outcome, reason = rec.outcome, rec.reason
    charge = m.src.get(sid) if outcome in ("EARNED", "EXCLUDED", "HELD") else None
    if outcome == "HELD" and charge is not None:
        outcome, reason = charge.outcome, charge.reason
    d = claim_decision(claim.claim_id, sid, s.get("tp", topic), subject, outcome, reason, charge)
    if moves and charge is not None and outcome in ("EARNED", "EXCLUDED"):
        for e in charge.entries:
            m.effects.moves.append(PointMove(f"{m.member_id}/{sid}/{e.type}", sid, e, at, subject.hotel_code, bd))
        m.effects.status_changes.extend(charge.status_changes)
    m.effects.decisions.append(d)


def claim_decision(claim_id: str, sid: str, topic: str, subject: object, outcome: str, reason: str | None,
                   charge: SourceRecord | None) -> Decision:
    """The decision of claim ``claim_id`` on charge ``sid`` (``charge``: the member's record of it once
    decided): under the claim's id ``K:<claim_id>`` (``.../HELD/<reason>`` while held), never the
    charge's own, which carries its NO_MEMBER decision. The same on every path (decided at once,
    released from a hold, replayed)."""
    text = {"CHARGE_NOT_FOUND": f"no charge without member id is kept as {sid}",
            "ALREADY_CREDITED": f"{sid} was already credited to a member",
            "CLAIM_WINDOW_PASSED": f"{sid} is older than the claim window"}.get(reason or "", f"claims {sid}")
    detail = f"claim {claim_id}: {text}"
    did = "K:" + claim_id
    if charge is not None and outcome in ("EARNED", "EXCLUDED"):
        return Decision(sid, topic, subject, outcome, reason, detail, charge.eligible_amount_jpy, charge.fx_rate,
                        charge.base, charge.bonus, 0, charge.nights, decision_id=did)
    return Decision(sid, topic, subject, outcome, reason, detail, decision_id=did)
