"""Earning rules (program-rules §1): what one PMS posting or POS bill is worth, member-independent.

Enrollment, member state, status bonus and the points of corrections are applied by the member
aggregate (``processors.member``); this module only assesses the charge itself.

Order of checks (the first that applies decides):

1. REJECTED (invalid input): UNKNOWN_HOTEL, UNKNOWN_CURRENCY, CURRENCY_MISMATCH, INVALID_DATE,
   INVALID_NIGHTS, INVALID_AMOUNT, UNKNOWN_CATEGORY.
2. EXCLUDED NON_PARTICIPATING_HOTEL (no points, no nights).
3. EXCLUDED NO_MEMBER.
4. EXCLUDED TAX / SERVICE_CHARGE / SHOPPING_ARCADE (category, outlet type, all-excluded bill lines).
5. HELD AWAITING_FX_RATE (non-JPY charge without a usable rate).
6. Stays: rate plan, then booking channel. Other categories earn whatever the channel.
7. EARNED when base points > 0 or nights count; otherwise EXCLUDED NO_ELIGIBLE_AMOUNT.

EXCLUDED, HELD and REJECTED assessments carry ``base_points`` 0 and ``eligible_amount_jpy`` 0;
only stays excluded by channel or rate plan may still carry ``nights``.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from processors.config import Hotel, ProgramConfig
from processors.fx import JPY, FxTable, add_exact, floor_div, floor_int, mul_exact, to_jpy, valid_currency
from processors.model import BillLine, Category, ChargeAssessment, FolioPosting, FxRate, Outcome, PosBill, Reason

MIN_BUSINESS_DATE = date(2000, 1, 1)
MAX_BUSINESS_DATE = date(2099, 12, 31)
MAX_AMOUNT = Decimal(10) ** 12
MAX_NIGHTS = 365

_EXCLUDED_CATEGORIES = {
    Category.TAX: Reason.TAX,
    Category.SERVICE_CHARGE: Reason.SERVICE_CHARGE,
    Category.SHOPPING_ARCADE: Reason.SHOPPING_ARCADE,
}
# POS line kind -> earning category whose rate applies
_BILL_EARNING_KINDS = {"FOOD": "FOOD_BEVERAGE", "BEVERAGE": "FOOD_BEVERAGE", "OTHER": "OTHER_SERVICE"}
_BILL_EXCLUDED_KINDS = {"TAX": Reason.TAX, "SERVICE_CHARGE": Reason.SERVICE_CHARGE,
                        "SHOPPING_ARCADE": Reason.SHOPPING_ARCADE}
_ZERO = Decimal(0)


def _text(value: Any) -> Any:
    """Plain value of a str-Enum member (Category.ROOM -> "ROOM"); anything else unchanged."""
    return getattr(value, "value", value)


def _rejected(reason: Reason) -> ChargeAssessment:
    return ChargeAssessment(Outcome.REJECTED, reason, _ZERO, 0, 0)


def _excluded(reason: Reason, nights: int = 0, fx_rate: Decimal | None = None) -> ChargeAssessment:
    return ChargeAssessment(Outcome.EXCLUDED, reason, _ZERO, 0, nights, fx_rate)


def _result(points: int, amount_jpy: Decimal, nights: int, fx_rate: Decimal | None) -> ChargeAssessment:
    if points > 0 or nights > 0:
        return ChargeAssessment(Outcome.EARNED, None, amount_jpy, points, nights, fx_rate)
    return _excluded(Reason.NO_ELIGIBLE_AMOUNT, 0, fx_rate)


def _check_place_and_date(hotel_code: str, currency: str, business_date: date,
                          cfg: ProgramConfig) -> tuple[Hotel | None, Reason | None]:
    hotel = cfg.hotels.get(hotel_code) if isinstance(hotel_code, str) else None
    if hotel is None:
        return None, Reason.UNKNOWN_HOTEL
    if not valid_currency(currency):
        return hotel, Reason.UNKNOWN_CURRENCY
    if currency not in (JPY, hotel.currency):
        return hotel, Reason.CURRENCY_MISMATCH
    if not isinstance(business_date, date) or not MIN_BUSINESS_DATE <= business_date <= MAX_BUSINESS_DATE:
        return hotel, Reason.INVALID_DATE
    return hotel, None


def _amount_ok(amount: object, negative_allowed: bool) -> bool:
    if not isinstance(amount, Decimal) or not amount.is_finite():
        return False
    if abs(amount) > MAX_AMOUNT:
        return False
    return negative_allowed or amount >= 0


def _no_member(member_id: str | None) -> bool:
    return not isinstance(member_id, str) or not member_id.strip()


def _fx(currency: str, business_date: date, cfg: ProgramConfig,
        fx: FxTable) -> tuple[bool, FxRate | None]:
    """(usable, rate): JPY needs no rate; other currencies need one per ``cfg.fx_max_age_days``."""
    if currency == JPY:
        return True, None
    rate = fx.lookup(currency, business_date, cfg.fx_max_age_days)
    return rate is not None, rate


# ---------------------------------------------------------------- PMS postings

def assess_posting(p: FolioPosting, cfg: ProgramConfig, fx: FxTable) -> ChargeAssessment:
    """Assess one folio posting (see the module docstring for the order of checks).

    A correction (``corrects_posting_id`` set, amount usually negative) goes through the same
    checks up to the FX rate (hotel, currency, date, nights, amount, member, category), but its
    points are computed by the aggregate from the original (``processors.corrections``, in JPY at
    the original's rate): when it passes, the result is
    EARNED with ``base_points`` 0, ``eligible_amount_jpy`` = the correction's own amount in JPY
    (sign kept, normally negative) and ``nights`` = the posting's nights (to take back), whatever
    the channel or rate plan.

    A stay with nights and amount 0 through a channel that counts nights is EARNED with 0 points
    and its nights. ``eligible_amount_jpy`` of an EARNED stay is the posting's JPY amount, also
    when the points come from a fixed number per night (rate plan or travel agency), so that a
    later correction can be prorated against it.
    """
    hotel, bad = _check_place_and_date(p.hotel_code, p.currency, p.business_date, cfg)
    if bad is not None:
        return _rejected(bad)
    assert hotel is not None
    try:
        category: Category | None = Category(_text(p.category))
    except ValueError:
        category = None
    nights = p.nights
    if isinstance(nights, bool) or not isinstance(nights, int) or not 0 <= nights <= MAX_NIGHTS \
            or (nights > 0 and category is not Category.ROOM):
        return _rejected(Reason.INVALID_NIGHTS)
    correction = bool(p.corrects_posting_id)
    if not _amount_ok(p.amount, negative_allowed=correction):
        return _rejected(Reason.INVALID_AMOUNT)
    if category is None:
        return _rejected(Reason.UNKNOWN_CATEGORY)
    if not hotel.participating:
        return _excluded(Reason.NON_PARTICIPATING_HOTEL)
    if _no_member(p.member_id):
        return _excluded(Reason.NO_MEMBER)
    if category in _EXCLUDED_CATEGORIES:
        return _excluded(_EXCLUDED_CATEGORIES[category])
    usable, rate = _fx(p.currency, p.business_date, cfg, fx)
    if not usable:
        return ChargeAssessment(Outcome.HELD, Reason.AWAITING_FX_RATE, _ZERO, 0, 0)
    amount_jpy = to_jpy(p.amount, p.currency, rate)
    fx_rate = rate.jpy_per_unit if rate is not None else None
    if correction:
        return ChargeAssessment(Outcome.EARNED, None, amount_jpy, 0, nights, fx_rate)
    if category is Category.ROOM:
        return _assess_stay(p, hotel, cfg, amount_jpy, fx_rate)
    points = floor_int(mul_exact(amount_jpy, cfg.rate(hotel, category.value)))
    return _result(points, amount_jpy, 0, fx_rate)


def _assess_stay(p: FolioPosting, hotel: Hotel, cfg: ProgramConfig, amount_jpy: Decimal,
                 fx_rate: Decimal | None) -> ChargeAssessment:
    channel = _text(p.booking_channel)
    counted_nights = p.nights if channel in cfg.night_channels else 0
    plan = cfg.rate_plan(hotel, p.rate_plan)
    if plan is not None and not plan.earns:
        return _excluded(Reason.RATE_PLAN_NOT_EARNING, counted_nights, fx_rate)
    if channel in cfg.earning_channels:
        if plan is not None and plan.points_per_night is not None:
            points = plan.points_per_night * p.nights
        else:
            points = floor_int(mul_exact(amount_jpy, cfg.rate(hotel, Category.ROOM.value)))
        return _result(points, amount_jpy, counted_nights, fx_rate)
    if channel in cfg.night_channels:  # e.g. TRAVEL_AGENCY: nights count, points only if the hotel gives some
        per_night = hotel.travel_agency_points_per_night if channel == "TRAVEL_AGENCY" else 0
        if per_night * p.nights > 0:
            return ChargeAssessment(Outcome.EARNED, None, amount_jpy, per_night * p.nights,
                                    counted_nights, fx_rate)
        return _excluded(Reason.CHANNEL_NOT_EARNING, counted_nights, fx_rate)
    return _excluded(Reason.CHANNEL_NOT_EARNING, 0, fx_rate)


# ---------------------------------------------------------------- POS bills

def assess_bill(b: PosBill, cfg: ProgramConfig, fx: FxTable) -> ChargeAssessment:
    """Assess one POS bill (see the module docstring for the order of checks).

    Eligible lines: FOOD and BEVERAGE (FOOD_BEVERAGE rate), OTHER (OTHER_SERVICE rate); TAX and
    SERVICE_CHARGE (and SHOPPING_ARCADE) lines never earn. ``paid_with_points_amount`` is taken off
    the food & beverage part first, then the other part; base = floor(Σ part_jpy × rate).

    A void (``voids_bill_id`` set) goes through the same checks up to the FX rate; when it passes
    the result is EARNED with ``base_points`` 0, ``nights`` 0 and ``eligible_amount_jpy`` =
    −(|eligible lines| − |paid with points|) in JPY, floored at 0 (0 when the void carries no
    lines). The aggregate reverses in proportion to the void's own eligible amount, converted as
    ``processors.corrections`` says (one unit, JPY); a void without lines voids the whole bill.
    """
    hotel, bad = _check_place_and_date(b.hotel_code, b.currency, b.business_date, cfg)
    if bad is not None:
        return _rejected(bad)
    assert hotel is not None
    void = bool(b.voids_bill_id)
    lines: tuple[BillLine, ...] = tuple(b.lines)
    amounts = [line.amount for line in lines] + [b.paid_with_points_amount]
    if not all(_amount_ok(a, negative_allowed=void) for a in amounts):
        return _rejected(Reason.INVALID_AMOUNT)
    kinds = [_text(line.kind) for line in lines]
    if any(k not in _BILL_EARNING_KINDS and k not in _BILL_EXCLUDED_KINDS for k in kinds):
        return _rejected(Reason.UNKNOWN_CATEGORY)
    if not hotel.participating:
        return _excluded(Reason.NON_PARTICIPATING_HOTEL)
    if _no_member(b.member_id):
        return _excluded(Reason.NO_MEMBER)
    if _text(b.outlet_type) == "SHOPPING_ARCADE":
        return _excluded(Reason.SHOPPING_ARCADE)
    if kinds and all(k in _BILL_EXCLUDED_KINDS for k in kinds):
        return _excluded(_BILL_EXCLUDED_KINDS[kinds[0]])
    usable, rate = _fx(b.currency, b.business_date, cfg, fx)
    if not usable:
        return ChargeAssessment(Outcome.HELD, Reason.AWAITING_FX_RATE, _ZERO, 0, 0)
    fx_rate = rate.jpy_per_unit if rate is not None else None
    parts: dict[str, list[Decimal]] = {"FOOD_BEVERAGE": [], "OTHER_SERVICE": []}
    for kind, line in zip(kinds, lines):
        if kind in _BILL_EARNING_KINDS:
            parts[_BILL_EARNING_KINDS[kind]].append(to_jpy(line.amount, b.currency, rate))
    paid_jpy = to_jpy(b.paid_with_points_amount, b.currency, rate)
    if void:
        gross = add_exact(*(abs(a) for a in parts["FOOD_BEVERAGE"] + parts["OTHER_SERVICE"]))
        net = max(add_exact(gross, -abs(paid_jpy)), _ZERO)
        return ChargeAssessment(Outcome.EARNED, None, -net, 0, 0, fx_rate)
    food = add_exact(*parts["FOOD_BEVERAGE"])
    other = add_exact(*parts["OTHER_SERVICE"])
    if add_exact(food, other) <= 0:
        return _excluded(Reason.NO_ELIGIBLE_AMOUNT, 0, fx_rate)
    from_food = min(paid_jpy, food)
    food = add_exact(food, -from_food)
    other = add_exact(other, -min(add_exact(paid_jpy, -from_food), other))
    if add_exact(food, other) <= 0:
        return _excluded(Reason.PAID_WITH_POINTS, 0, fx_rate)
    points = floor_int(add_exact(mul_exact(food, cfg.rate(hotel, "FOOD_BEVERAGE")),
                                 mul_exact(other, cfg.rate(hotel, "OTHER_SERVICE"))))
    return _result(points, add_exact(food, other), 0, fx_rate)


# ---------------------------------------------------------------- bonus and corrections

def bonus_points(base: int, status: str, cfg: ProgramConfig) -> int:
    """floor(base × bonus_percent[status] / 100); 0 for a status without a configured bonus.

    Raises ValueError for a status that is not REGULAR, LOYAL or EXCLUSIVE.
    """
    status = _text(status)
    if status not in ("REGULAR", "LOYAL", "EXCLUSIVE"):
        raise ValueError(f"unknown status {status!r}")
    return base * cfg.bonus_percent.get(status, 0) // 100


def proportional_reversal(original_points: int, corrected_amount: Decimal, original_amount: Decimal,
                          remaining_points: int, remaining_amount: Decimal) -> int:
    """Points to take back for a correction (non-negative).

    floor toward zero of original_points × |corrected_amount| / |original_amount|, capped at
    ``remaining_points`` (what the original still holds after earlier corrections); all of
    ``remaining_points`` when |corrected_amount| >= ``remaining_amount`` (the original amount
    not yet corrected) or when the original amount is 0.
    """
    if remaining_points <= 0:
        return 0
    corrected = abs(corrected_amount)
    if corrected >= remaining_amount or original_amount == 0:
        return remaining_points
    # exact integer arithmetic on the Decimal coefficients: both amounts are n * 10**e
    num = mul_exact(Decimal(abs(original_points)), corrected)
    share = floor_div(num, abs(original_amount))
    return max(0, min(share, remaining_points))

