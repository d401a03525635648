"""The member aggregate (processors.member.Member) without I/O: lifecycle sequences.

Earn -> redeem -> cancel -> expire, idempotency (replay, CONFLICT), year-end status with
carry-forward (vectors 23/24), downgrade at the end of validity, the bonus switching on 1 April,
corrections (original's lot, other lots, debt) and debt repaid by later earnings.

Each step runs as one "unit of work" like the engine's: ``step`` clears what the previous one
recorded (changes, new records, effects) so a test can assert what *this* step changed.
"""
from __future__ import annotations

import copy
import hashlib
import tomllib
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from processors.config import ProgramConfig
from processors.fx import FxTable
from processors.member import Context, Member
from processors.model import JST, BillLine, FolioPosting, MemberEnrollment, PosBill, Qualifying, RedemptionRequest
from processors.outcomes import Effects

CONFIG = Path(__file__).resolve().parents[2] / "config" / "program.toml"
with CONFIG.open("rb") as _f:
    CFG = ProgramConfig.from_mapping(tomllib.load(_f), str(CONFIG))
NOW = datetime(2026, 6, 1, tzinfo=JST)
CTX = Context(CFG, FxTable(), NOW)
D = Decimal
L29, L30, L31 = date(2029, 1, 31), date(2030, 1, 31), date(2031, 1, 31)
PMS, POS = "pms.folio-postings.v1", "pos.bills.v1"


# ---------------------------------------------------------------- builders
def _fp(ev) -> str:
    return hashlib.blake2b(repr(ev).encode(), digest_size=8).hexdigest()


def posting(pid: str, amount: str, bdate: str = "2026-03-14", *, nights: int | None = None,
            category: str = "ROOM", channel: str = "DIRECT", corrects: str | None = None,
            hotel: str = "OKURA-TOKYO") -> FolioPosting:
    if nights is None:
        nights = 1 if category == "ROOM" and not amount.startswith("-") else 0
    bd = date.fromisoformat(bdate)
    return FolioPosting(pid, hotel, f"R-{pid}", "M1", bd, datetime(bd.year, bd.month, bd.day, 12, tzinfo=JST),
                        category, D(amount), "JPY", nights, channel, None, corrects)


def bill(bid: str, food: str, bdate: str = "2026-03-14", voids: str | None = None) -> PosBill:
    bd = date.fromisoformat(bdate)
    return PosBill(bid, "OKURA-TOKYO", "OUT1", "RESTAURANT", "M1", bd,
                   datetime(bd.year, bd.month, bd.day, 20, tzinfo=JST), "JPY", (BillLine("FOOD", D(food)),),
                   D(0), voids)


def request(rid: str, award: str, quantity: int = 1, *, amount: str | None = None, channel: str | None = None,
            at: str = "2026-06-01", cancels: str | None = None) -> RedemptionRequest:
    d = date.fromisoformat(at)
    return RedemptionRequest(rid, "M1", award, quantity, D(amount) if amount else None, "OKURA-TOKYO", channel,
                             datetime(d.year, d.month, d.day, 10, tzinfo=JST), cancels)


def step(m: Member) -> Member:
    """Start a new unit of work (what the engine does after a successful compare-and-set)."""
    m.changes.clear()
    m.new_src.clear()
    m.held_put.clear()
    m.held_del.clear()
    m.effects = Effects()
    return m


def member(enrolled: str = "2026-01-01", state: str = "ACTIVE") -> Member:
    m = Member("M1")
    m.handle_enrollment(MemberEnrollment("M1", date.fromisoformat(enrolled), state), CTX)
    return step(m)


def charge(m: Member, ev, fp: str | None = None, ctx: Context = CTX) -> Effects:
    step(m)
    m.handle_charge(ev, PMS if isinstance(ev, FolioPosting) else POS, repr(ev).encode(), fp or _fp(ev), ctx)
    return m.effects


