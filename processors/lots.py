"""Point lots (program-rules §3, §4): the balance kept per expiry date, plus debt.

Every operation mutates ``Lots`` in place and returns what it did, so the caller can write one
ledger entry per lot touched. A lot whose points reach 0 is removed. Points are non-negative
ints; a negative argument raises ValueError. Debt is the negative part of the balance
(balance = Σ lots − debt).
"""
from __future__ import annotations

from datetime import date

from processors.model import Lots
from processors.validity import is_expired


def _check(points: int) -> None:
    if isinstance(points, bool) or not isinstance(points, int) or points < 0:
        raise ValueError(f"points must be a non-negative int, got {points!r}")


def _take(lots: Lots, expiry: date, points: int) -> int:
    """Take up to ``points`` from one lot; returns what was taken."""
    have = lots.by_expiry.get(expiry, 0)
    taken = min(have, points)
    if taken <= 0:
        return 0
    if have - taken > 0:
        lots.by_expiry[expiry] = have - taken
    else:
        del lots.by_expiry[expiry]
    return taken


def _add(lots: Lots, expiry: date, points: int) -> None:
    if points > 0:
        lots.by_expiry[expiry] = lots.by_expiry.get(expiry, 0) + points


def credit(lots: Lots, expiry: date, points: int) -> int:
    """THE credit path (earn, bonus, refund, positive adjustment): ``points`` repay debt first, the
    rest goes to the lot ``expiry``; returns the debt repaid. Lots and debt are never both
    positive afterwards (program-rules §5)."""
    _check(points)
    paid = min(lots.debt, points)
    lots.debt -= paid
    _add(lots, expiry, points - paid)
    return paid


def take_for_reversal(lots: Lots, preferred: date, points: int,
                      as_of: date | None = None) -> list[tuple[date | None, int]]:
    """Take back ``points`` (a correction): from ``preferred`` first, then the earliest-expiring
    lots, and what no lot holds becomes debt, reported as ``(None, points)``.

    When ``preferred`` has expired on ``as_of`` (its validity ended), only what is still left in it
    is taken and nothing else: the rest of those points already expired (or will, when the expiry
    job removes the lot) and is not taken a second time (issue 9 item 7).
    """
    _check(points)
    out: list[tuple[date | None, int]] = []
    if as_of is not None and is_expired(preferred, as_of):
        taken = _take(lots, preferred, points)
        return [(preferred, taken)] if taken else []
    left = points
    for expiry in [preferred] + sorted(d for d in lots.by_expiry if d != preferred):
        if left == 0:
            break
        taken = _take(lots, expiry, left)
        if taken:
            out.append((expiry, taken))
            left -= taken
    if left:
        lots.debt += left
        out.append((None, left))
    return out


def spendable(lots: Lots, as_of: date) -> int:
    """Points that can be spent on ``as_of``: non-expired lots minus debt (may be negative)."""
    return sum(p for d, p in lots.by_expiry.items() if not is_expired(d, as_of)) - lots.debt


def spend(lots: Lots, points: int, as_of: date) -> list[tuple[date, int]] | None:
    """Spend ``points`` from the earliest-expiring non-expired lots; None (nothing changed) when
    the spendable balance is short. Returns [(lot expiry, points taken)] in the order taken."""
    _check(points)
    if points > spendable(lots, as_of):
        return None
    out: list[tuple[date, int]] = []
    left = points
    for expiry in sorted(d for d in lots.by_expiry if not is_expired(d, as_of)):
        if left == 0:
            break
        taken = _take(lots, expiry, left)
        if taken:
            out.append((expiry, taken))
            left -= taken
    return out


def restore(lots: Lots, used: list[tuple[date, int]],
            as_of: date) -> tuple[list[tuple[date, int]], list[tuple[date, int]]]:
    """Give spent points back to the lots they came from (a cancelled redemption).

    Returns (restored, forfeited): points of a lot already expired on ``as_of`` are forfeited
    (not added; the caller records them as REFUND + EXPIRE). Restored points are credits: they go
    through ``credit`` lot by lot in the order the redemption used them, so they repay debt first.
    """
    restored: list[tuple[date, int]] = []
    forfeited: list[tuple[date, int]] = []
    for expiry, points in used:
        _check(points)
        if points == 0:
            continue
        if is_expired(expiry, as_of):
            forfeited.append((expiry, points))
        else:
            credit(lots, expiry, points)
            restored.append((expiry, points))
    return restored, forfeited


def expire(lots: Lots, as_of: date) -> list[tuple[date, int]]:
    """Remove every lot expired on ``as_of``; returns [(expiry, points removed)] by expiry."""
    removed: list[tuple[date, int]] = []
    for expiry in sorted(d for d in lots.by_expiry if is_expired(d, as_of)):
        points = lots.by_expiry.pop(expiry)
        if points > 0:
            removed.append((expiry, points))
    return removed
