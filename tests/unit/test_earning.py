"""Earning assessment (program-rules §1, vectors 1–11, 16–18) and FX table."""
from __future__ import annotations

import dataclasses
import tomllib
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from processors.config import ProgramConfig
from processors.earning import assess_bill, assess_posting, bonus_points, proportional_reversal
from processors.fx import FxTable, add_exact, floor_int, mul_exact, to_jpy
from processors.model import JST, BillLine, FolioPosting, FxRate, Outcome, PosBill, Reason

CONFIG = Path(__file__).resolve().parents[2] / "config" / "program.toml"
D = Decimal
MARCH_14 = date(2026, 3, 14)


@pytest.fixture(scope="module")
def cfg() -> ProgramConfig:
    with CONFIG.open("rb") as f:
        return ProgramConfig.from_mapping(tomllib.load(f), str(CONFIG))


@pytest.fixture
def fx() -> FxTable:
    return FxTable()


def posting(**kw) -> FolioPosting:
    base: dict[str, Any] = dict(posting_id="p1", hotel_code="OKURA-TOKYO", reservation_id="r1", member_id="OH0000001",
                business_date=MARCH_14, posted_at=datetime(2026, 3, 14, 12, tzinfo=JST),
                category="ROOM", amount=D("35000"), currency="JPY", nights=1, booking_channel="DIRECT")
    base.update(kw)
    return FolioPosting(**base)


def bill(lines, **kw) -> PosBill:
    base: dict[str, Any] = dict(bill_id="b1", hotel_code="OKURA-TOKYO", outlet_code="YAMAZATO",
                                outlet_type="RESTAURANT", member_id="OH0000001", business_date=MARCH_14,
                                closed_at=datetime(2026, 3, 14, 21, tzinfo=JST),
                currency="JPY", lines=tuple(BillLine(k, D(a)) for k, a in lines))
    base.update(kw)
    return PosBill(**base)


def usd_table(*rates: tuple[date, str]) -> FxTable:
    t = FxTable()
    for d, r in rates:
        t.add(FxRate("USD", d, D(r)))
    return t


# ---------------------------------------------------------------- vectors

def test_vector_1_room_direct(cfg, fx):
    a = assess_posting(posting(), cfg, fx)
    assert (a.outcome, a.reason, a.base_points, a.nights) == (Outcome.EARNED, None, 700, 1)
    assert a.eligible_amount_jpy == D("35000") and a.fx_rate is None


@pytest.mark.parametrize("channel", ["RESERVATION_CENTER", "OFFICIAL_WEBSITE", "DIRECT"])
def test_earning_channels(cfg, fx, channel):
    assert assess_posting(posting(booking_channel=channel), cfg, fx).base_points == 700


def test_vector_2_travel_agency_counts_night_only(cfg, fx):
    a = assess_posting(posting(booking_channel="TRAVEL_AGENCY"), cfg, fx)
    assert (a.outcome, a.reason, a.base_points, a.nights) == (Outcome.EXCLUDED, Reason.CHANNEL_NOT_EARNING, 0, 1)


@pytest.mark.parametrize("channel", ["OTHER", "OTA-UNKNOWN", ""])
def test_vector_3_other_channel_nothing(cfg, fx, channel):
    a = assess_posting(posting(booking_channel=channel), cfg, fx)
    assert (a.outcome, a.reason, a.base_points, a.nights) == (Outcome.EXCLUDED, Reason.CHANNEL_NOT_EARNING, 0, 0)


@pytest.mark.parametrize("category,amount,reason", [
    ("TAX", "3500", Reason.TAX),                           # vector 4
    ("SERVICE_CHARGE", "3500", Reason.SERVICE_CHARGE),     # vector 5
    ("SHOPPING_ARCADE", "12000", Reason.SHOPPING_ARCADE),  # vector 6
])
def test_vectors_4_5_6_excluded_categories(cfg, fx, category, amount, reason):
    a = assess_posting(posting(category=category, amount=D(amount), nights=0), cfg, fx)
    assert (a.outcome, a.reason, a.base_points, a.nights) == (Outcome.EXCLUDED, reason, 0, 0)
    assert a.eligible_amount_jpy == 0


def test_vector_7_food_beverage(cfg, fx):
    a = assess_posting(posting(category="FOOD_BEVERAGE", amount=D("8999"), nights=0), cfg, fx)
    assert (a.outcome, a.base_points) == (Outcome.EARNED, 89)


