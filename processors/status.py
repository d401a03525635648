"""Status rules (program-rules §2): calendar-year qualification, April–March validity.

A status is stored per *program year*: the April–March year it is valid in, named after the year
it starts in (2027-04-01 .. 2028-03-31 is program year 2027). Evaluating calendar year Y sets the
status of program year Y+1.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from processors.config import ProgramConfig
from processors.model import Evaluation, Qualifying, Status

REGULAR = Status.REGULAR.value


def program_year(d: date) -> int:
    """The April–March year ``d`` falls in: 2027-04-01..2028-03-31 -> 2027."""
    return d.year if d.month >= 4 else d.year - 1


def status_on(statuses: Mapping[int, str], d: date) -> str:
    """Status on JST date ``d`` given statuses by program year; REGULAR when none is recorded."""
    value = statuses.get(program_year(d), REGULAR)
    return str(getattr(value, "value", value))


def validity(year_evaluated: int) -> tuple[date, date]:
    """Validity of the status earned in calendar year Y: 1 April Y+1 – 31 March Y+2."""
    return date(year_evaluated + 1, 4, 1), date(year_evaluated + 2, 3, 31)


def evaluate(year: int, q: Qualifying, cfg: ProgramConfig) -> Evaluation:
    """Year-end evaluation of calendar year ``year`` from its qualifying counters.

    The highest status whose points *or* nights threshold is met is attained (``cfg.thresholds``
    lists the highest first). For each measure that met the attained status' threshold, the
    excess over that threshold is carried forward into year+1; a measure that did not meet it
    carries nothing. ``qualified_by`` is POINTS, NIGHTS, BOTH, or NONE (REGULAR, nothing carried).
    """
    valid_from, valid_until = validity(year)
    points, nights = q.total_points, q.total_nights
    for t in cfg.thresholds:
        by_points, by_nights = points >= t.points, nights >= t.nights
        if by_points or by_nights:
            return Evaluation(
                year=year,
                status=Status(t.status),
                qualified_by="BOTH" if by_points and by_nights else "POINTS" if by_points else "NIGHTS",
                carried_points=points - t.points if by_points else 0,
                carried_nights=nights - t.nights if by_nights else 0,
                valid_from=valid_from,
                valid_until=valid_until,
            )
    return Evaluation(year, Status.REGULAR, "NONE", 0, 0, valid_from, valid_until)