def redeem(m: Member, req: RedemptionRequest, fp: str | None = None) -> Effects:
    step(m)
    m.handle_redemption(req, repr(req).encode(), fp or _fp(req), CTX)
    return m.effects


def moves(eff: Effects) -> list[tuple[str, int]]:
    return [(mv.entry.type, mv.entry.points) for mv in eff.moves]


def result(eff: Effects):
    (r,) = eff.redemptions
    return r.outcome, r.reason, r.points, r.lots_used, r.balance_after


def snapshot(m: Member):
    return copy.deepcopy((m.lots, m.qualifying, m.statuses, m.closed, m.expired_count,
                          {k: v.to_dict() for k, v in m.src.items()}, m.held))


class Ledger:
    """The ledger as a consumer of points.ledger.v1 sees it: entries deduplicated by entry_id."""

    def __init__(self):
        self.entries: dict[str, int] = {}

    def add(self, eff: Effects) -> Effects:
        for mv in eff.moves:
            assert self.entries.get(mv.entry_id, mv.entry.points) == mv.entry.points, mv.entry_id
            self.entries[mv.entry_id] = mv.entry.points
        return eff

    @property
    def total(self) -> int:
        return sum(self.entries.values())


def invariant(m: Member, ledger: Ledger) -> None:
    """program-rules §5: balance = Σ ledger entries = Σ lots − debt."""
    assert m.balance == ledger.total == sum(m.lots.by_expiry.values()) - m.lots.debt
    assert m.lots.debt >= 0 and all(p > 0 for p in m.lots.by_expiry.values())


# ---------------------------------------------------------------- earn -> redeem -> cancel -> expire
def test_earn_redeem_cancel_expire_sequence():
    m, led = member(), Ledger()
    assert moves(led.add(charge(m, posting("P1", "15000")))) == [("EARN", 300)]  # 2026 -> lot 2029-01-31
    assert moves(led.add(charge(m, posting("P2", "250000", "2027-02-10")))) == [("EARN", 5000)]
    assert m.lots.by_expiry == {L29: 300, L30: 5000}
    invariant(m, led)

    # vector 25: the lot that expires first is spent first
    eff = led.add(redeem(m, request("R1", "PAY_BY_POINTS", amount="1250", at="2028-06-01")))
    assert result(eff) == ("REJECTED", "INVALID_AMOUNT", 0, [], 5300)
    eff = led.add(redeem(m, request("R2", "BREAKFAST_ADULT", at="2028-06-01")))
    assert result(eff) == ("APPROVED", None, 2000, [(L29, 300), (L30, 1700)], 3300)
    assert moves(eff) == [("REDEEM", -2000)]
    assert m.lots.by_expiry == {L30: 3300}
    invariant(m, led)

    # cancel before expiry: everything back to the lots it came from
    eff = led.add(redeem(m, request("C1", "CANCEL", at="2028-07-01", cancels="R2")))
    assert result(eff) == ("APPROVED", None, 2000, [(L29, 300), (L30, 1700)], 5300)
    assert moves(eff) == [("REFUND", 2000)]
    assert m.lots.by_expiry == {L29: 300, L30: 5000}
    invariant(m, led)
    # a second cancellation of the same request, or of the cancellation itself, gives nothing
    assert result(led.add(redeem(m, request("C2", "CANCEL", at="2028-07-02", cancels="R2"))))[:2] == \
        ("REJECTED", "ALREADY_CANCELLED")
    assert result(led.add(redeem(m, request("C3", "CANCEL", at="2028-07-02", cancels="C1"))))[:2] == \
        ("REJECTED", "NOT_CANCELLABLE")
    assert result(led.add(redeem(m, request("C4", "CANCEL", at="2028-07-02", cancels="NOPE"))))[:2] == \
        ("REJECTED", "UNKNOWN_REQUEST")
    assert result(led.add(redeem(m, request("C5", "CANCEL", at="2028-07-02", cancels="R1"))))[:2] == \
        ("REJECTED", "NOT_CANCELLABLE")
    assert m.balance == 5300
    invariant(m, led)

    # expiry at the exact boundary: 31 January 2029 is the last valid day of the 2026 lot
    step(m)
    assert m.expire(date(2029, 1, 31)) == 0 and not m.changed and m.lots.by_expiry[L29] == 300
    eff = m.effects
    step(m)
    assert m.expire(date(2029, 2, 1)) == 300
    assert moves(led.add(m.effects)) == [("EXPIRE", -300)]
    (mv,) = m.effects.moves
    assert mv.entry.lot == L29 and mv.entry_id == "M1/X:2029-01-31:1/EXPIRE"
    assert mv.occurred_at == datetime(2029, 1, 31, 23, 59, 59, tzinfo=JST)
    assert m.lots.by_expiry == {L30: 5000}
    step(m)
    assert m.expire(date(2029, 2, 1)) == 0 and not m.changed and not m.effects.moves  # twice: nothing
    assert eff.moves == []
    invariant(m, led)


