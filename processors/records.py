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

from .outcomes import Entry, StatusChanged
from .status import validity


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
    amount: Decimal | None = None  # original amount in JPY (the unit of every proportion)
    rem_amount: Decimal | None = None
    rem_base: int = 0
    rem_bonus: int = 0
    rem_nights: int = 0
    # a JPY original at a foreign-currency hotel: its business date (a correction in the hotel's
    # currency converts at that date's rate)
    business_date: date | None = None
    # a redemption: lots used and whether it was cancelled (by which request)
    points: int = 0
    lots_used: list[tuple[date, int]] = field(default_factory=list)
    cancelled_by: str | None = None
    balance: int | None = None  # a rejected redemption: the balance it reported (replayed as is)
    # a late posting that revised a closed year: the StatusChanges it caused (replayed as is)
    status_changes: list[Any] = field(default_factory=list)

    # Stored compactly (Redis memory per member is a budget): fields equal to what they can be
    # derived from are left out — base/bonus from the EARN/BONUS entries, the lot from the entries,
    # the original amount from the eligible amount, the remaining figures from the originals.
    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"f": self.fingerprint, "o": self.outcome}
        if self.reason:
            d["r"] = self.reason
        if self.detail:
            d["dt"] = self.detail
        if self.entries:
            d["e"] = [[e.type, e.points, e.lot.isoformat() if e.lot else None, e.balance_after]
                      for e in self.entries]
        if self.eligible_amount_jpy is not None:
            d["ea"] = str(self.eligible_amount_jpy)
        if self.fx_rate is not None:
            d["fx"] = str(self.fx_rate)
        if self.amount != self.eligible_amount_jpy:
            d["am"] = str(self.amount) if self.amount is not None else None
        base, bonus = self._entry_points()
        if (self.base, self.bonus) != (base, bonus):
            d["b"] = [self.base, self.bonus]
        for key, attr in (("rv", "reversed"), ("n", "nights"), ("p", "points")):
            v = getattr(self, attr)
            if v:
                d[key] = v
        remaining = [str(self.rem_amount) if self.rem_amount is not None else None,
                     self.rem_base, self.rem_bonus, self.rem_nights]
        amount = self.amount if self.amount is not None else None
        if remaining != [str(amount) if amount is not None else None, self.base, self.bonus, self.nights]:
            d["rm"] = remaining
        if self.year is not None:
            d["y"] = self.year
        if self.business_date is not None:
            d["bd"] = self.business_date.isoformat()
        if self.lot != self._entry_lot():
            d["l"] = self.lot.isoformat() if self.lot else None
        if self.lots_used:
            d["lu"] = [[lot.isoformat(), pts] for lot, pts in self.lots_used]
        if self.cancelled_by:
            d["x"] = self.cancelled_by
        if self.balance is not None:
            d["bal"] = self.balance
        if self.status_changes:
            d["sc"] = [[c.event_id, c.year_evaluated, c.old_status, c.new_status, c.qualifying_points,
                        c.qualifying_nights, c.carried_points, c.carried_nights, c.qualified_by]
                       for c in self.status_changes]
        return d

    def _entry_points(self) -> tuple[int, int]:
        base = sum(e.points for e in self.entries if e.type == "EARN")
        bonus = sum(e.points for e in self.entries if e.type == "BONUS")
        return base, bonus

    def _entry_lot(self) -> date | None:
        for e in self.entries:
            if e.type in ("EARN", "BONUS"):
                return e.lot
        return None

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SourceRecord:
        def dec(key: str) -> Decimal | None:
            return Decimal(d[key]) if d.get(key) is not None else None
        rec = cls(
            fingerprint=d["f"], outcome=d["o"], reason=d.get("r"), detail=d.get("dt"),
            entries=[Entry(t, p, date.fromisoformat(lot) if lot else None, bal) for t, p, lot, bal in d.get("e", ())],
            eligible_amount_jpy=dec("ea"), fx_rate=dec("fx"),
            reversed=d.get("rv", 0), nights=d.get("n", 0), year=d.get("y"),
            points=d.get("p", 0), lots_used=[(date.fromisoformat(lot), p) for lot, p in d.get("lu", ())],
            cancelled_by=d.get("x"), balance=d.get("bal"),
            business_date=date.fromisoformat(d["bd"]) if "bd" in d else None,
        )
        if "sc" in d:
            rec.status_changes = [StatusChanged(eid, y, old, new, *validity(y), qp, qn, cp, cn, by)
                                  for eid, y, old, new, qp, qn, cp, cn, by in d["sc"]]
        rec.base, rec.bonus = d["b"] if "b" in d else rec._entry_points()
        rec.lot = (date.fromisoformat(d["l"]) if d["l"] else None) if "l" in d else rec._entry_lot()
        rec.amount = dec("am") if "am" in d else rec.eligible_amount_jpy
        if "rm" in d:
            ra, rec.rem_base, rec.rem_bonus, rec.rem_nights = d["rm"]
            rec.rem_amount = Decimal(ra) if ra is not None else None
        else:
            rec.rem_amount, rec.rem_base, rec.rem_bonus, rec.rem_nights = rec.amount, rec.base, rec.bonus, rec.nights
        return rec


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
    # a claimed charge (processors/claims.py): the claim that took it; its decisions carry the claim's ids
    claim_id: str | None = None
