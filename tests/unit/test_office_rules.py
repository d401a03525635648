"""Adjustments and claims in the member aggregate, without I/O (program-rules §4a, §5)."""
from __future__ import annotations

import dataclasses
import tomllib
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from processors.config import ProgramConfig
from processors.fx import FxTable
from processors.member import Context, Member
from processors.model import JST, FolioPosting, FxRate, MemberEnrollment
from processors.office_model import ChargeClaim, KeptCharge, PointAdjustment
from processors.outcomes import Effects

CONFIG = Path(__file__).resolve().parents[2] / "config" / "program.toml"
CFG = ProgramConfig.from_mapping(tomllib.loads(CONFIG.read_text()), str(CONFIG))
CTX = Context(CFG, FxTable(), datetime(2026, 6, 1, tzinfo=JST))
L28, L29 = date(2028, 1, 31), date(2029, 1, 31)
TOPIC = "members.adjustments.v1"


def member(lots=None, debt=0) -> Member:
    m = Member("M1")
    m.handle_enrollment(MemberEnrollment("M1", date(2025, 1, 1), "ACTIVE"), CTX)
    m.lots.by_expiry.update(lots or {})
    m.lots.debt = debt
    return fresh(m)


def fresh(m: Member) -> Member:
    m.changes.clear()
    m.new_src.clear()
    m.held_put.clear()
    m.held_del.clear()
    m.released_loaded.clear()
    m.effects = Effects()
    return m


def adj(aid, points, reason="GOODWILL", at="2026-05-20T10:00:00+09:00", cfg=CTX, m=None, note=None):
    a = PointAdjustment(aid, "M1", points, reason, note, "tanaka", datetime.fromisoformat(at))
    fp = f"{aid}|{points}|{reason}|{at}|{note}"
    m.handle_adjustment(a, fp.encode(), fp, cfg, TOPIC)
    return m.effects.adjustments[-1] if m.effects.adjustments else None


def invariant(m: Member) -> None:
    assert m.balance == sum(m.lots.by_expiry.values()) - m.lots.debt
    assert not (m.lots.debt > 0 and any(p > 0 for p in m.lots.by_expiry.values()))


def test_credit_goes_to_the_lot_of_its_business_date_and_repays_debt_first():
    m = member(debt=300)
    r = adj("A1", 1000, m=m)
    assert (r.outcome, r.debt_change, r.lots, r.balance_after) == ("APPLIED", -300, [(L29, 700)], 700)
    assert m.lots.by_expiry == {L29: 700} and m.lots.debt == 0
    assert [mv.entry.type for mv in m.effects.moves] == ["ADJUST"] and m.effects.moves[0].entry_id == "M1/A:A1/ADJUST"
    assert m.qualifying == {}  # adjustments never count toward status by default
    invariant(m)


def test_debit_takes_the_soonest_expiring_lots_and_never_below_zero():
    m = member({L28: 200, L29: 1000})
    r = adj("A1", -500, m=m)
    assert r.outcome == "APPLIED" and r.lots == [(L28, -200), (L29, -300)]
    assert m.lots.by_expiry == {L29: 700}
    r = adj("A2", -701, m=fresh(m))
    assert (r.outcome, r.reason) == ("REJECTED", "INSUFFICIENT_POINTS") and m.lots.by_expiry == {L29: 700}
    assert not m.effects.moves and m.balance == 700
    invariant(m)


def test_a_correction_may_take_the_balance_below_zero():
    m = member({L29: 100})
    r = adj("A1", -400, "CORRECTION", m=m)
    assert r.outcome == "APPLIED" and r.debt_change == 300 and m.balance == -300 and m.lots.by_expiry == {}
    invariant(m)


def test_bad_adjustments_are_rejected_with_a_reason_and_change_nothing():
    closed = member()
    closed.enrollment_state = "CLOSED"
    cases = [(0, "GOODWILL", member(), "ZERO_POINTS"), (1_000_001, "GOODWILL", member(), "OVER_LIMIT"),
             (-1_000_001, "CORRECTION", member(), "OVER_LIMIT"), (5, "BRIBE", member(), "UNKNOWN_REASON"),
             (5, "GOODWILL", Member("M1"), "UNKNOWN_MEMBER"), (5, "GOODWILL", fresh(closed), "MEMBER_CLOSED")]
    for points, reason, m, why in cases:
        r = adj("A1", points, reason, m=m)
        assert (r.outcome, r.reason) == ("REJECTED", why)
        assert m.balance == 0 and not m.effects.moves and not m.changes
        assert "A:A1" in m.new_src  # recorded: a redelivery gives the same answer