def test_non_room_earns_whatever_the_channel(cfg, fx):
    for ch in ("OTHER", "TRAVEL_AGENCY"):
        a = assess_posting(posting(category="OTHER_SERVICE", amount=D("8999"), nights=0, booking_channel=ch),
                           cfg, fx)
        assert (a.outcome, a.base_points) == (Outcome.EARNED, 89)


def test_vector_8_restaurant_bill(cfg, fx):
    b = bill([("FOOD", "10000"), ("BEVERAGE", "3333"), ("SERVICE_CHARGE", "1333"), ("TAX", "1467")],
             paid_with_points_amount=D("1000"))
    a = assess_bill(b, cfg, fx)
    assert (a.outcome, a.base_points, a.eligible_amount_jpy) == (Outcome.EARNED, 123, D("12333"))


def test_vector_9_shopping_arcade_outlet(cfg, fx):
    a = assess_bill(bill([("FOOD", "5000")], outlet_type="SHOPPING_ARCADE"), cfg, fx)
    assert (a.outcome, a.reason, a.base_points) == (Outcome.EXCLUDED, Reason.SHOPPING_ARCADE, 0)


def test_vector_10_usd_uses_newest_rate_on_or_before(cfg):
    fx = usd_table((date(2026, 3, 10), "152.30"), (date(2026, 3, 15), "151.00"))
    p = posting(hotel_code="NIKKO-SAIPAN", amount=D("250.00"), currency="USD")
    a = assess_posting(p, cfg, fx)
    assert (a.outcome, a.base_points, a.eligible_amount_jpy, a.fx_rate) == (Outcome.EARNED, 761, D("38075"),
                                                                           D("152.30"))


def test_vector_11_held_until_usable_rate(cfg):
    fx = usd_table((date(2026, 3, 1), "150.00"))
    p = posting(hotel_code="NIKKO-SAIPAN", amount=D("250.00"), currency="USD")
    a = assess_posting(p, cfg, fx)
    assert (a.outcome, a.reason, a.base_points) == (Outcome.HELD, Reason.AWAITING_FX_RATE, 0)
    fx.add(FxRate("USD", date(2026, 3, 10), D("152.30")))
    assert assess_posting(p, cfg, fx).base_points == 761


def test_fx_age_boundary(cfg):
    p = posting(hotel_code="NIKKO-SAIPAN", amount=D("100"), currency="USD")
    assert assess_posting(p, cfg, usd_table((date(2026, 3, 7), "150"))).base_points == 300  # 7 days old
    assert assess_posting(p, cfg, usd_table((date(2026, 3, 6), "150"))).outcome is Outcome.HELD  # 8 days
    assert assess_posting(p, cfg, usd_table((date(2026, 3, 15), "150"))).outcome is Outcome.HELD  # future


def test_jpy_posting_at_foreign_hotel_needs_no_rate(cfg, fx):
    a = assess_posting(posting(hotel_code="NIKKO-SAIPAN"), cfg, fx)
    assert (a.outcome, a.base_points, a.fx_rate) == (Outcome.EARNED, 700, None)


def test_vector_16_assessment_is_member_independent(cfg, fx):
    # BEFORE_ENROLLMENT is decided by the member aggregate; the charge itself is worth 700
    a = assess_posting(posting(business_date=date(2025, 12, 31)), cfg, fx)
    assert (a.outcome, a.base_points) == (Outcome.EARNED, 700)


def test_vector_17_non_participating_hotel(cfg, fx):
    a = assess_posting(posting(hotel_code="JALCITY-NAHA"), cfg, fx)
    assert (a.outcome, a.reason, a.base_points, a.nights) == (Outcome.EXCLUDED, Reason.NON_PARTICIPATING_HOTEL, 0, 0)
    b = assess_bill(bill([("FOOD", "5000")], hotel_code="JALCITY-NAHA"), cfg, fx)
    assert b.reason is Reason.NON_PARTICIPATING_HOTEL


@pytest.mark.parametrize("member", [None, "", "   "])
def test_vector_18_no_member(cfg, fx, member):
    a = assess_posting(posting(member_id=member), cfg, fx)
    assert (a.outcome, a.reason, a.base_points, a.nights) == (Outcome.EXCLUDED, Reason.NO_MEMBER, 0, 0)
    assert assess_bill(bill([("FOOD", "5000")], member_id=member), cfg, fx).reason is Reason.NO_MEMBER


