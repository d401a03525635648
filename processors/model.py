"""Domain records of the One Harmony engine: the inputs the rules read and the values they produce.

Pure data: no I/O. Money is ``Decimal``, points are ``int``, dates are ``datetime.date`` (JST
business dates), instants are timezone-aware ``datetime``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from enum import Enum

JST = timezone(timedelta(hours=9), "JST")


class Category(str, Enum):
    ROOM = "ROOM"
    FOOD_BEVERAGE = "FOOD_BEVERAGE"
    OTHER_SERVICE = "OTHER_SERVICE"
    TAX = "TAX"
    SERVICE_CHARGE = "SERVICE_CHARGE"
    SHOPPING_ARCADE = "SHOPPING_ARCADE"


class Channel(str, Enum):
    RESERVATION_CENTER = "RESERVATION_CENTER"
    OFFICIAL_WEBSITE = "OFFICIAL_WEBSITE"
    DIRECT = "DIRECT"
    TRAVEL_AGENCY = "TRAVEL_AGENCY"
    OTHER = "OTHER"


class Status(str, Enum):
    REGULAR = "REGULAR"
    LOYAL = "LOYAL"
    EXCLUSIVE = "EXCLUSIVE"


class Outcome(str, Enum):
    EARNED = "EARNED"
    EXCLUDED = "EXCLUDED"
    HELD = "HELD"
    REJECTED = "REJECTED"


class Reason(str, Enum):
    """Why a charge earned nothing, was held, or was rejected (charges.decisions.v1 `reason`)."""
    TAX = "TAX"
    SERVICE_CHARGE = "SERVICE_CHARGE"
    SHOPPING_ARCADE = "SHOPPING_ARCADE"
    NON_PARTICIPATING_HOTEL = "NON_PARTICIPATING_HOTEL"
    CHANNEL_NOT_EARNING = "CHANNEL_NOT_EARNING"
    RATE_PLAN_NOT_EARNING = "RATE_PLAN_NOT_EARNING"
    BEFORE_ENROLLMENT = "BEFORE_ENROLLMENT"
    NO_MEMBER = "NO_MEMBER"
    PAID_WITH_POINTS = "PAID_WITH_POINTS"
    NO_ELIGIBLE_AMOUNT = "NO_ELIGIBLE_AMOUNT"
    MEMBER_CLOSED = "MEMBER_CLOSED"
    # held
    AWAITING_FX_RATE = "AWAITING_FX_RATE"
    AWAITING_ENROLLMENT = "AWAITING_ENROLLMENT"
    AWAITING_ORIGINAL = "AWAITING_ORIGINAL"
    # rejected
    UNKNOWN_MEMBER = "UNKNOWN_MEMBER"
    UNKNOWN_HOTEL = "UNKNOWN_HOTEL"
    UNKNOWN_CURRENCY = "UNKNOWN_CURRENCY"
    CURRENCY_MISMATCH = "CURRENCY_MISMATCH"
    INVALID_AMOUNT = "INVALID_AMOUNT"
    INVALID_NIGHTS = "INVALID_NIGHTS"
    INVALID_DATE = "INVALID_DATE"
    UNKNOWN_CATEGORY = "UNKNOWN_CATEGORY"  # posting category / bill line kind not in the model
    ALREADY_REVERSED = "ALREADY_REVERSED"


# ---------------------------------------------------------------- inputs

@dataclass(frozen=True, slots=True)
class FolioPosting:
    posting_id: str
    hotel_code: str
    reservation_id: str
    member_id: str | None
    business_date: date
    posted_at: datetime
    category: str
    amount: Decimal
    currency: str
    nights: int = 0
    booking_channel: str = "DIRECT"
    rate_plan: str | None = None
    corrects_posting_id: str | None = None

    @property
    def source_id(self) -> str:
        return "P:" + self.posting_id

    @property
    def original_source_id(self) -> str | None:
        """The source id of the posting this one corrects (``P:<corrects_posting_id>``), if any."""
        return "P:" + self.corrects_posting_id if self.corrects_posting_id else None


@dataclass(frozen=True, slots=True)
class BillLine:
    kind: str  # FOOD, BEVERAGE, TAX, SERVICE_CHARGE, OTHER
    amount: Decimal


@dataclass(frozen=True, slots=True)
class PosBill:
    bill_id: str
    hotel_code: str
    outlet_code: str
    outlet_type: str  # RESTAURANT, BAR, SHOPPING_ARCADE, OTHER
    member_id: str | None
    business_date: date
    closed_at: datetime
    currency: str
    lines: tuple[BillLine, ...]
    paid_with_points_amount: Decimal = Decimal(0)
    voids_bill_id: str | None = None

    @property
    def source_id(self) -> str:
        return "B:" + self.bill_id

    @property
    def original_source_id(self) -> str | None:
        """The source id of the bill this one voids (``B:<voids_bill_id>``), if any."""
        return "B:" + self.voids_bill_id if self.voids_bill_id else None


def original_source_id(event: object) -> str | None:
    """The source id a charge points at: ``P:<id>`` for a posting that corrects another, ``B:<id>``
    for a bill that voids another; None for anything else. Whether it is *decided* as a correction
    is the rules' business (an upward PMS correction earns like a charge: ``corrections.corrected_id``)."""
    if isinstance(event, (FolioPosting, PosBill)):
        return event.original_source_id
    return None


