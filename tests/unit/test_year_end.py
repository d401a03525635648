"""Year Y stays open for late postings until its status takes effect (processors/year_end.py).

31 December night audits arrive after the year-end run, held charges are released later and
corrections keep coming: each re-evaluates Y while it is open (before 1 April Y+1), both ways,
recomputes the carry-forward into Y+1 (and Y+1's evaluation when it is closed too) and announces a
changed status with a deterministic id; from 1 April Y+1 on, Y is final.
"""
from __future__ import annotations

import dataclasses
from datetime import date, datetime
from decimal import Decimal

from processors.fx import FxTable
from processors.member import Context, Member
from processors.model import JST, FolioPosting, FxRate, Qualifying
from processors.records import SourceRecord
from tests.unit.test_member_aggregate import CFG, PMS, _fp, charge, member, posting, snapshot, step

NEW_YEAR = datetime(2027, 1, 1, 3, 0, tzinfo=JST)  # the night audit of 31 December, after the year-end run
LATE = Context(CFG, FxTable(), NEW_YEAR)
LAST_DAY = Context(CFG, FxTable(), datetime(2027, 3, 31, 23, 59, tzinfo=JST))
FINAL = Context(CFG, FxTable(), datetime(2027, 4, 1, 0, 0, tzinfo=JST))  # the 2026 status took effect


def earn(m: Member, pid: str, yen: int, bdate: str = "2026-12-31", ctx: Context = LATE, nights: int = 1):
    """A DIRECT room posting: 20 points per ¥1,000."""
    return charge(m, posting(pid, str(yen), bdate, nights=nights), ctx=ctx)


def correct(m: Member, pid: str, of: str, yen: int, ctx: Context = LATE):
    return charge(m, posting(pid, str(-yen), "2026-12-31", nights=0, corrects=of), ctx=ctx)


def changes(m: Member):
    return [(c.event_id, c.old_status, c.new_status, c.carried_points) for c in m.effects.status_changes]


def closed(m: Member, year: int, today: date = date(2027, 1, 1)):
    step(m)
    return m.close_year(year, CFG, today)


def test_a_late_night_audit_upgrades_the_closed_year():
    m = member()
    earn(m, "P1", 200_000, "2026-06-01", ctx=LATE)  # 4,000 points
    assert closed(m, 2026) is None and m.closed == {2026: "REGULAR"}
    eff = earn(m, "AUDIT", 60_000)  # 1,200 points dated 31 December, arriving on 1 January 03:00
    assert m.qualifying[2026].points == 5_200
    assert changes(m) == [("M1/status/2026/r1", "REGULAR", "LOYAL", 200)]
    assert m.statuses == {2027: "LOYAL"} and m.closed == {2026: "LOYAL"} and m.revisions == {2026: 1}
    assert m.qualifying[2027] == Qualifying(0, 0, 200, 0)
    c = m.changes
    assert 2026 in c.closed_years and 2027 in c.status_years and 2027 in c.qualifying_years
    assert ("status", "2027") in eff.index
    # a redelivery of the audit posting re-emits the same StatusChange (same id), changes nothing
    state = snapshot(m)
    raw = posting("AUDIT", "60000", "2026-12-31", nights=1)
    again = charge(m, raw, ctx=LATE)
    assert [c.event_id for c in again.status_changes] == ["M1/status/2026/r1"] and snapshot(m) == state
    # close-year 2026 again: nothing to say
    assert closed(m, 2026) is None and not m.changed and m.effects.status_changes == []


def test_carry_forward_is_recomputed_not_added_twice():
    m = member()
    earn(m, "P1", 910_000, "2026-05-01", nights=12)  # 18,200 points -> EXCLUSIVE, 3,200 carried
    closed(m, 2026)
    assert m.qualifying[2027] == Qualifying(0, 0, 3_200, 0)
    eff = earn(m, "AUDIT", 50_000)  # +1,000
    assert eff.status_changes == [] and m.qualifying[2027] == Qualifying(0, 0, 4_200, 0)
    assert closed(m, 2026) is None and m.qualifying[2027] == Qualifying(0, 0, 4_200, 0)


