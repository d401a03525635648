"""Issue 9 items 3–9 through the member aggregate (processors.member.Member), one test per rule.

Partial POS voids (3), proportions in JPY at a foreign hotel (4), nights of corrections (5), every
credit repaying debt first (6), reversals of an expired lot (7), a correction of a correction (8)
and the running balance of EXPIRE entries (9). Semantics: SEMANTICS9 / README "Corrections".
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from processors.fx import FxTable
from processors.member import Context
from processors.model import JST, BillLine, FolioPosting, PosBill, Qualifying
from tests.unit.test_member_aggregate import (
    CFG,
    CTX,
    L29,
    L30,
    Ledger,
    charge,
    invariant,
    member,
    moves,
    posting,
    redeem,
    request,
    step,
)

D = Decimal
SAIPAN = "NIKKO-SAIPAN"  # a USD hotel


def pos(bid: str, lines: list[tuple[str, str]], voids: str | None = None, currency: str = "JPY",
        bdate: str = "2026-03-14") -> PosBill:
    bd = date.fromisoformat(bdate)
    return PosBill(bid, "OKURA-TOKYO", "OUT1", "RESTAURANT", "M1", bd,
                   datetime(bd.year, bd.month, bd.day, 20, tzinfo=JST), currency,
                   tuple(BillLine(k, D(a)) for k, a in lines), D(0), voids)


def saipan(pid: str, amount: str, currency: str, *, corrects: str | None = None, bdate: str = "2026-03-14",
           nights: int = 0) -> FolioPosting:
    bd = date.fromisoformat(bdate)
    return FolioPosting(pid, SAIPAN, f"R-{pid}", "M1", bd, datetime(bd.year, bd.month, bd.day, 12, tzinfo=JST),
                        "ROOM", D(amount), currency, nights, "DIRECT", None, corrects)


def fx_ctx(*rates: tuple[str, str], now: datetime = CTX.now) -> Context:
    from processors.model import FxRate
    table = FxTable()
    for d, r in rates:
        table.add(FxRate("USD", date.fromisoformat(d), D(r)))
    return Context(CFG, table, now)


# ---------------------------------------------------------------- item 3: partial POS voids
def test_partial_void_reverses_its_own_eligible_part():
    m, led = member(), Ledger()
    led.add(charge(m, pos("B1", [("FOOD", "10000"), ("TAX", "1000")])))  # 100
    eff = led.add(charge(m, pos("B1V", [("FOOD", "-3000"), ("TAX", "-300")], voids="B1")))
    assert moves(eff) == [("REVERSAL", -30)]
    assert m.balance == 70 and m.qualifying[2026].points == 70
    eff = led.add(charge(m, pos("B1W", [("FOOD", "-7000")], voids="B1")))  # the rest
    assert moves(eff) == [("REVERSAL", -70)] and m.balance == 0
    invariant(m, led)


def test_void_without_lines_voids_the_whole_bill():
    m, led = member(), Ledger()
    led.add(charge(m, pos("B1", [("FOOD", "10000")])))
    led.add(charge(m, pos("B1V", [("FOOD", "-3000")], voids="B1")))
    eff = led.add(charge(m, pos("B1W", [], voids="B1")))
    assert moves(eff) == [("REVERSAL", -70)] and m.balance == 0
    invariant(m, led)


# ---------------------------------------------------------------- item 4: one unit (JPY)
def test_jpy_correction_of_a_usd_posting_is_prorated_in_jpy():
    ctx = fx_ctx(("2026-03-10", "152.30"))
    m, led = member(), Ledger()
    eff = led.add(charge(m, saipan("P1", "250.00", "USD"), ctx=ctx))  # ¥38,075 -> 761
    assert moves(eff) == [("EARN", 761)]
    eff = led.add(charge(m, saipan("C1", "-7615", "JPY", corrects="P1"), ctx=ctx))  # 20 %
    assert moves(eff) == [("REVERSAL", -152)]
    assert m.qualifying[2026].points == 761 - 152


def test_usd_correction_converts_at_the_originals_rate_whatever_later_rates():
    ctx = fx_ctx(("2026-03-10", "152.30"), ("2026-03-20", "160.00"))
    m, led = member(), Ledger()
    led.add(charge(m, saipan("P1", "250.00", "USD"), ctx=ctx))
    eff = led.add(charge(m, saipan("C1", "-50.00", "USD", corrects="P1", bdate="2026-03-21"), ctx=ctx))
    assert moves(eff) == [("REVERSAL", -152)]


def test_usd_correction_of_a_jpy_posting_uses_the_rate_of_the_originals_date():
    m, led = member(), Ledger()
    led.add(charge(m, saipan("P1", "38075", "JPY"), ctx=fx_ctx()))  # 761, no rate needed
    eff = led.add(charge(m, saipan("C1", "-50.00", "USD", corrects="P1", bdate="2026-03-21"),
                         ctx=fx_ctx(("2026-03-20", "160.00"))))  # no rate for the original's date yet
    assert eff.decisions[0].outcome == "HELD" and eff.decisions[0].reason == "AWAITING_FX_RATE"
    ctx = fx_ctx(("2026-03-10", "152.30"), ("2026-03-20", "160.00"))
    step(m)
    m.retry_held(ctx)
    assert moves(m.effects) == [("REVERSAL", -152)]


# ---------------------------------------------------------------- item 5: nights of corrections
def test_zero_amount_correction_removes_only_the_nights_it_states():
    m, led = member(), Ledger()
    led.add(charge(m, posting("P1", "30000", nights=3)))  # 600
    eff = led.add(charge(m, posting("C1", "0", nights=1, corrects="P1")))
    assert moves(eff) == [] and eff.decisions[0].nights == -1
    assert m.qualifying[2026] == Qualifying(600, 2, 0, 0)
    eff = led.add(charge(m, posting("C2", "0", nights=0, corrects="P1")))  # states none: nothing
    assert moves(eff) == [] and m.qualifying[2026] == Qualifying(600, 2, 0, 0)


def test_partial_correction_removes_nights_in_proportion_unless_stated():
    m, led = member(), Ledger()
    led.add(charge(m, posting("P1", "30000", nights=3)))
    eff = led.add(charge(m, posting("C1", "-10000", nights=0, corrects="P1")))  # a third
    assert moves(eff) == [("REVERSAL", -200)] and m.qualifying[2026] == Qualifying(400, 2, 0, 0)
    eff = led.add(charge(m, posting("C2", "-20000", nights=0, corrects="P1")))  # the rest: all nights
    assert m.qualifying[2026] == Qualifying(0, 0, 0, 0)
    invariant(m, led)


def test_negative_correction_never_adds_nights():
    m, led = member(), Ledger()
    led.add(charge(m, posting("P1", "30000", nights=3)))
    led.add(charge(m, posting("C1", "-3000", nights=0, corrects="P1")))
    assert m.qualifying[2026].nights <= 3


# ---------------------------------------------------------------- item 6: debt repaid by every credit
def test_refund_while_in_debt_repays_the_debt_first():
    m, led = member(), Ledger()
    led.add(charge(m, posting("P1", "50000")))  # 1,000
    led.add(redeem(m, request("R1", "UPGRADE_STANDARD_TO_SUPERIOR", channel="DIRECT")))
    led.add(charge(m, posting("C1", "-50000", corrects="P1")))  # full: debt 1,000
    assert m.lots.debt == 1000 and m.balance == -1000
    eff = led.add(redeem(m, request("X1", "CANCEL", cancels="R1")))
    assert moves(eff) == [("REFUND", 1000)]
    assert m.balance == 0 and m.lots.debt == 0 and m.lots.by_expiry == {}
    invariant(m, led)
    step(m)
    m.expire(date(2031, 1, 1))
    led.add(m.effects)
    assert m.balance == 0
    invariant(m, led)


# ---------------------------------------------------------------- item 7: expired lots are not reversed again
def test_reversal_of_an_expired_lot_does_not_take_newer_points():
    m, led = member(), Ledger()
    led.add(charge(m, posting("P1", "50000", "2026-03-14")))  # 1,000 in L29
    led.add(charge(m, posting("P2", "25000", "2027-03-14")))  # 500 in L30
    step(m)
    m.expire(date(2029, 2, 1))
    led.add(m.effects)
    later = Context(CFG, FxTable(), datetime(2029, 2, 5, tzinfo=JST))
    eff = led.add(charge(m, posting("C1", "-50000", corrects="P1"), ctx=later))
    assert moves(eff) == [] and m.lots.by_expiry == {L30: 500} and m.lots.debt == 0
    assert m.qualifying[2026].points == 0  # counters reduced as usual
    invariant(m, led)


def test_reversal_after_expiry_date_before_the_job_takes_only_what_the_lot_holds():
    m, led = member(), Ledger()
    led.add(charge(m, posting("P1", "50000", "2026-03-14")))  # 1,000 in L29
    led.add(charge(m, posting("P2", "25000", "2027-03-14")))  # 500 in L30
    led.add(charge(m, posting("C0", "-25000", corrects="P1")))  # 500 back: L29 holds 500
    later = Context(CFG, FxTable(), datetime(2029, 2, 1, 0, 30, tzinfo=JST))  # job not run yet
    eff = led.add(charge(m, posting("C1", "-25000", corrects="P1"), ctx=later))
    assert moves(eff) == [("REVERSAL", -500)] and m.lots.by_expiry == {L30: 500}
    invariant(m, led)


# ---------------------------------------------------------------- item 8: a correction of a correction
def test_correction_of_a_correction_is_rejected_with_a_reason():
    m, led = member(), Ledger()
    led.add(charge(m, posting("P1", "50000")))
    led.add(charge(m, posting("C1", "-10000", corrects="P1")))
    eff = led.add(charge(m, posting("C2", "-5000", corrects="C1")))
    d = eff.decisions[0]
    assert (d.outcome, d.reason, d.detail) == ("REJECTED", "CORRECTS_A_CORRECTION", "corrects P:C1")
    assert moves(eff) == [] and m.balance == 800
    eff = led.add(charge(m, pos("B1", [("FOOD", "1000")])))
    led.add(charge(m, pos("B1V", [], voids="B1")))
    eff = led.add(charge(m, pos("B1W", [], voids="B1V")))
    assert eff.decisions[0].reason == "CORRECTS_A_CORRECTION"


# ---------------------------------------------------------------- item 9: EXPIRE running balance
def test_expire_entries_carry_the_running_balance():
    m, led = member(), Ledger()
    led.add(charge(m, posting("P1", "50000", "2026-03-14")))  # 1,000 in L29
    led.add(charge(m, posting("P2", "25000", "2027-03-14")))  # 500 in L30
    led.add(charge(m, posting("P3", "10000", "2028-03-14")))  # 200 in L31
    step(m)
    m.expire(date(2030, 2, 1))
    assert [(mv.entry.lot, mv.entry.points, mv.entry.balance_after) for mv in m.effects.moves] == \
        [(L29, -1000, 700), (L30, -500, 200)]