def test_cancel_after_partial_expiry_refunds_and_forfeits():
    m, led = member(), Ledger()
    led.add(charge(m, posting("P1", "15000")))  # 300 -> 2029-01-31
    led.add(charge(m, posting("P2", "250000", "2027-02-10")))  # 5000 -> 2030-01-31
    assert result(led.add(redeem(m, request("R1", "BREAKFAST_ADULT", quantity=1, at="2028-06-01"))))[3] == \
        [(L29, 300), (L30, 1700)]
    step(m)
    assert m.expire(date(2029, 2, 1)) == 0  # the 2029 lot was spent entirely: nothing to expire
    eff = led.add(redeem(m, request("C1", "CANCEL", at="2029-02-05", cancels="R1")))
    assert result(eff) == ("APPROVED", None, 2000, [(L30, 1700)], 5000)
    assert moves(eff) == [("REFUND", 2000), ("EXPIRE", -300)]
    assert [mv.entry.balance_after for mv in eff.moves] == [5300, 5000]
    assert eff.moves[1].entry.lot == L29
    assert m.lots.by_expiry == {L30: 5000}
    invariant(m, led)


def test_restored_lot_is_indexed_for_expiry():
    """A cancellation that puts points back into a lot must keep the member in that lot's expiry
    index: the expiry job walks the index, and an earlier run may have taken the member out of it."""
    m = member()
    charge(m, posting("P1", "20000"))  # 400
    assert result(redeem(m, request("R1", "PAY_BY_POINTS", amount="500", at="2028-06-01")))[0] == "APPROVED"
    assert m.lots.by_expiry == {}
    eff = redeem(m, request("C1", "CANCEL", at="2029-01-20", cancels="R1"))
    assert result(eff)[0] == "APPROVED" and m.lots.by_expiry == {L29: 400}
    assert ("lots", L29.isoformat()) in eff.index


def test_redeem_rejections_change_nothing():
    m, led = member(), Ledger()
    led.add(charge(m, posting("P1", "100000")))  # 2,000
    before = snapshot(m)
    cases = [
        (request("A", "STAY_STANDARD"), "INSUFFICIENT_POINTS"),
        (request("B", "UPGRADE_STANDARD_TO_SUPERIOR", channel="OFFICIAL_WEBSITE"), "CHANNEL_NOT_ELIGIBLE"),
        (request("C", "PAY_BY_POINTS", amount="700"), "INVALID_AMOUNT"),
        (request("D", "SPA_DAY"), "UNKNOWN_AWARD"),
        (request("E", "BREAKFAST_ADULT", quantity=0), "INVALID_QUANTITY"),
        (request("F", "BREAKFAST_ADULT", quantity=100), "INVALID_QUANTITY"),
    ]
    for req, reason in cases:
        eff = led.add(redeem(m, req))
        assert result(eff) == ("REJECTED", reason, 0, [], 2000)
        assert eff.moves == []
    after = snapshot(m)
    assert after[:5] == before[:5]  # lots, qualifying, statuses: untouched
    invariant(m, led)
    # expired lots cannot be spent even before the expiry job removed them
    assert result(redeem(m, request("G", "BREAKFAST_ADULT", at="2029-02-01")))[:2] == \
        ("REJECTED", "INSUFFICIENT_POINTS")
    assert result(redeem(m, request("H", "BREAKFAST_ADULT", at="2029-01-31")))[:3] == ("APPROVED", None, 2000)


