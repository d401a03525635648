"""Point validity (program-rules §3): one lot per earn-year, expiring at the end of 31 January Y+3 JST.

Pure: ``as_of`` dates and instants are parameters, never read from a clock.
"""
from __future__ import annotations

import calendar
from datetime import date, datetime, time

from processors.config import ProgramConfig
from processors.model import JST


def expiry_date(business_date: date, cfg: ProgramConfig) -> date:
    """Last valid day of points earned on ``business_date``.

    date(Y + cfg.expiry_years_after, cfg.expiry_month, cfg.expiry_day) with Y the business date's
    year (31 January Y+3 by default). A day beyond the end of the month is clamped to the month's
    last day (e.g. day 31 with month 2 -> 28/29 February).
    """
    year = business_date.year + cfg.expiry_years_after
    month = cfg.expiry_month
    if not 1 <= month <= 12:
        raise ValueError(f"expiry month must be 1..12, got {month}")
    day = min(cfg.expiry_day, calendar.monthrange(year, month)[1])
    return date(year, month, day)


def expires_at(expiry: date) -> datetime:
    """The instant a lot expires: 23:59:59 JST on its expiry date (timezone-aware)."""
    return datetime.combine(expiry, time(23, 59, 59), tzinfo=JST)


def is_expired(expiry: date, as_of: date) -> bool:
    """True when the lot can no longer be used on JST date ``as_of`` (from the day after expiry)."""
    return as_of > expiry


def jst_date(instant: datetime) -> date:
    """The JST calendar date of an aware instant (a naive datetime is refused: it has no zone)."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"naive datetime {instant!r}: an instant must carry its time zone")
    return instant.astimezone(JST).date()
