"""The engine's part of the membership office inputs: adjustments, claims and the charges kept
for claims. Called from ``streams.engine.batch`` at a few points of a batch (kept apart so the engine
module stays about batches)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from processors.claims import candidate_ids
from processors.corrections import corrected_id
from processors.office_model import AdjustmentDecision, ClaimSubject
from processors.outcomes import Decision
from processors.validity import jst_date
from streams.engine.events import DOMAIN_CLASSES, fingerprint, with_member
from streams.engine.messages import BatchResult, Item
from streams.engine.ports import KeptCharges

if TYPE_CHECKING:
    from streams.engine.batch import Engine


def kept_charges(engine: Engine) -> KeptCharges:
    return engine.store.kept_charges(engine.topics, lambda raw: engine.codec.decode_domain(raw, DOMAIN_CLASSES)[1])


def route_memberless(engine: Engine, memberless: list, by_member: dict, ctx, result: BatchResult) -> None:
    """Memberless inputs: a correction of a claimed charge goes to the member who claimed it; every
    other charge is decided NO_MEMBER as before and kept for claims; the rest is rejected."""
    if not memberless:
        return
    charges = [ev for kind, ev, _, _ in memberless if kind == "charge"]
    owners = engine.kept.owners_of_originals(charges)
    keep = []
    for kind, ev, topic, msg in memberless:
        if kind == "charge":
            orig = corrected_id(ev)
            owner = owners.get(orig) if orig else None
            if owner:
                item = Item("charge", with_member(ev, owner), topic, msg.value, fingerprint(msg.value))
                result.origins.setdefault(item.fp, (msg.topic, msg.partition, msg.offset, msg.key))
                by_member[owner].append(item)
                continue
            if orig is None:
                keep.append((ev, msg.value))
        engine._memberless(kind, ev, topic, ctx, result, msg)
    if keep:
        for key, value in engine.kept.keep(keep, ctx.cfg.office.claim_window_days, ctx.now):
            if engine.changelog:
                result.records.append(engine.out.state(key, value))


def find_claims(engine: Engine, by_member: dict) -> None:
    claims = [(mid, it) for mid, items in by_member.items() for it in items if it.kind == "claim"]
    if not claims:
        return
    found = engine.kept.find([(mid, it.event, candidate_ids(it.event)) for mid, it in claims])
    for _, it in claims:
        it.kept = found.get(it.event.claim_id)


def reserve_claims(engine: Engine, changed: list, pending: dict, result: BatchResult) -> set[str]:
    """Before the members' save: mark each charge a new claim takes as taken. Members whose claim
    lost the charge to another claim meanwhile are returned: they are decided again (ALREADY_CREDITED)."""
    lost: set[str] = set()
    for m in changed:
        for it in pending.get(m.member_id, ()):
            if it.kind != "claim" or not it.kept or it.kept[0] is None or it.kept[1]:
                continue
            csid = it.event.claim_source_id
            rec = m.src.get(csid)
            if csid not in m.new_src or rec is None or rec.outcome == "REJECTED":
                continue
            sid = it.kept[0].source_id
            if engine.kept.reserve(m.member_id, it.event, sid):
                if engine.changelog:
                    result.records.append(engine.out.state(f"c|{sid}", f"{m.member_id}|{it.event.claim_id}".encode()))
            else:
                it.kept = (it.kept[0], True)
                lost.add(m.member_id)
    return lost


def memberless_request(engine: Engine, kind: str, ev, topic: str, ctx, result: BatchResult) -> None:
    """An adjustment or claim without member id: REJECTED UNKNOWN_MEMBER, recorded on its output."""
    if kind == "adjust":
        result.records.append(adjustment_record(engine, ev.member_id or "", AdjustmentDecision(
            ev, "REJECTED", "UNKNOWN_MEMBER", 0, [], 0, 0)))
        return
    sid = candidate_ids(ev)[0]
    subject = ClaimSubject("", jst_date(ev.requested_at), ev.requested_at)
    d = Decision(sid, topic, subject, "REJECTED", "UNKNOWN_MEMBER", f"claim {ev.claim_id}: no member id",
                 decision_id=ev.claim_source_id)
    result.outcomes[(d.outcome, d.reason)] += 1
    result.records.append(engine.out.decision(None, d, ctx.cfg.version))


def adjustment_record(engine: Engine, member_id: str, a: AdjustmentDecision) -> Any:
    adj = a.adjustment
    return engine.out._rec(engine.topics.adjustment_results, "AdjustmentResult", member_id, {
        "adjustment_id": adj.adjustment_id, "member_id": member_id, "outcome": a.outcome, "reason": a.reason,
        "points": a.points if a.outcome == "APPLIED" else 0,
        "lots": [{"expires_on": lot, "points": p} for lot, p in a.lots],
        "debt_change": a.debt_change, "balance_after": a.balance_after, "reason_code": adj.reason,
        "operator": adj.operator, "requested_at": adj.requested_at,
    })