# ---------------------------------------------------------------- rejections and their order

@pytest.mark.parametrize("kw,reason", [
    (dict(hotel_code="NOPE"), Reason.UNKNOWN_HOTEL),
    (dict(hotel_code="NOPE", currency="usd"), Reason.UNKNOWN_HOTEL),
    (dict(currency="usd"), Reason.UNKNOWN_CURRENCY),
    (dict(currency="JP"), Reason.UNKNOWN_CURRENCY),
    (dict(currency="ＪＰＹ"), Reason.UNKNOWN_CURRENCY),
    (dict(currency="USD"), Reason.CURRENCY_MISMATCH),
    (dict(currency="USD", business_date=date(1999, 12, 31)), Reason.CURRENCY_MISMATCH),
    (dict(business_date=date(1999, 12, 31)), Reason.INVALID_DATE),
    (dict(business_date=date(2100, 1, 1)), Reason.INVALID_DATE),
    (dict(nights=-1), Reason.INVALID_NIGHTS),
    (dict(nights=366), Reason.INVALID_NIGHTS),
    (dict(nights=1, category="FOOD_BEVERAGE"), Reason.INVALID_NIGHTS),
    (dict(nights=-1, amount=D("-1")), Reason.INVALID_NIGHTS),
    (dict(amount=D("-1")), Reason.INVALID_AMOUNT),
    (dict(amount=D("1000000000000.01")), Reason.INVALID_AMOUNT),
    (dict(amount=D("-1000000000000.01"), corrects_posting_id="p0"), Reason.INVALID_AMOUNT),
    (dict(amount=D("NaN")), Reason.INVALID_AMOUNT),
    (dict(amount=D("Infinity")), Reason.INVALID_AMOUNT),
    (dict(amount=35000.0), Reason.INVALID_AMOUNT),  # a float is never money
    (dict(category="DEPOSIT", nights=0), Reason.UNKNOWN_CATEGORY),
    (dict(category="DEPOSIT", nights=0, amount=D("-5")), Reason.INVALID_AMOUNT),
])
def test_posting_rejections(cfg, fx, kw, reason):
    a = assess_posting(posting(**kw), cfg, fx)
    assert (a.outcome, a.reason, a.base_points, a.nights) == (Outcome.REJECTED, reason, 0, 0)


def test_boundaries_accepted(cfg, fx):
    assert assess_posting(posting(business_date=date(2000, 1, 1)), cfg, fx).outcome is Outcome.EARNED
    assert assess_posting(posting(business_date=date(2099, 12, 31)), cfg, fx).outcome is Outcome.EARNED
    a = assess_posting(posting(nights=365, amount=D(10) ** 12), cfg, fx)
    assert (a.base_points, a.nights) == (20_000_000_000, 365)


@pytest.mark.parametrize("lines,kw,reason", [
    ([("FOOD", "-1")], {}, Reason.INVALID_AMOUNT),
    ([("FOOD", "100")], dict(paid_with_points_amount=D("-1")), Reason.INVALID_AMOUNT),
    ([("FOOD", "1000000000001")], {}, Reason.INVALID_AMOUNT),
    ([("FOOD", "100"), ("DISCOUNT", "10")], {}, Reason.UNKNOWN_CATEGORY),
    ([("FOOD", "100")], dict(currency="EUR"), Reason.CURRENCY_MISMATCH),
    ([("FOOD", "100")], dict(hotel_code="X"), Reason.UNKNOWN_HOTEL),
    ([("FOOD", "100")], dict(business_date=date(1999, 1, 1)), Reason.INVALID_DATE),
])
def test_bill_rejections(cfg, fx, lines, kw, reason):
    a = assess_bill(bill(lines, **kw), cfg, fx)
    assert (a.outcome, a.reason) == (Outcome.REJECTED, reason)


