"""What the member aggregate remembers about each input it applied, and what it holds back.

A ``SourceRecord`` is kept per member and source id forever: it makes every input idempotent
(a redelivered event replays the record instead of applying again), detects a reused id with
other content (CONFLICT), remembers what an original earned so corrections can reverse it in
proportion, and carries everything needed to re-emit the same outputs.
"""
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
class SourceRecord:
    fingerprint: str
    outcome: str  # EARNED / EXCLUDED / REJECTED for charges, APPROVED / REJECTED for redemptions
    reason: str | None = None
    detail: str | None = None
    entries: list[Entry] = field(default_factory=list)
    # charge decision figures
    eligible_amount_jpy: Decimal | None = None
    fx_rate: Decimal | None = None
    base: int = 0
    bonus: int = 0
    reversed: int = 0
    nights: int = 0
    # an original charge: what is still reversible
    year: int | None = None  # qualifying year of the charge
    lot: date | None = None  # lot its points went to
    amount: Decimal | None = None  # original amount in the charge's currency
    rem_amount: Decimal | None = None
    rem_base: int = 0
    rem_bonus: int = 0
    rem_nights: int = 0
    # a redemption: lots used and whether it was cancelled (by which request)
    points: int = 0
    lots_used: list[tuple[date, int]] = field(default_factory=list)
    cancelled_by: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"f": self.fingerprint, "o": self.outcome}
        if self.reason:
            d["r"] = self.reason
        if self.detail:
            d["dt"] = self.detail
        if self.entries:
            d["e"] = [[e.type, e.points, e.lot.isoformat() if e.lot else None, e.balance_after]
                      for e in self.entries]
        for key, attr in (("ea", "eligible_amount_jpy"), ("fx", "fx_rate"), ("am", "amount"),
                          ("ra", "rem_amount")):
            v = getattr(self, attr)
            if v is not None:
                d[key] = str(v)
        for key, attr in (("b", "base"), ("bo", "bonus"), ("rv", "reversed"), ("n", "nights"),
                          ("rb", "rem_base"), ("rbo", "rem_bonus"), ("rn", "rem_nights"), ("p", "points")):
            v = getattr(self, attr)
            if v:
                d[key] = v
        if self.year is not None:
            d["y"] = self.year
        if self.lot is not None:
            d["l"] = self.lot.isoformat()
        if self.lots_used:
            d["lu"] = [[lot.isoformat(), pts] for lot, pts in self.lots_used]
        if self.cancelled_by:
            d["x"] = self.cancelled_by
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "SourceRecord":
        def dec(key: str) -> Decimal | None:
            return Decimal(d[key]) if key in d else None
        return cls(
            fingerprint=d["f"], outcome=d["o"], reason=d.get("r"), detail=d.get("dt"),
            entries=[Entry(t, p, date.fromisoformat(lot) if lot else None, bal) for t, p, lot, bal in d.get("e", ())],
            eligible_amount_jpy=dec("ea"), fx_rate=dec("fx"), base=d.get("b", 0), bonus=d.get("bo", 0),
            reversed=d.get("rv", 0), nights=d.get("n", 0), year=d.get("y"),
            lot=date.fromisoformat(d["l"]) if "l" in d else None, amount=dec("am"), rem_amount=dec("ra"),
            rem_base=d.get("rb", 0), rem_bonus=d.get("rbo", 0), rem_nights=d.get("rn", 0),
            points=d.get("p", 0), lots_used=[(date.fromisoformat(lot), p) for lot, p in d.get("lu", ())],
            cancelled_by=d.get("x"),
        )


@dataclass(slots=True)
class HeldEvent:
    """An input waiting for something (FX rate, enrollment, its original). Kept with its raw bytes."""
    source_id: str
    topic: str
    event: Any  # FolioPosting | PosBill
    raw: bytes
    fingerprint: str
    reason: str
    first_seen: datetime
    currency: str | None = None  # for AWAITING_FX_RATE: the currency waited on