def test_unknown_and_closed_member_rejected():
    m = Member("M1")
    assert result(redeem(m, request("A", "BREAKFAST_ADULT")))[:2] == ("REJECTED", "UNKNOWN_MEMBER")
    c = member(state="CLOSED")
    assert result(redeem(c, request("A", "BREAKFAST_ADULT")))[:2] == ("REJECTED", "MEMBER_CLOSED")


@pytest.mark.parametrize("award,qty,amount,channel,points", [
    ("PAY_BY_POINTS", 1, "5000", None, 4000),
    ("STAY_STANDARD", 2, None, None, 20000),
    ("STAY_SUPERIOR", 1, None, None, 15000),
    ("UPGRADE_STANDARD_TO_SUPERIOR", 3, None, "DIRECT", 3000),
    ("UPGRADE_SUPERIOR_TO_DELUXE", 1, None, "RESERVATION_CENTER", 4000),
    ("BREAKFAST_ADULT", 2, None, None, 4000),
    ("BREAKFAST_CHILD", 2, None, None, 2200),
])
def test_every_award(award, qty, amount, channel, points):
    m, led = member(), Ledger()
    led.add(charge(m, posting("P1", "2500000", nights=3)))  # 50,000
    eff = led.add(redeem(m, request("R", award, qty, amount=amount, channel=channel)))
    assert result(eff) == ("APPROVED", None, points, [(L29, points)], 50000 - points)
    assert moves(eff) == [("REDEEM", -points)]
    invariant(m, led)


# ---------------------------------------------------------------- idempotency
def test_replay_same_outputs_no_state_change():
    m, led = member(), Ledger()
    p1 = posting("P1", "35000")
    first = charge(m, p1)
    led.add(first)
    r1 = request("R1", "PAY_BY_POINTS", amount="500")
    r_first = redeem(m, r1)
    assert result(r_first)[:3] == ("APPROVED", None, 400)
    led.add(r_first)
    r_bad = request("R2", "STAY_SUPERIOR")
    bad_first = redeem(m, r_bad)
    assert result(bad_first) == ("REJECTED", "INSUFFICIENT_POINTS", 0, [], 300)
    led.add(charge(m, posting("P2", "500000", "2026-05-01")))  # other state changes in between
    state = snapshot(m)

    again = charge(m, p1)
    assert again.decisions == first.decisions and again.moves == first.moves
    assert not m.changed
    r_again = redeem(m, r1)
    assert r_again.redemptions == r_first.redemptions and r_again.moves == r_first.moves
    assert not m.changed
    bad_again = redeem(m, r_bad)
    assert bad_again.redemptions == bad_first.redemptions  # same result, although the balance moved on
    assert not m.changed
    assert snapshot(m) == state
    led.add(again), led.add(r_again)
    invariant(m, led)


def test_same_id_other_content_is_a_conflict():
    m, led = member(), Ledger()
    led.add(charge(m, posting("P1", "35000")))
    state = snapshot(m)
    eff = charge(m, posting("P1", "36000"))
    assert eff.moves == [] and eff.decisions == []
    (dl,) = eff.dead_letters
    assert dl.error.startswith("CONFLICT: P:P1") and dl.topic == PMS
    assert not m.changed and snapshot(m) == state

    led.add(redeem(m, request("R1", "BREAKFAST_ADULT", at="2026-06-01")))
    state = snapshot(m)
    eff = redeem(m, request("R1", "BREAKFAST_ADULT", 2, at="2026-06-01"))
    assert eff.moves == [] and eff.redemptions == []
    (dl,) = eff.dead_letters
    assert dl.error.startswith("CONFLICT: R:R1") and dl.topic == "redemptions.requests.v1"
    assert not m.changed and snapshot(m) == state
    invariant(m, led)


