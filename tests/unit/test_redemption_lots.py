"""Redemption pricing (§4, vectors 20–22) and point lots (§3, §4, vector 25)."""
from __future__ import annotations

import tomllib
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from processors import lots as L
from processors.config import ProgramConfig
from processors.model import JST, Lots, RedemptionRequest
from processors.redemption import quote

CONFIG = Path(__file__).resolve().parents[2] / "config" / "program.toml"
with CONFIG.open("rb") as _f:
    CFG = ProgramConfig.from_mapping(tomllib.load(_f), str(CONFIG))
D = Decimal
Y29, Y30, Y31 = date(2029, 1, 31), date(2030, 1, 31), date(2031, 1, 31)


def req(award: str, quantity: int = 1, amount=None, channel=None) -> RedemptionRequest:
    return RedemptionRequest("q1", "OH0000001", award, quantity, amount, "OKURA-TOKYO", channel,
                             datetime(2028, 6, 1, 10, tzinfo=JST))


# ---------------------------------------------------------------- quotes

def test_vector_20_pay_by_points():
    q = quote(req("PAY_BY_POINTS", amount=D("5000")), CFG)
    assert (q.points, q.reason) == (4000, None)
    assert quote(req("PAY_BY_POINTS", amount=D("700")), CFG).reason == "INVALID_AMOUNT"
    assert quote(req("PAY_BY_POINTS", amount=D("500"), quantity=0), CFG).points == 400  # quantity ignored
    assert quote(req("PAY_BY_POINTS", amount=D("5000.00")), CFG).points == 4000


def test_vector_21_breakfast_child():
    q = quote(req("BREAKFAST_CHILD", quantity=2), CFG)
    assert (q.points, q.reason) == (2200, None)


def test_vector_22_upgrade_channel():
    q = quote(req("UPGRADE_STANDARD_TO_SUPERIOR", channel="OFFICIAL_WEBSITE"), CFG)
    assert (q.points, q.reason) == (0, "CHANNEL_NOT_ELIGIBLE")
    assert quote(req("UPGRADE_STANDARD_TO_SUPERIOR", channel=None), CFG).reason == "CHANNEL_NOT_ELIGIBLE"
    for ch in ("RESERVATION_CENTER", "DIRECT"):
        assert quote(req("UPGRADE_SUPERIOR_TO_DELUXE", quantity=3, channel=ch), CFG).points == 12_000
    assert quote(req("STAY_STANDARD", quantity=2, channel="OTHER"), CFG).points == 20_000


@pytest.mark.parametrize("award,quantity,amount,reason", [
    ("FREE_LUNCH", 1, None, "UNKNOWN_AWARD"),
    ("pay_by_points", 1, D("500"), "UNKNOWN_AWARD"),
    ("STAY_SUPERIOR", 0, None, "INVALID_QUANTITY"),
    ("STAY_SUPERIOR", -1, None, "INVALID_QUANTITY"),
    ("STAY_SUPERIOR", 100, None, "INVALID_QUANTITY"),
    ("STAY_SUPERIOR", True, None, "INVALID_QUANTITY"),
    ("PAY_BY_POINTS", 1, None, "INVALID_AMOUNT"),
    ("PAY_BY_POINTS", 1, D("0"), "INVALID_AMOUNT"),
    ("PAY_BY_POINTS", 1, D("-500"), "INVALID_AMOUNT"),
    ("PAY_BY_POINTS", 1, D("500.5"), "INVALID_AMOUNT"),
    ("PAY_BY_POINTS", 1, D("NaN"), "INVALID_AMOUNT"),
    ("PAY_BY_POINTS", 1, 500.0, "INVALID_AMOUNT"),
    ("PAY_BY_POINTS", 1, D("1000000000500"), "INVALID_AMOUNT"),
    ("UPGRADE_STANDARD_TO_SUPERIOR", 100, None, "INVALID_QUANTITY"),  # quantity checked before channel
])
def test_rejections(award, quantity, amount, reason):
    q = quote(req(award, quantity, amount, "OFFICIAL_WEBSITE"), CFG)
    assert (q.points, q.reason) == (0, reason)


def test_quantity_bounds_accepted():
    assert quote(req("BREAKFAST_ADULT", quantity=1), CFG).points == 2_000
    assert quote(req("BREAKFAST_ADULT", quantity=99), CFG).points == 198_000


# ---------------------------------------------------------------- lots

def test_vector_25_spend_earliest_first():
    lots = Lots({Y30: 5000, Y29: 300})
    assert L.spend(lots, 1000, date(2028, 6, 1)) == [(Y29, 300), (Y30, 700)]
    assert lots.by_expiry == {Y30: 4300} and lots.balance == 4300


def test_spend_skips_expired_and_refuses_when_short():
    lots = Lots({Y29: 300, Y30: 500})
    assert L.spend(lots, 600, date(2029, 2, 1)) is None  # the 2029 lot is expired: 500 spendable
    assert lots.by_expiry == {Y29: 300, Y30: 500}
    assert L.spend(lots, 500, date(2029, 2, 1)) == [(Y30, 500)]
    assert lots.by_expiry == {Y29: 300}
    assert L.spend(lots, 300, date(2029, 1, 31)) == [(Y29, 300)]  # last valid day
    assert lots.by_expiry == {}


