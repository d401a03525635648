"""What handling an input produced: the values the engine publishes (one per output topic)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any


@dataclass(slots=True)
class Entry:
    """A ledger entry as remembered by a source record (ids are derived, not stored)."""
    type: str
    points: int
    lot: date | None
    balance_after: int


@dataclass(slots=True)
class Decision:
    """One charges.decisions.v1 record: the fate of one posting or bill."""
    source_id: str
    topic: str
    event: Any  # FolioPosting | PosBill
    outcome: str
    reason: str | None = None
    detail: str | None = None
    eligible_amount_jpy: Decimal | None = None
    fx_rate: Decimal | None = None
    base: int = 0
    bonus: int = 0
    reversed: int = 0
    nights: int = 0
    decision_id: str | None = None  # set for claim decisions (K:<claim_id>); else derived from source_id

    @property
    def id(self) -> str:
        """The published ``decision_id``: deterministic, so a replay re-emits it. A HELD decision is
        followed by the final one, so it is ``<id>/HELD/<reason>``; the id is the claim's
        (``K:<claim_id>``) for a claimed charge, whose own id carries its NO_MEMBER decision."""
        base = self.decision_id or self.source_id
        return base if self.outcome != "HELD" else f"{base}/HELD/{self.reason}"


@dataclass(slots=True)
class PointMove:
    """One points.ledger.v1 entry of a member."""
    entry_id: str
    source_id: str
    entry: Entry
    occurred_at: datetime
    hotel_code: str | None = None
    business_date: date | None = None


@dataclass(slots=True)
class RedemptionDecision:
    request: Any  # RedemptionRequest
    outcome: str  # APPROVED / REJECTED
    reason: str | None
    points: int
    lots_used: list[tuple[date, int]]
    balance_after: int


@dataclass(slots=True)
class StatusChanged:
    event_id: str
    year_evaluated: int
    old_status: str
    new_status: str
    valid_from: date
    valid_until: date
    qualifying_points: int
    qualifying_nights: int
    carried_points: int
    carried_nights: int
    qualified_by: str


@dataclass(slots=True)
class DeadLetter:
    """An input the engine will not apply (id reused with other content, unknown member after grace)."""
    topic: str
    raw: bytes
    error: str
    source_id: str


@dataclass(slots=True)
class Effects:
    """Everything a member produced while handling a batch, in order."""
    decisions: list[Decision] = field(default_factory=list)
    moves: list[PointMove] = field(default_factory=list)
    redemptions: list[RedemptionDecision] = field(default_factory=list)
    status_changes: list[StatusChanged] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    adjustments: list[Any] = field(default_factory=list)  # AdjustmentDecision (processors/office_model.py)
    # global index entries the store maintains outside the member's keys: (kind, value)
    index: set[tuple[str, str]] = field(default_factory=set)