def test_replay_changes_nothing_and_other_content_is_a_conflict():
    m = member({L29: 1000})
    adj("A1", -200, m=m)
    first = (dict(m.lots.by_expiry), [mv.entry for mv in m.effects.moves])
    r = adj("A1", -200, m=fresh(m))
    assert (dict(m.lots.by_expiry), [mv.entry for mv in m.effects.moves]) == first and not m.changed
    assert r.outcome == "APPLIED" and r.balance_after == 800
    fresh(m)
    adj("A1", -300, m=m)
    assert m.effects.dead_letters and m.effects.dead_letters[0].error.startswith("CONFLICT: A:A1")
    assert m.balance == 800


def test_counting_reasons_are_configurable():
    cfg = dataclasses.replace(CFG, office=dataclasses.replace(CFG.office, counting_reasons=("MIGRATION",)))
    ctx = Context(cfg, FxTable(), CTX.now)
    m = member()
    adj("A1", 3000, "MIGRATION", cfg=ctx, m=m)
    adj("A2", 500, "GOODWILL", cfg=ctx, m=m)
    assert m.qualifying[2026].points == 3000


def _walk_in(pid="W-1", amount="50000", bd=date(2026, 5, 1)) -> KeptCharge:
    ev = FolioPosting(pid, "OKURA-TOKYO", "R-1", None, bd, datetime(2026, 5, 1, 12, tzinfo=JST), "ROOM",
                      Decimal(amount), "JPY", 1, "DIRECT")
    return KeptCharge("P:" + pid, "pms.folio-postings.v1", b"raw-" + pid.encode(), ev, "fp-" + pid)


def claim(m, cid, kept, at="2026-05-20T10:00:00+09:00", other=False, ctx=CTX):
    c = ChargeClaim(cid, "M1", kept.source_id if kept else "NOPE", datetime.fromisoformat(at))
    m.handle_claim(c, cid.encode(), "fp-" + cid, ctx, "charges.claims.v1", kept, other)
    return m.effects.decisions[-1]


def test_a_claim_earns_what_the_charge_would_have_earned():
    m = member(debt=100)
    d = claim(m, "C1", _walk_in())
    assert (d.outcome, d.base, d.nights, d.decision_id, d.source_id) == ("EARNED", 1000, 1, "K:C1", "P:W-1")
    assert m.balance == 900 and m.lots.by_expiry == {L29: 900} and m.qualifying[2026].points == 1000
    assert [mv.entry_id for mv in m.effects.moves] == ["M1/P:W-1/EARN"]
    assert len(m.effects.decisions) == 1  # the charge's own decision is replaced by the claim's
    d2 = claim(fresh(m), "C2", _walk_in())
    assert (d2.outcome, d2.reason) == ("REJECTED", "ALREADY_CREDITED") and m.balance == 900
    d3 = claim(fresh(m), "C1", _walk_in())  # redelivery of C1
    assert (d3.outcome, d3.base) == ("EARNED", 1000) and not m.changed and m.balance == 900


def test_claims_rejected_with_reasons():
    assert claim(member(), "C1", None).reason == "CHARGE_NOT_FOUND"
    assert claim(member(), "C1", _walk_in(), other=True).reason == "ALREADY_CREDITED"
    # 181 days after the business date: past the window, but still kept (until the end of the day
    # after it, on the engine's clock: CTX.now is 2026-06-01) -> the window is the reason
    assert claim(member(), "C1", _walk_in(bd=date(2025, 12, 2)), at="2026-06-01T09:00:00+09:00").reason \
        == "CLAIM_WINDOW_PASSED"
    # a year later the charge is gone for the engine, whatever Redis still holds
    assert claim(member(), "C1", _walk_in(bd=date(2025, 5, 1))).reason == "CHARGE_NOT_FOUND"
    assert claim(member(), "C1", _walk_in(bd=date(2024, 12, 31)), at="2025-01-02T10:00:00+09:00",
                 ctx=dataclasses.replace(CTX, now=datetime(2025, 1, 2, 12, tzinfo=JST))).reason == "BEFORE_ENROLLMENT"
    assert claim(Member("M1"), "C1", _walk_in()).reason == "UNKNOWN_MEMBER"


