"""Year-end evaluation of one member, and its revisions by late postings (program-rules §2).

close-year Y evaluates calendar year Y from its qualifying counters: the status attained is valid
from 1 April Y+1 (program year Y+1) and the excess over its threshold is carried into Y+1.

**Year Y stays open until its status takes effect** (``cfg.status_final_month/day`` of Y+1,
default 1 April): hotels close 31 December in a night audit that runs on 1 January, held charges
are released later, corrections keep coming. While Y is open, every posting that changes Y's
counters after Y was closed evaluates Y again, at once:

* the counters are the truth until the status takes effect, so a revision works both ways — a late
  charge upgrades, a late *downward* correction downgrades (nobody has enjoyed the status yet:
  the previous one holds until 31 March);
* the carry-forward into Y+1 is recomputed (replaced, never added twice), and if Y+1 was already
  closed its evaluation follows (and so on);
* a year the year-end job has already run for (``closed_years``, kept by the job in Redis) counts
  as closed for every member: a member the run found inactive is evaluated by its first late
  posting (``<member>/status/<Y>``, the first evaluation's id);
* when the status attained changes, a StatusChange ``<member>/status/<Y>/r<n>`` is emitted, ``n``
  counting the revisions of Y (stored with the year, so a replay or a re-run repeats the same id);
  ``old_status`` is the status the previous evaluation of Y announced.

From the day the status takes effect, Y is **final**: a late posting for Y still earns its points
and shows in Y's counters, but no longer changes Y's status or its carry-forward, and a member
never loses a status that has taken effect. Running close-year Y again is idempotent: while Y is
open it re-evaluates (nothing changes unless the counters did), once final it does nothing.

``today`` is the JST date of the engine's clock (time is an input); ``None`` means "before the
status takes effect" (tests and tools without a clock).
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import TYPE_CHECKING

from .config import ProgramConfig
from .model import Evaluation, Qualifying, Status
from .outcomes import StatusChanged
from .status import evaluate, validity

if TYPE_CHECKING:
    from .member import Member

REGULAR = Status.REGULAR.value


def final_on(year: int, cfg: ProgramConfig) -> date:
    """The day year ``year``'s status takes effect and its evaluation becomes final."""
    return date(year + 1, cfg.status_final_month, cfg.status_final_day)


def is_open(year: int, cfg: ProgramConfig, today: date | None) -> bool:
    return today is None or today < final_on(year, cfg)


def close(m: Member, year: int, cfg: ProgramConfig, today: date | None,
          closed_years: frozenset[int] = frozenset()) -> StatusChanged | None:
    """close-year ``year`` for ``m``: the first evaluation, or a re-evaluation while the year is open."""
    if year in m.closed:
        return revise(m, year, cfg, today, closed_years) if is_open(year, cfg, today) else None
    q = m.qualifying.get(year, Qualifying())
    ev = evaluate(year, q, cfg)
    new, old = ev.status.value, m.statuses.get(year, REGULAR)
    m.closed[year] = new
    m.changes.closed_years.add(year)
    carry_changed = _apply(m, year, new, ev.carried_points, ev.carried_nights)
    change = None
    if new != old:
        change = _change(m, f"{m.member_id}/status/{year}", year, old, new, q, ev)
    if carry_changed:
        _follow(m, year + 1, cfg, today, closed_years)
    return change


def revise(m: Member, year: int, cfg: ProgramConfig, today: date | None,
           closed_years: frozenset[int] = frozenset()) -> StatusChanged | None:
    """Evaluate a closed, open year again; changes something only when its counters changed."""
    q = m.qualifying.get(year, Qualifying())
    ev = evaluate(year, q, cfg)
    new, prev = ev.status.value, m.closed[year]
    change = None
    if new != prev:
        rev = m.revisions.get(year, 0) + 1
        m.revisions[year] = rev
        m.closed[year] = new
        m.changes.closed_years.add(year)
        change = _change(m, f"{m.member_id}/status/{year}/r{rev}", year, prev, new, q, ev)
    if _apply(m, year, new, ev.carried_points, ev.carried_nights):
        _follow(m, year + 1, cfg, today, closed_years)
    return change


def after_late_postings(m: Member, years: Iterable[int], cfg: ProgramConfig, today: date | None,
                        closed_years: frozenset[int] = frozenset()) -> list[StatusChanged]:
    """The counters of ``years`` changed (a charge, correction or released hold): each year already
    closed — for this member, or by the year-end job (``closed_years``: the member may have been
    inactive then) — is evaluated again while it is open. Returns the StatusChanges emitted."""
    before = len(m.effects.status_changes)
    for year in sorted(years):
        _follow(m, year, cfg, today, closed_years)
    return m.effects.status_changes[before:]


def _apply(m: Member, year: int, status: str, carried_points: int, carried_nights: int) -> bool:
    """Record ``status`` for program year+1 and set the carry-forward into year+1 (replacing what an
    earlier evaluation carried). True when the carry-forward changed."""
    nxt = year + 1
    if status != REGULAR:
        if m.statuses.get(nxt) != status:
            m.statuses[nxt] = status
            m.changes.status_years.add(nxt)
            m.effects.index.add(("status", str(nxt)))
    elif nxt in m.statuses:  # downgraded by a revision before it took effect
        del m.statuses[nxt]
        m.changes.status_years.add(nxt)
    q = m.qualifying.get(nxt)
    current = (q.carried_points, q.carried_nights) if q is not None else (0, 0)
    if current == (carried_points, carried_nights):
        return False
    if q is None:
        q = m.qualifying[nxt] = Qualifying()
    q.carried_points, q.carried_nights = carried_points, carried_nights
    m.changes.qualifying_years.add(nxt)
    m.effects.index.add(("active", str(nxt)))
    return True


def _follow(m: Member, year: int, cfg: ProgramConfig, today: date | None, closed_years: frozenset[int]) -> None:
    """``year``'s counters changed: evaluate it again if it was closed and is still open."""
    if (year in m.closed or year in closed_years) and is_open(year, cfg, today):
        close(m, year, cfg, today, closed_years)


def _change(m: Member, event_id: str, year: int, old: str, new: str, q: Qualifying, ev: Evaluation) -> StatusChanged:
    valid_from, valid_until = validity(year)
    change = StatusChanged(event_id, year, old, new, valid_from, valid_until, q.total_points, q.total_nights,
                           ev.carried_points, ev.carried_nights, ev.qualified_by)
    m.effects.status_changes.append(change)
    return change