# ---------------------------------------------------------------- year end
def qualify(m: Member, year: int, points: int = 0, nights: int = 0):
    m.qualifying[year] = Qualifying(points, nights)


@pytest.mark.parametrize("points,nights,status,carried_points,carried_nights,by", [
    (4_999, 9, "REGULAR", 0, 0, "NONE"),
    (5_000, 0, "LOYAL", 0, 0, "POINTS"),
    (0, 10, "LOYAL", 0, 0, "NIGHTS"),
    (14_999, 29, "LOYAL", 9_999, 19, "BOTH"),
    (15_000, 0, "EXCLUSIVE", 0, 0, "POINTS"),
    (0, 30, "EXCLUSIVE", 0, 0, "NIGHTS"),
    (18_200, 12, "EXCLUSIVE", 3_200, 0, "POINTS"),  # vector 23
    (3_000, 14, "LOYAL", 0, 4, "NIGHTS"),  # vector 24
])
def test_close_year_thresholds_and_carry_forward(points, nights, status, carried_points, carried_nights, by):
    m = member()
    qualify(m, 2026, points, nights)
    change = m.close_year(2026, CFG)
    assert m.closed == {2026: status}
    if status == "REGULAR":
        assert change is None and m.statuses == {} and m.effects.status_changes == []
    else:
        assert m.statuses == {2027: status}
        assert change == m.effects.status_changes[0]
        assert (change.old_status, change.new_status, change.qualified_by) == ("REGULAR", status, by)
        assert (change.valid_from, change.valid_until) == (date(2027, 4, 1), date(2028, 3, 31))
        assert (change.carried_points, change.carried_nights) == (carried_points, carried_nights)
        assert change.event_id == "M1/status/2026"
        assert m.status_on(date(2027, 3, 31)) == "REGULAR" and m.status_on(date(2027, 4, 1)) == status
        assert m.status_on(date(2028, 3, 31)) == status and m.status_on(date(2028, 4, 1)) == "REGULAR"
    q27 = m.qualifying.get(2027, Qualifying())
    assert (q27.carried_points, q27.carried_nights) == (carried_points, carried_nights)

    # closing the same year again changes nothing and says nothing
    state = snapshot(m)
    step(m)
    assert m.close_year(2026, CFG) is None
    assert not m.changed and m.effects == Effects() and snapshot(m) == state


def test_vector_23_carried_points_count_in_2027():
    m = member()
    charge(m, posting("P1", "910000", "2026-05-01", nights=12))  # 18,200 points, 12 nights
    assert m.qualifying[2026] == Qualifying(18_200, 12, 0, 0)
    m.close_year(2026, CFG)
    assert m.qualifying[2027] == Qualifying(0, 0, 3_200, 0)
    assert ("active", "2027") in m.effects.index and ("status", "2027") in m.effects.index
    charge(m, posting("P2", "90000", "2027-05-01", nights=1))  # 1,800 points + EXCLUSIVE bonus 900
    assert m.qualifying[2027] == Qualifying(1_800, 1, 3_200, 0)
    change = m.close_year(2027, CFG)  # 5,000 qualifying points -> LOYAL, nothing carried
    assert (change.old_status, change.new_status) == ("EXCLUSIVE", "LOYAL")
    assert (change.qualifying_points, change.carried_points) == (5_000, 0)
    assert m.statuses == {2027: "EXCLUSIVE", 2028: "LOYAL"}


