"""Inputs and results of the membership office: manual adjustments and missing-points claims.

Pure data (no I/O). Field names are those of the Avro records ``PointAdjustment`` and
``ChargeClaim`` (interfaces.md)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from .model import FolioPosting, PosBill


@dataclass(frozen=True, slots=True)
class PointAdjustment:
    adjustment_id: str
    member_id: str
    points: int  # signed: credit > 0, debit < 0
    reason: str  # GOODWILL, SERVICE_RECOVERY, MIGRATION, CORRECTION, OTHER (a string: unknown ones are REJECTED)
    note: str | None
    operator: str
    requested_at: datetime

    @property
    def source_id(self) -> str:
        return "A:" + self.adjustment_id


@dataclass(frozen=True, slots=True)
class ChargeClaim:
    claim_id: str
    member_id: str
    source_id: str  # posting_id or bill_id of a charge published without member id (P:/B: prefix optional)
    requested_at: datetime

    @property
    def claim_source_id(self) -> str:
        return "K:" + self.claim_id


@dataclass(frozen=True, slots=True)
class KeptCharge:
    """A charge published without a member id, as kept for claims: its source id (P:/B:), topic,
    Avro bytes, the decoded event and the content fingerprint."""
    source_id: str
    topic: str
    raw: bytes
    event: FolioPosting | PosBill  # member_id None
    fingerprint: str


@dataclass(frozen=True, slots=True)
class ClaimSubject:
    """What a claim decision names when no kept charge was found (no hotel, no business date)."""
    hotel_code: str
    business_date: date
    closed_at: datetime


@dataclass(slots=True)
class AdjustmentDecision:
    """The outcome of one adjustment (members.adjustments.results.v1)."""
    adjustment: PointAdjustment
    outcome: str  # APPLIED / REJECTED
    reason: str | None
    points: int  # signed points applied (0 when rejected)
    lots: list[tuple[date, int]] = field(default_factory=list)  # lots credited (+) or debited (−)
    debt_change: int = 0  # debt repaid (−) or created (+)
    balance_after: int = 0