def test_a_late_downward_correction_downgrades_until_the_status_takes_effect():
    m = member()
    earn(m, "P1", 775_000, "2026-05-01", nights=1)  # 15,500 points -> EXCLUSIVE, 500 carried
    assert closed(m, 2026).new_status == "EXCLUSIVE"
    correct(m, "C1", "P1", 50_000, ctx=LAST_DAY)  # -1,000 -> 14,500: LOYAL, 9,500 carried
    assert changes(m) == [("M1/status/2026/r1", "EXCLUSIVE", "LOYAL", 9_500)]
    assert m.statuses == {2027: "LOYAL"} and m.qualifying[2027].carried_points == 9_500
    correct(m, "C2", "P1", 500_000, ctx=LAST_DAY)  # -> 4,500: REGULAR, nothing carried
    assert changes(m) == [("M1/status/2026/r2", "LOYAL", "REGULAR", 0)]
    assert m.statuses == {} and 2027 in m.changes.status_years and m.qualifying[2027].carried_points == 0
    assert m.status_on(date(2027, 4, 1)) == "REGULAR"


def test_from_1_april_the_year_is_final():
    m = member()
    earn(m, "P1", 775_000, "2026-05-01")  # 15,500 -> EXCLUSIVE
    closed(m, 2026)
    eff = correct(m, "C1", "P1", 100_000, ctx=FINAL)  # -2,000: counted, but the status took effect
    assert eff.status_changes == [] and [mv.entry.points for mv in eff.moves] == [-2_000]
    assert m.qualifying[2026].points == 13_500
    assert m.statuses == {2027: "EXCLUSIVE"} and m.qualifying[2027].carried_points == 500
    assert closed(m, 2026, date(2027, 4, 1)) is None and not m.changed
    eff = earn(m, "LATE", 100_000, ctx=FINAL)  # a late charge still earns its points
    assert eff.status_changes == [] and m.qualifying[2026].points == 15_500


def test_the_last_day_is_configurable():
    cfg = dataclasses.replace(CFG, status_final_month=1, status_final_day=15)
    m = member()
    earn(m, "P1", 200_000, "2026-06-01")
    m.close_year(2026, cfg, date(2027, 1, 2))
    step(m)
    m.handle_charge(posting("A", "60000", "2026-12-31"), PMS, b"A", "fa", Context(cfg, FxTable(), NEW_YEAR))
    assert changes(m) == [("M1/status/2026/r1", "REGULAR", "LOYAL", 200)]
    m2 = member()
    earn(m2, "P1", 200_000, "2026-06-01")
    m2.close_year(2026, cfg, date(2027, 1, 2))
    step(m2)
    m2.handle_charge(posting("A", "60000", "2026-12-31"), PMS, b"A", "fa",
                     Context(cfg, FxTable(), datetime(2027, 1, 15, tzinfo=JST)))
    assert m2.effects.status_changes == [] and m2.closed == {2026: "REGULAR"}


def test_a_revision_of_y_is_followed_by_y_plus_1_when_it_is_closed_too():
    m = member()
    earn(m, "P1", 700_000, "2026-05-01")  # 14,000 -> LOYAL, 9,000 carried
    earn(m, "P2", 300_000, "2027-05-01")  # 6,000 (+25 % bonus, not qualifying)
    closed(m, 2026)
    assert closed(m, 2027, date(2027, 6, 1)).new_status == "EXCLUSIVE"  # 15,000 with the carry (on demand)
    assert 2028 not in m.qualifying
    earn(m, "AUDIT", 100_000, ctx=Context(CFG, FxTable(), datetime(2027, 1, 1, 2, tzinfo=JST)))  # 2026: 16,000
    # 2026 goes up, and 2027 (6,000 + 1,000 carried instead of 9,000) follows it down
    assert changes(m) == [("M1/status/2026/r1", "LOYAL", "EXCLUSIVE", 1_000),
                          ("M1/status/2027/r1", "EXCLUSIVE", "LOYAL", 2_000)]
    assert m.qualifying[2027].carried_points == 1_000
    # 2027 now has 6,000 + 1,000 carried: LOYAL, 2,000 carried into 2028
    assert m.closed == {2026: "EXCLUSIVE", 2027: "LOYAL"}
    assert m.statuses == {2027: "EXCLUSIVE", 2028: "LOYAL"}
    assert m.qualifying[2028].carried_points == 2_000