def test_debt_blocks_spending_beyond_balance():
    lots = Lots({Y30: 500}, debt=200)
    assert L.spend(lots, 301, date(2028, 1, 1)) is None
    assert L.spend(lots, 300, date(2028, 1, 1)) == [(Y30, 300)]
    assert lots.balance == 0


def test_credit_pays_debt_first():
    lots = Lots({}, debt=250)
    assert L.credit(lots, Y30, 100) == 100 and lots.debt == 150 and lots.by_expiry == {}
    assert L.credit(lots, Y30, 400) == 150 and lots.debt == 0 and lots.by_expiry == {Y30: 250}
    assert L.credit(lots, Y30, 50) == 0 and lots.by_expiry == {Y30: 300}
    with pytest.raises(ValueError):
        L.credit(lots, Y30, -1)


def test_take_for_reversal_order_and_debt():
    lots = Lots({Y29: 100, Y30: 200, Y31: 300})
    assert L.take_for_reversal(lots, Y30, 250) == [(Y30, 200), (Y29, 50)]
    assert lots.by_expiry == {Y29: 50, Y31: 300}
    assert L.take_for_reversal(lots, Y30, 400) == [(Y29, 50), (Y31, 300), (None, 50)]
    assert lots.by_expiry == {} and lots.debt == 50 and lots.balance == -50
    assert L.take_for_reversal(lots, Y30, 0) == []


def test_restore_with_partial_expiry():
    lots = Lots({Y31: 10})
    used = [(Y29, 300), (Y30, 700)]
    restored, forfeited = L.restore(lots, used, date(2029, 2, 1))
    assert restored == [(Y30, 700)] and forfeited == [(Y29, 300)]
    assert lots.by_expiry == {Y30: 700, Y31: 10}
    restored, forfeited = L.restore(Lots(), used, date(2029, 1, 31))
    assert restored == used and forfeited == []


def test_expire_removes_only_expired_lots():
    lots = Lots({Y29: 300, Y30: 500})
    assert L.expire(lots, date(2029, 1, 31)) == []
    assert L.expire(lots, date(2029, 2, 1)) == [(Y29, 300)]
    assert lots.by_expiry == {Y30: 500}
    assert L.expire(lots, date(2031, 6, 1)) == [(Y30, 500)] and lots.by_expiry == {}


# ---------------------------------------------------------------- properties

EXPIRIES = [date(y, 1, 31) for y in range(2028, 2033)]
DAYS = [date(2028, 1, 1), date(2029, 1, 31), date(2029, 2, 1), date(2030, 6, 1), date(2032, 2, 1)]
points = st.integers(0, 10_000)
ops = st.one_of(
    st.tuples(st.just("credit"), st.sampled_from(EXPIRIES), points),
    st.tuples(st.just("spend"), st.sampled_from(DAYS), points),
    st.tuples(st.just("reverse"), st.sampled_from(EXPIRIES), points),
    st.tuples(st.just("expire"), st.sampled_from(DAYS), st.just(0)),
    st.tuples(st.just("restore"), st.sampled_from(DAYS), st.just(0)),
)


@given(st.lists(ops, max_size=40))
@settings(max_examples=300)
def test_lot_operations_keep_the_books(sequence):
    lots, expected, spent, restored_ever = Lots(), 0, [], False
    for op, arg, n in sequence:
        before = dict(lots.by_expiry)
        if op == "credit":
            paid = L.credit(lots, arg, n)
            assert 0 <= paid <= n
            expected += n
        elif op == "spend":
            used = L.spend(lots, n, arg)
            if used is None:
                assert lots.by_expiry == before  # nothing changed
                assert n > sum(p for d, p in before.items() if d >= arg) - lots.debt
            else:
                assert sum(p for _, p in used) == n
                assert all(d >= arg for d, _ in used)  # never from an expired lot
                assert [d for d, _ in used] == sorted(d for d, _ in used)
                expected -= n
                spent.append(used)
        elif op == "reverse":
            taken = L.take_for_reversal(lots, arg, n)
            assert sum(p for _, p in taken) == n
            expected -= n
        elif op == "expire":
            removed = L.expire(lots, arg)
            assert all(d < arg for d, _ in removed)
            expected -= sum(p for _, p in removed)
        elif op == "restore" and spent:
            restored, forfeited = L.restore(lots, spent.pop(), arg)
            expected += sum(p for _, p in restored)
        assert lots.balance == expected
        assert lots.balance == sum(lots.by_expiry.values()) - lots.debt
        assert all(type(p) is int and p > 0 for p in lots.by_expiry.values())
        assert lots.debt >= 0
        restored_ever = restored_ever or (op == "restore" and bool(before != lots.by_expiry))
        if lots.debt and not restored_ever:
            # debt only arises when no lot is left, and credits pay it before filling lots
            # (a cancelled redemption gives points back to their lots without touching debt)
            assert lots.by_expiry == {}