def test_order_participation_before_member_before_category_before_fx(cfg, fx):
    assert assess_posting(posting(hotel_code="JALCITY-NAHA", member_id=None, category="TAX", nights=0),
                          cfg, fx).reason is Reason.NON_PARTICIPATING_HOTEL
    assert assess_posting(posting(member_id=None, category="TAX", nights=0), cfg, fx).reason is Reason.NO_MEMBER
    # an excluded category does not wait for an FX rate
    a = assess_posting(posting(hotel_code="NIKKO-SAIPAN", currency="USD", category="TAX", nights=0), cfg, fx)
    assert (a.outcome, a.reason) == (Outcome.EXCLUDED, Reason.TAX)


# ---------------------------------------------------------------- bills

def test_bill_all_excluded_lines_get_first_reason(cfg, fx):
    a = assess_bill(bill([("SERVICE_CHARGE", "100"), ("TAX", "10")]), cfg, fx)
    assert (a.outcome, a.reason) == (Outcome.EXCLUDED, Reason.SERVICE_CHARGE)
    assert assess_bill(bill([("TAX", "10"), ("SERVICE_CHARGE", "100")]), cfg, fx).reason is Reason.TAX


def test_bill_paid_with_points_taken_from_food_first(cfg, fx):
    # FOOD 1,000 + OTHER 5,000, ¥3,000 with points: 1,000 off food, 2,000 off other -> ¥3,000 other
    a = assess_bill(bill([("FOOD", "1000"), ("OTHER", "5000")], paid_with_points_amount=D("3000")), cfg, fx)
    assert (a.base_points, a.eligible_amount_jpy) == (30, D("3000"))


def test_bill_food_and_other_rates_apply_per_part():
    data = tomllib.loads(CONFIG.read_text())
    data["earning"]["points_per_1000_jpy"]["OTHER_SERVICE"] = 50
    cfg = ProgramConfig.from_mapping(data)
    a = assess_bill(bill([("FOOD", "1000"), ("OTHER", "1000")], paid_with_points_amount=D("500")), cfg, FxTable())
    assert a.base_points == 55  # 500 * 0.01 + 1000 * 0.05


def test_bill_everything_paid_with_points(cfg, fx):
    a = assess_bill(bill([("FOOD", "1000"), ("TAX", "100")], paid_with_points_amount=D("1000")), cfg, fx)
    assert (a.outcome, a.reason, a.base_points) == (Outcome.EXCLUDED, Reason.PAID_WITH_POINTS, 0)
    a = assess_bill(bill([("FOOD", "1000")], paid_with_points_amount=D("5000")), cfg, fx)
    assert a.reason is Reason.PAID_WITH_POINTS


def test_bill_no_eligible_amount(cfg, fx):
    assert assess_bill(bill([]), cfg, fx).reason is Reason.NO_ELIGIBLE_AMOUNT
    assert assess_bill(bill([("FOOD", "0"), ("TAX", "10")]), cfg, fx).reason is Reason.NO_ELIGIBLE_AMOUNT
    assert assess_bill(bill([("FOOD", "99")]), cfg, fx).reason is Reason.NO_ELIGIBLE_AMOUNT  # floor(0.99)


def test_bill_in_usd(cfg):
    fx = usd_table((date(2026, 3, 14), "150"))
    b = bill([("FOOD", "40.10"), ("TAX", "4")], hotel_code="NIKKO-SAIPAN", currency="USD",
             paid_with_points_amount=D("0.10"))
    a = assess_bill(b, cfg, fx)
    assert (a.base_points, a.eligible_amount_jpy, a.fx_rate) == (60, D("6000"), D("150"))
    assert assess_bill(b, cfg, FxTable()).outcome is Outcome.HELD


def test_bill_void(cfg, fx):
    b = bill([("FOOD", "-10000"), ("BEVERAGE", "-3333"), ("SERVICE_CHARGE", "-1333"), ("TAX", "-1467")],
             paid_with_points_amount=D("-1000"), voids_bill_id="b0", bill_id="b2")
    a = assess_bill(b, cfg, fx)
    assert (a.outcome, a.reason, a.base_points, a.eligible_amount_jpy) == (Outcome.EARNED, None, 0, D("-12333"))
    empty = assess_bill(bill([], voids_bill_id="b0"), cfg, fx)
    assert (empty.outcome, empty.eligible_amount_jpy) == (Outcome.EARNED, 0)
    assert assess_bill(bill([("FOOD", "-1")], voids_bill_id="b0", member_id=None), cfg, fx).reason is Reason.NO_MEMBER


# ---------------------------------------------------------------- stays: overrides, plans, agencies

