"""Properties of the point arithmetic: exact, integer, never float, monotonic, reversals bounded."""
from __future__ import annotations

import dataclasses
import tomllib
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from hypothesis import example, given, settings
from hypothesis import strategies as st

from processors.config import ProgramConfig
from processors.earning import assess_bill, assess_posting, bonus_points, proportional_reversal
from processors.fx import FxTable
from processors.model import JST, BillLine, FolioPosting, FxRate, Outcome, PosBill

CONFIG = Path(__file__).resolve().parents[2] / "config" / "program.toml"
with CONFIG.open("rb") as _f:
    CFG = ProgramConfig.from_mapping(tomllib.load(_f), str(CONFIG))
DAY = date(2026, 3, 14)

# (hotel, category, channel, points per 1,000 JPY) - the expected rate is written here, not read
CASES = [
    ("OKURA-TOKYO", "ROOM", "DIRECT", 20),
    ("OKURA-FUKUOKA", "ROOM", "RESERVATION_CENTER", 30),
    ("OKURA-TOKYO", "FOOD_BEVERAGE", "OTHER", 10),
    ("OKURA-FUKUOKA", "FOOD_BEVERAGE", "DIRECT", 10),
    ("NIKKO-OSAKA", "OTHER_SERVICE", "TRAVEL_AGENCY", 10),
]
MAX_CENTS = 10 ** 14  # ¥10**12 with two decimals
cents = st.integers(min_value=0, max_value=MAX_CENTS)


class _Draw:
    """Stands in for ``st.data()`` in an explicit example: every draw returns ``value``."""
    def __init__(self, value: int):
        self.value = value

    def draw(self, _strategy):
        return self.value


def dec(n: int, exponent: int) -> Decimal:
    return Decimal(f"{n}E{exponent}")


def posting(hotel: str, category: str, channel: str, amount: Decimal, currency: str = "JPY",
            nights: int = 0) -> FolioPosting:
    return FolioPosting("p", hotel, "r", "OH0000001", DAY, datetime(2026, 3, 14, tzinfo=JST), category,
                        amount, currency, nights, channel)


def no_float(obj) -> None:
    """Every field of the assessment is int / Decimal / enum / None - never a float."""
    for f in dataclasses.fields(obj):
        v = getattr(obj, f.name)
        assert not isinstance(v, float), f.name
    assert type(obj.base_points) is int and type(obj.nights) is int
    assert isinstance(obj.eligible_amount_jpy, Decimal)
    assert obj.fx_rate is None or isinstance(obj.fx_rate, Decimal)


@given(case=st.sampled_from(CASES), scale=st.integers(0, 24), data=st.data())
@example(case=CASES[2], scale=19, data=_Draw(10 ** 33 - 1))  # ¥999,999,999,999.99…9 (31 digits)
def test_base_points_equal_integer_floor(case, scale, data):
    hotel, category, channel, per_1000 = case
    # up to ¥10**12 with up to 26 decimals (more digits than the default Decimal context keeps)
    c = data.draw(st.integers(0, 10 ** (14 + scale)))
    amount = dec(c, -2 - scale)
    a = assess_posting(posting(hotel, category, channel, amount), CFG, FxTable())
    no_float(a)
    # amount = c / 10**(2+scale); points = floor(amount * per_1000 / 1000)
    expected = c * per_1000 // (10 ** (2 + scale) * 1000)
    assert a.base_points == expected
    assert a.outcome is (Outcome.EARNED if expected > 0 else Outcome.EXCLUDED)


@given(c=cents, rate_units=st.integers(1, 10 ** 9))
def test_usd_points_equal_integer_floor(c, rate_units):
    rate = dec(rate_units, -4)  # JPY per USD with 4 decimals
    fx = FxTable()
    fx.add(FxRate("USD", DAY, rate))
    c = c // 10 ** 6  # keep the USD amount modest
    a = assess_posting(posting("NIKKO-SAIPAN", "ROOM", "DIRECT", dec(c, -2), "USD"), CFG, fx)
    no_float(a)
    assert a.base_points == c * rate_units * 20 // (100 * 10 ** 4 * 1000)
    assert a.fx_rate == rate


@given(case=st.sampled_from(CASES), x=cents, y=cents)
def test_monotonic_in_amount(case, x, y):
    hotel, category, channel, _ = case
    lo, hi = sorted((x, y))
    p_lo = assess_posting(posting(hotel, category, channel, dec(lo, -2)), CFG, FxTable()).base_points
    p_hi = assess_posting(posting(hotel, category, channel, dec(hi, -2)), CFG, FxTable()).base_points
    assert p_lo <= p_hi


@given(food=st.integers(0, 10 ** 9), bev=st.integers(0, 10 ** 9), other=st.integers(0, 10 ** 9),
       tax=st.integers(0, 10 ** 9), paid=st.integers(0, 3 * 10 ** 9))
def test_bill_points_equal_integer_floor(food, bev, other, tax, paid):
    lines = (BillLine("FOOD", dec(food, -2)), BillLine("BEVERAGE", dec(bev, -2)),
             BillLine("TAX", dec(tax, -2)), BillLine("OTHER", dec(other, -2)))
    b = PosBill("b", "OKURA-TOKYO", "o", "RESTAURANT", "OH0000001", DAY, datetime(2026, 3, 14, tzinfo=JST),
                "JPY", lines, dec(paid, -2))
    a = assess_bill(b, CFG, FxTable())
    no_float(a)
    fb = food + bev
    from_fb = min(paid, fb)
    rest_other = other - min(paid - from_fb, other)
    rest_fb = fb - from_fb
    # both parts earn 10 per 1,000 by default
    expected = (rest_fb * 10 + rest_other * 10) // (100 * 1000)
    assert a.base_points == expected
    if expected:
        assert a.eligible_amount_jpy == dec(rest_fb + rest_other, -2)


@given(points=st.integers(0, 10 ** 9), original=st.integers(1, 10 ** 14),
       parts=st.lists(st.integers(1, 10 ** 14), min_size=1, max_size=12))
@settings(max_examples=300)
def test_repeated_reversals_never_exceed_original(points, original, parts):
    remaining_points, remaining_amount, total = points, dec(original, -2), 0
    for part in parts:
        corrected = -dec(part, -2)
        taken = proportional_reversal(points, corrected, dec(original, -2), remaining_points, remaining_amount)
        assert type(taken) is int and 0 <= taken <= remaining_points
        if abs(corrected) >= remaining_amount:
            assert taken == remaining_points  # full reversal takes exactly what remains
        else:
            assert taken <= points * part // original
        remaining_points -= taken
        remaining_amount = max(remaining_amount - abs(corrected), Decimal(0))
        total += taken
    assert total <= points
    if sum(parts) >= original:
        assert total == points


@given(points=st.integers(0, 10 ** 9), remaining=st.integers(0, 10 ** 9), amount=st.integers(1, 10 ** 12))
def test_full_reversal_returns_exactly_remaining(points, remaining, amount):
    a = dec(amount, 0)
    assert proportional_reversal(points, -a, a, remaining, a) == remaining


@given(base=st.integers(0, 10 ** 12), status=st.sampled_from(["REGULAR", "LOYAL", "EXCLUSIVE"]))
def test_bonus_floors(base, status):
    pct = {"REGULAR": 0, "LOYAL": 25, "EXCLUSIVE": 50}[status]
    bonus = bonus_points(base, status, CFG)
    assert type(bonus) is int
    assert bonus * 100 <= base * pct < (bonus + 1) * 100