def test_downgrade_at_end_of_validity():
    m = member("2025-01-01")
    m.statuses[2026] = "LOYAL"  # earned in 2025: valid 2026-04-01 .. 2027-03-31
    qualify(m, 2026, 4_999, 9)  # not enough in 2026
    change = m.close_year(2026, CFG)
    assert (change.old_status, change.new_status) == ("LOYAL", "REGULAR")
    assert (change.valid_from, change.valid_until) == (date(2027, 4, 1), date(2028, 3, 31))
    assert change.qualified_by == "NONE"
    assert m.status_on(date(2027, 3, 31)) == "LOYAL" and m.status_on(date(2027, 4, 1)) == "REGULAR"
    assert 2027 not in m.statuses and m.closed[2026] == "REGULAR"
    # the bonus follows: +25 % on 31 March, nothing on 1 April
    assert moves(charge(m, posting("A", "100000", "2027-03-31"))) == [("EARN", 2000), ("BONUS", 500)]
    assert moves(charge(m, posting("B", "100000", "2027-04-01"))) == [("EARN", 2000)]


def test_renewal_is_not_a_change_but_still_valid_next_year():
    m = member()
    m.statuses[2026] = "EXCLUSIVE"
    qualify(m, 2026, 15_000)
    assert m.close_year(2026, CFG) is None and m.effects.status_changes == []
    assert m.statuses[2027] == "EXCLUSIVE" and m.closed[2026] == "EXCLUSIVE"


def test_bonus_switches_on_1_april():
    m, led = member(), Ledger()
    led.add(charge(m, posting("Q", "250000", "2026-05-01", nights=1)))  # 5,000 -> LOYAL
    m.close_year(2026, CFG)
    assert moves(led.add(charge(m, posting("A", "100000", "2027-03-31")))) == [("EARN", 2000)]
    eff = led.add(charge(m, posting("B", "100000", "2027-04-01")))
    assert moves(eff) == [("EARN", 2000), ("BONUS", 500)]
    assert [mv.entry.lot for mv in eff.moves] == [L30, L30]
    assert m.qualifying[2027].points == 4000  # bonus does not qualify
    # EXCLUSIVE (vector 13): FOOD_BEVERAGE ¥9,999 -> 99 + 49
    x = member()
    x.statuses[2026] = "EXCLUSIVE"
    assert moves(charge(x, posting("F", "9999", "2026-06-01", category="FOOD_BEVERAGE"))) == \
        [("EARN", 99), ("BONUS", 49)]
    invariant(m, led)


# ---------------------------------------------------------------- corrections and debt
def test_correction_takes_from_the_original_lot_first():
    m, led = member(), Ledger()
    led.add(charge(m, posting("P26", "50000", "2026-03-01")))  # 1,000 -> 2029
    led.add(charge(m, posting("P27", "50000", "2027-03-01")))  # 1,000 -> 2030
    eff = led.add(charge(m, posting("C1", "-12500", "2027-04-01", corrects="P27")))  # vector 14-like: 250
    assert moves(eff) == [("REVERSAL", -250)] and eff.moves[0].entry.lot == L30
    assert m.lots.by_expiry == {L29: 1000, L30: 750}  # not from the 2029 lot, although it expires first
    assert m.qualifying[2027].points == 750 and m.qualifying[2027].nights == 1
    invariant(m, led)