def test_a_late_charge_revises_y_and_the_following_year_in_one_input():
    m = member()
    earn(m, "P1", 700_000, "2026-05-01")  # 14,000 -> LOYAL, 9,000 carried
    earn(m, "P2", 250_000, "2027-05-01")  # 5,000
    closed(m, 2026)
    closed(m, 2027, date(2027, 6, 1))  # 14,000 -> LOYAL, 9,000 carried into 2028
    eff = earn(m, "AUDIT", 100_000)  # 2026: 16,000 -> EXCLUSIVE, 1,000 carried; 2027: 6,000 -> LOYAL
    assert [(c.event_id, c.new_status) for c in eff.status_changes] == [("M1/status/2026/r1", "EXCLUSIVE")]
    assert m.qualifying[2028].carried_points == 1_000
    eff = earn(m, "AUDIT2", 500_000)  # 2026: 26,000 -> carried 11,000; 2027: 16,000 -> EXCLUSIVE
    assert [(c.event_id, c.new_status) for c in eff.status_changes] == [("M1/status/2027/r1", "EXCLUSIVE")]
    assert m.statuses == {2027: "EXCLUSIVE", 2028: "EXCLUSIVE"} and m.qualifying[2028].carried_points == 1_000


def _close_both(order: tuple[int, int]) -> Member:
    m = member()
    earn(m, "P1", 910_000, "2026-05-01", nights=12)  # 18,200 -> EXCLUSIVE, 3,200 carried
    earn(m, "P2", 100_000, "2027-05-01")  # 2,000 (+ bonus)
    for y in order:
        closed(m, y, date(2027, 6, 1))
    return m


def test_closing_years_out_of_order_keeps_the_carry_forward():
    in_order, reverse = _close_both((2026, 2027)), _close_both((2027, 2026))
    for m in (in_order, reverse):
        assert m.qualifying[2027] == Qualifying(2_000, 1, 3_200, 0)
        assert m.closed == {2026: "EXCLUSIVE", 2027: "LOYAL"}
        assert m.statuses == {2027: "EXCLUSIVE", 2028: "LOYAL"}
    # the reverse order announced 2027 as REGULAR first, then revised it
    assert reverse.revisions == {2027: 1} and in_order.revisions == {}
    # and running both again changes nothing
    for m in (in_order, reverse):
        state = snapshot(m)
        assert closed(m, 2026, date(2027, 6, 1)) is None and closed(m, 2027, date(2027, 6, 1)) is None
        assert snapshot(m) == state


def test_a_released_fx_hold_revises_the_closed_year():
    fx = FxTable()
    ctx = Context(CFG, fx, datetime(2027, 1, 2, tzinfo=JST))
    m = member()
    earn(m, "P1", 200_000, "2026-06-01")  # 4,000
    usd = FolioPosting("SPN1", "NIKKO-SAIPAN", "R-SPN1", "M1", date(2026, 12, 30),
                       datetime(2026, 12, 30, 12, tzinfo=JST), "ROOM", Decimal("500.00"), "USD", 1, "DIRECT")
    step(m)
    m.handle_charge(usd, PMS, b"usd", _fp(usd), ctx)
    assert [d.outcome for d in m.effects.decisions] == ["HELD"]
    closed(m, 2026)
    fx.add(FxRate("USD", date(2026, 12, 29), Decimal("150.00")))  # ¥75,000 -> 1,500 points
    step(m)
    m.retry_held(ctx, lambda h: h.currency == "USD")
    assert changes(m) == [("M1/status/2026/r1", "REGULAR", "LOYAL", 500)]
    assert [c.event_id for c in m.src["P:SPN1"].status_changes] == ["M1/status/2026/r1"]


def test_the_status_changes_of_a_record_survive_its_encoding():
    m = member()
    earn(m, "P1", 200_000, "2026-06-01")
    closed(m, 2026)
    earn(m, "AUDIT", 60_000)
    rec = m.src["P:AUDIT"]
    back = SourceRecord.from_dict(rec.to_dict())
    assert back.status_changes == rec.status_changes and back == rec
