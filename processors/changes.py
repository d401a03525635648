"""What one unit of work changed in a member's own state, in the member's terms.

The aggregate (processors/member.py and the rules it calls) notes each part of its state it changes;
the store writes back just those parts (how they are laid out in Redis is the store's business:
streams/redis/member_fields.py). Source records and held inputs are tracked by id on the member itself
(``new_src``, ``held_put``, ``held_del``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass(slots=True)
class Changes:
    enrollment: bool = False  # enrolled_on / enrollment_state
    lots: bool = False  # the point lots and the debt
    qualifying_years: set[int] = field(default_factory=set)  # years whose qualifying counters changed
    status_years: set[int] = field(default_factory=set)  # program years whose status was set or removed
    closed_years: set[int] = field(default_factory=set)  # evaluated years: status attained, revisions
    expired_lots: set[date] = field(default_factory=set)  # lots whose count of expiry runs changed

    def __bool__(self) -> bool:
        return (self.enrollment or self.lots or bool(self.qualifying_years) or bool(self.status_years)
                or bool(self.closed_years) or bool(self.expired_lots))

    def clear(self) -> None:
        self.enrollment = self.lots = False
        self.qualifying_years.clear()
        self.status_years.clear()
        self.closed_years.clear()
        self.expired_lots.clear()