def test_correction_after_spending_creates_debt_repaid_by_later_earnings():
    m, led = member(), Ledger()
    led.add(charge(m, posting("P1", "35000", nights=1)))  # 700, vector 1
    led.add(redeem(m, request("R1", "PAY_BY_POINTS", amount="500", at="2026-04-01")))  # -400
    assert m.lots.by_expiry == {L29: 300}
    eff = led.add(charge(m, posting("V1", "-35000", "2026-04-02", corrects="P1", nights=1)))  # full void
    assert moves(eff) == [("REVERSAL", -700)] and eff.moves[0].entry.balance_after == -400
    assert m.lots.by_expiry == {} and m.lots.debt == 400 and m.balance == -400
    assert m.qualifying[2026] == Qualifying(0, 0, 0, 0)
    invariant(m, led)
    # a redemption cannot spend while in debt
    assert result(led.add(redeem(m, request("R2", "BREAKFAST_CHILD", at="2026-04-03"))))[:2] == \
        ("REJECTED", "INSUFFICIENT_POINTS")
    # later earnings pay the debt first
    eff = led.add(charge(m, posting("P2", "15000", "2026-05-01")))  # 300
    assert moves(eff) == [("EARN", 300)] and eff.moves[0].entry.balance_after == -100
    assert m.lots.debt == 100 and m.lots.by_expiry == {}
    eff = led.add(charge(m, posting("P3", "50000", "2027-05-01")))  # 1,000 -> pays 100, 900 into 2030
    assert m.lots.debt == 0 and m.lots.by_expiry == {L30: 900} and m.balance == 900
    invariant(m, led)
    # a second void of the same posting reverses nothing
    eff = led.add(charge(m, posting("V2", "-35000", "2026-04-02", corrects="P1")))
    assert eff.moves == [] and eff.decisions[0].reason == "ALREADY_REVERSED"


def test_correction_takes_from_other_lots_before_debt():
    m, led = member(), Ledger()
    led.add(charge(m, posting("P1", "50000", "2026-03-01")))  # 1,000 -> 2029
    led.add(charge(m, posting("P2", "100000", "2027-03-01")))  # 2,000 -> 2030
    led.add(charge(m, posting("P3", "100000", "2028-03-01")))  # 2,000 -> 2031
    led.add(redeem(m, request("R1", "BREAKFAST_ADULT", at="2028-04-01")))  # 2,000: 1,000 + 1,000
    assert m.lots.by_expiry == {L30: 1000, L31: 2000}
    eff = led.add(charge(m, posting("V1", "-50000", "2028-04-02", corrects="P1")))  # reverses 1,000
    assert moves(eff) == [("REVERSAL", -1000)]
    assert m.lots.by_expiry == {L31: 2000}
    assert m.lots.debt == 0 and m.balance == 2000
    invariant(m, led)


def test_partial_corrections_in_proportion_with_bonus():
    m, led = member(), Ledger()
    m.statuses[2026] = "LOYAL"
    led.add(charge(m, posting("P1", "100000", "2026-05-01", nights=2)))  # 2,000 + 500 (vector 12)
    eff = led.add(charge(m, posting("C1", "-33333", "2026-05-02", corrects="P1", nights=1)))
    # floor(2000 * 33333 / 100000) = 666, floor(500 * 33333 / 100000) = 166
    assert moves(eff) == [("REVERSAL", -832)]
    assert m.qualifying[2026] == Qualifying(2000 - 666, 1, 0, 0)
    eff = led.add(charge(m, posting("C2", "-66667", "2026-05-03", corrects="P1", nights=1)))  # the rest
    assert moves(eff) == [("REVERSAL", -(2500 - 832))]
    assert m.qualifying[2026] == Qualifying(0, 0, 0, 0) and m.balance == 0
    invariant(m, led)


def test_bill_void_reverses_everything():
    m, led = member(), Ledger()
    led.add(charge(m, bill("B1", "12333")))  # 123
    eff = led.add(charge(m, bill("B1V", "-12333", voids="B1")))
    assert moves(eff) == [("REVERSAL", -123)]
    assert m.balance == 0 and m.qualifying[2026].points == 0
    invariant(m, led)


def test_correction_before_original_is_held_then_applied():
    m, led = member(), Ledger()
    eff = led.add(charge(m, posting("C1", "-8750", corrects="P1")))
    assert eff.decisions[0].outcome == "HELD" and eff.decisions[0].reason == "AWAITING_ORIGINAL"
    eff = led.add(charge(m, posting("P1", "35000")))
    assert moves(eff) == [("EARN", 700), ("REVERSAL", -175)]  # vector 14
    assert m.qualifying[2026].points == 525 and m.held == {}
    invariant(m, led)