def test_hotel_override_okura_fukuoka(cfg, fx):
    assert assess_posting(posting(hotel_code="OKURA-FUKUOKA"), cfg, fx).base_points == 1050  # 30 / 1,000
    food = posting(hotel_code="OKURA-FUKUOKA", category="FOOD_BEVERAGE", amount=D("8999"), nights=0)
    assert assess_posting(food, cfg, fx).base_points == 89
    other = posting(hotel_code="OKURA-FUKUOKA", category="OTHER_SERVICE", amount=D("8999"), nights=0)
    assert assess_posting(other, cfg, fx).base_points == 89  # no override: program default


def test_rate_plan_dynamic_package_fixed_per_night(cfg, fx):
    a = assess_posting(posting(rate_plan="DYNAMIC_PACKAGE", nights=3, amount=D("90000")), cfg, fx)
    assert (a.outcome, a.base_points, a.nights, a.eligible_amount_jpy) == (Outcome.EARNED, 150, 3, D("90000"))
    unknown_plan = assess_posting(posting(rate_plan="BAR", nights=3, amount=D("90000")), cfg, fx)
    assert unknown_plan.base_points == 1800


def test_rate_plan_no_points(cfg, fx):
    a = assess_posting(posting(rate_plan="NO_POINTS", nights=2), cfg, fx)
    assert (a.outcome, a.reason, a.base_points, a.nights) == (Outcome.EXCLUDED, Reason.RATE_PLAN_NOT_EARNING, 0, 2)
    other = assess_posting(posting(rate_plan="NO_POINTS", nights=2, booking_channel="OTHER"), cfg, fx)
    assert (other.reason, other.nights) == (Reason.RATE_PLAN_NOT_EARNING, 0)


def test_travel_agency_points_at_nikko_narita(cfg, fx):
    a = assess_posting(posting(hotel_code="NIKKO-NARITA", booking_channel="TRAVEL_AGENCY", nights=2), cfg, fx)
    assert (a.outcome, a.reason, a.base_points, a.nights) == (Outcome.EARNED, None, 100, 2)
    direct = assess_posting(posting(hotel_code="NIKKO-NARITA", nights=2), cfg, fx)
    assert direct.base_points == 700
    other = assess_posting(posting(hotel_code="NIKKO-NARITA", booking_channel="OTHER", nights=2), cfg, fx)
    assert (other.reason, other.base_points, other.nights) == (Reason.CHANNEL_NOT_EARNING, 0, 0)
    # the rate plan's fixed points apply to earning channels only
    pkg = posting(hotel_code="NIKKO-NARITA", booking_channel="TRAVEL_AGENCY", nights=3, rate_plan="DYNAMIC_PACKAGE")
    assert assess_posting(pkg, cfg, fx).base_points == 150


def test_zero_amount_stay_with_nights(cfg, fx):
    a = assess_posting(posting(amount=D("0")), cfg, fx)
    assert (a.outcome, a.reason, a.base_points, a.nights) == (Outcome.EARNED, None, 0, 1)
    z = assess_posting(posting(amount=D("0"), nights=0), cfg, fx)
    assert (z.outcome, z.reason) == (Outcome.EXCLUDED, Reason.NO_ELIGIBLE_AMOUNT)


# ---------------------------------------------------------------- corrections

def test_correction_is_assessed_but_not_priced(cfg, fx):
    a = assess_posting(posting(posting_id="p2", corrects_posting_id="p1", amount=D("-8750")), cfg, fx)
    assert (a.outcome, a.reason, a.base_points, a.eligible_amount_jpy, a.nights) == (
        Outcome.EARNED, None, 0, D("-8750"), 1)
    tax = assess_posting(posting(corrects_posting_id="p1", amount=D("-10"), category="TAX", nights=0), cfg, fx)
    assert tax.reason is Reason.TAX
    usd = posting(corrects_posting_id="p1", amount=D("-10"), currency="USD", hotel_code="NIKKO-SAIPAN")
    assert assess_posting(usd, cfg, fx).outcome is Outcome.HELD
    assert assess_posting(usd, cfg, usd_table((MARCH_14, "150"))).eligible_amount_jpy == D("-1500")