def _usd_walk_in(pid="W-9", amount="300") -> KeptCharge:
    k = _walk_in(pid, amount)
    return dataclasses.replace(k, event=dataclasses.replace(k.event, hotel_code="NIKKO-SAIPAN", currency="USD"))


def _with_usd_rate(ctx=CTX) -> Context:
    fx = FxTable()
    fx.add(FxRate("USD", date(2026, 5, 1), Decimal("150")))
    return dataclasses.replace(ctx, fx=fx)


def test_a_claimed_charge_held_for_its_rate_is_decided_under_the_claims_ids():
    """The charge's own id carries its NO_MEMBER decision: neither the claim's HELD decision nor
    the EARNED one on release may reuse it, nor share an id with each other."""
    m = member()
    held = claim(m, "C1", _usd_walk_in())
    assert (held.outcome, held.reason, held.source_id) == ("HELD", "AWAITING_FX_RATE", "P:W-9")
    assert held.id == "K:C1/HELD/AWAITING_FX_RATE"
    assert m.held["P:W-9"].claim_id == "C1" and not m.effects.moves
    # as the store reads the hold back: decoded from the kept charge's bytes, without member id
    m.held["P:W-9"] = dataclasses.replace(m.held["P:W-9"], event=_usd_walk_in().event)
    fresh(m).retry_held(_with_usd_rate(), lambda h: h.currency == "USD")
    [earned] = m.effects.decisions
    assert (earned.outcome, earned.base, earned.source_id, earned.id) == ("EARNED", 900, "P:W-9", "K:C1")
    assert earned.detail == "claim C1: claims P:W-9"
    assert [mv.entry_id for mv in m.effects.moves] == ["M1/P:W-9/EARN"] and m.balance == 900
    # what the claim would have said had the rate been there (the non-held path): same id, same content
    direct = member()
    d = claim(direct, "C1", _usd_walk_in(), ctx=_with_usd_rate())
    assert (d.id, d.outcome, d.base, d.detail, d.eligible_amount_jpy, d.fx_rate) == \
        (earned.id, earned.outcome, earned.base, earned.detail, earned.eligible_amount_jpy, earned.fx_rate)
    # the released marker's republish (a crash before the outputs were surely published): same id
    fresh(m).released_loaded.add("P:W-9")
    m.replay_released()
    assert [x.id for x in m.effects.decisions] == ["K:C1"]
    # a redelivered claim after the release replays the final decision under the claim's id
    again = claim(fresh(m), "C1", _usd_walk_in())
    assert (again.id, again.outcome, again.base) == ("K:C1", "EARNED", 900) and not m.changed
    assert [mv.entry_id for mv in m.effects.moves] == ["M1/P:W-9/EARN"]


def test_a_redelivered_claim_still_held_replays_its_held_decision():
    m = member()
    claim(m, "C1", _usd_walk_in())
    again = claim(fresh(m), "C1", _usd_walk_in())
    assert (again.id, again.outcome) == ("K:C1/HELD/AWAITING_FX_RATE", "HELD") and not m.changed


def test_a_claim_revises_a_closed_year_like_the_charge_with_its_member_id():
    """The claimed charge counts for a year already closed (open until its status takes effect): the
    year is evaluated again, as a late posting with the member id would; a replay repeats the id."""
    ctx = dataclasses.replace(CTX, now=datetime(2026, 2, 10, tzinfo=JST), closed_years=frozenset({2025}))
    m = member()
    m.close_year(2025, CFG, date(2026, 1, 5), ctx.closed_years)
    big = _walk_in(amount="5000000", bd=date(2025, 12, 10))
    claim(fresh(m), "C1", big, at="2026-02-10T10:00:00+09:00", ctx=ctx)
    assert [(s.event_id, s.new_status) for s in m.effects.status_changes] == [("M1/status/2025/r1", "EXCLUSIVE")]
    assert m.statuses == {2026: "EXCLUSIVE"}
    claim(fresh(m), "C1", big, at="2026-02-10T10:00:00+09:00", ctx=ctx)  # redelivery
    assert [s.event_id for s in m.effects.status_changes] == ["M1/status/2025/r1"] and not m.changed