@dataclass(frozen=True, slots=True)
class FxRate:
    currency: str
    rate_date: date
    jpy_per_unit: Decimal


@dataclass(frozen=True, slots=True)
class MemberEnrollment:
    member_id: str
    enrolled_on: date
    state: str  # ACTIVE, CLOSED


@dataclass(frozen=True, slots=True)
class RedemptionRequest:
    request_id: str
    member_id: str
    award: str
    quantity: int
    amount_jpy: Decimal | None
    hotel_code: str | None
    booking_channel: str | None
    requested_at: datetime
    cancels_request_id: str | None = None

    @property
    def source_id(self) -> str:
        return "R:" + self.request_id


# ---------------------------------------------------------------- rule results

@dataclass(frozen=True, slots=True)
class ChargeAssessment:
    """What a charge is worth before member state (status, originals) is taken into account.

    ``outcome`` is EARNED when ``base_points`` > 0 or ``nights`` > 0 may count; EXCLUDED with a
    ``reason`` otherwise; HELD (AWAITING_FX_RATE) when the FX rate is missing; REJECTED for
    invalid input. ``nights`` are the eligible room nights this charge adds (0 when not eligible),
    also for EXCLUDED CHANNEL_NOT_EARNING stays through travel agencies.
    """
    outcome: Outcome
    reason: Reason | None
    eligible_amount_jpy: Decimal
    base_points: int
    nights: int
    fx_rate: Decimal | None = None


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    entry_id: str
    member_id: str
    type: str  # EARN, BONUS, REVERSAL, REDEEM, REFUND, EXPIRE
    points: int  # signed effect on the balance
    lot_expires_on: date | None
    source_id: str
    occurred_at: datetime
    balance_after: int


@dataclass(slots=True)
class Qualifying:
    points: int = 0
    nights: int = 0
    carried_points: int = 0
    carried_nights: int = 0

    @property
    def total_points(self) -> int:
        return self.points + self.carried_points

    @property
    def total_nights(self) -> int:
        return self.nights + self.carried_nights


@dataclass(frozen=True, slots=True)
class Evaluation:
    """Year-end result for one member and year Y (program-rules §2)."""
    year: int
    status: Status
    qualified_by: str  # POINTS, NIGHTS, BOTH, NONE
    carried_points: int
    carried_nights: int
    valid_from: date
    valid_until: date


@dataclass(frozen=True, slots=True)
class RedemptionQuote:
    """Cost of a redemption request, or why it cannot be served (before looking at the balance)."""
    points: int
    reason: str | None = None  # INVALID_AMOUNT, CHANNEL_NOT_ELIGIBLE, UNKNOWN_AWARD, ...


@dataclass(slots=True)
class Lots:
    """Point lots of a member: expiry date -> remaining points, plus debt (negative balance)."""
    by_expiry: dict[date, int] = field(default_factory=dict)
    debt: int = 0

    @property
    def balance(self) -> int:
        return sum(self.by_expiry.values()) - self.debt