def test_vector_14_and_15_proportional_reversal():
    assert proportional_reversal(700, D("-8750"), D("35000"), 700, D("35000")) == 175
    assert proportional_reversal(123, D("-12333"), D("12333"), 123, D("12333")) == 123
    # second partial correction: capped by what remains, all of it once the amount is used up
    assert proportional_reversal(700, D("-30000"), D("35000"), 525, D("26250")) == 525
    assert proportional_reversal(10, D("-1"), D("3"), 10, D("3")) == 3  # 3.33 -> 3


def test_vectors_12_13_bonus(cfg):
    assert bonus_points(2000, "LOYAL", cfg) == 500
    assert bonus_points(99, "EXCLUSIVE", cfg) == 49
    assert bonus_points(99, "REGULAR", cfg) == 0
    with pytest.raises(ValueError):
        bonus_points(99, "GOLD", cfg)


# ---------------------------------------------------------------- FX table

def test_fx_table_add_replace_lookup():
    t = FxTable()
    assert t.add(FxRate("USD", date(2026, 3, 10), D("152.30"))) is True
    assert t.add(FxRate("USD", date(2026, 3, 10), D("152.30"))) is False
    assert t.add(FxRate("USD", date(2026, 3, 10), D("152.40"))) is True
    assert t.add(FxRate("EUR", date(2026, 3, 1), D("160"))) is True
    assert t.add(FxRate("USD", date(2026, 3, 5), D("150"))) is True
    assert t.currencies() == ("EUR", "USD") and len(t) == 3
    assert t.lookup("USD", date(2026, 3, 10), 7).jpy_per_unit == D("152.40")
    assert t.lookup("USD", date(2026, 3, 9), 7).jpy_per_unit == D("150")
    assert t.lookup("USD", date(2026, 3, 4), 7) is None
    assert t.lookup("USD", date(2026, 3, 18), 7) is None
    assert t.lookup("THB", date(2026, 3, 10), 7) is None
    assert [r.rate_date for r in t.rates()] == [date(2026, 3, 1), date(2026, 3, 5), date(2026, 3, 10)]


@pytest.mark.parametrize("rate", [FxRate("usd", date(2026, 1, 1), D("1")), FxRate("USD", date(2026, 1, 1), D("0")),
                                  FxRate("USD", date(2026, 1, 1), D("NaN")), FxRate("USD", date(2026, 1, 1), 1.5)])  # type: ignore[arg-type]  # a float on purpose
def test_fx_table_refuses_bad_rates(rate):
    with pytest.raises(ValueError):
        FxTable().add(rate)


def test_to_jpy_is_exact():
    assert to_jpy(D("12.5"), "JPY", None) == D("12.5")
    a, r = D("123456789012.345678901"), D("0.000123456789012345678901")
    got = to_jpy(a, "USD", FxRate("USD", date(2026, 1, 1), r))
    assert Fraction(got) == Fraction(a) * Fraction(r)  # beyond 28 significant digits
    with pytest.raises(ValueError):
        to_jpy(D("1"), "USD", None)
    with pytest.raises(ValueError):
        to_jpy(D("1"), "USD", FxRate("EUR", date(2026, 1, 1), D("1")))


def test_exact_helpers_beat_the_default_context():
    amount = D("999999999999.9999999999999999999")  # 31 digits: the default context would round up
    assert floor_int(mul_exact(amount, D("0.02"))) == 19_999_999_999
    assert floor_int(D("-0.5")) == -1 and floor_int(D("7E2")) == 700
    assert add_exact(D("1E+20"), D("1E-20")) == Fraction(10 ** 40 + 1, 10 ** 20)


@pytest.mark.parametrize("category,nights,expected", [
    ("ROOM", 1, 19_999_999_999), ("FOOD_BEVERAGE", 0, 9_999_999_999), ("OTHER_SERVICE", 0, 9_999_999_999)])
def test_high_precision_amount_is_not_rounded_up(cfg, fx, category, nights, expected):
    amount = D("999999999999.9999999999999999999")
    assert assess_posting(posting(amount=amount, category=category, nights=nights), cfg, fx).base_points == expected
    if category != "ROOM":
        kind = "FOOD" if category == "FOOD_BEVERAGE" else "OTHER"
        assert assess_bill(bill([(kind, str(amount))]), cfg, fx).base_points == expected


def test_config_without_bonus_for_a_status(cfg):
    assert bonus_points(100, "LOYAL", dataclasses.replace(cfg, bonus_percent={"REGULAR": 0})) == 0
