"""Exchange rates to JPY (program-rules §1) and exact Decimal arithmetic for money.

Pure: the table is filled by the caller from the FX topic; nothing here reads a clock or does I/O.
All arithmetic on money is exact: products and sums of ``Decimal`` values are computed on their
integer coefficients, so the ambient ``decimal`` context precision never rounds an amount.
"""
from __future__ import annotations

from bisect import bisect_right, insort
from collections.abc import Iterator
from datetime import date
from decimal import (
    MAX_EMAX,
    MIN_EMIN,
    ROUND_FLOOR,
    Context,
    Decimal,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
)

from processors.model import FxRate

JPY = "JPY"


def valid_currency(code: object) -> bool:
    """An ISO 4217-shaped code: exactly three ASCII uppercase letters."""
    return isinstance(code, str) and len(code) == 3 and code.isascii() and code.isalpha() and code.isupper()


# ---------------------------------------------------------------- exact Decimal arithmetic

def _coefficient(d: Decimal) -> tuple[int, int]:
    """(signed integer coefficient, exponent) of a finite Decimal: d == n * 10**e exactly."""
    if not isinstance(d, Decimal) or not d.is_finite():
        raise ValueError(f"expected a finite Decimal, got {d!r}")
    sign, digits, exponent = d.as_tuple()
    n = int("".join(map(str, digits)) or "0")
    return (-n if sign else n), int(exponent)


def _make(n: int, exponent: int) -> Decimal:
    return Decimal(f"{n}E{exponent}")  # the constructor is exact, whatever the context precision


# A context wide enough for any amount the engine accepts; Inexact is trapped, so a result is
# either exact or an exception (then the integer-coefficient path below computes it exactly).
_EXACT = Context(prec=120, rounding=ROUND_FLOOR, Emax=MAX_EMAX, Emin=MIN_EMIN,
                 traps=[Inexact, InvalidOperation, Overflow, DivisionByZero])


def mul_exact(a: Decimal, b: Decimal) -> Decimal:
    """a * b without rounding."""
    try:
        return _EXACT.multiply(a, b)
    except (Inexact, TypeError):
        pass
    na, ea = _coefficient(a)
    nb, eb = _coefficient(b)
    return _make(na * nb, ea + eb)


def add_exact(*values: Decimal) -> Decimal:
    """Sum of Decimals without rounding (Decimal(0) for no values)."""
    if not values:
        return Decimal(0)
    try:
        total = _EXACT.plus(values[0])
        for v in values[1:]:
            total = _EXACT.add(total, v)
        if total.is_finite():
            return total
    except (Inexact, TypeError, InvalidOperation, AttributeError):
        pass
    parts = [_coefficient(v) for v in values]
    low = min(e for _, e in parts)
    return _make(sum(n * 10 ** (e - low) for n, e in parts), low)


def floor_int(d: Decimal) -> int:
    """The greatest integer <= d, exactly (toward -infinity)."""
    if isinstance(d, Decimal) and d.is_finite() and d.adjusted() < 100:
        return int(d.to_integral_value(rounding=ROUND_FLOOR))
    n, e = _coefficient(d)
    return int(n * 10 ** e) if e >= 0 else int(n // 10 ** (-e))  # int ** int is typed Any (int or float)


def floor_div(a: Decimal, b: Decimal) -> int:
    """floor(a / b), exactly (b != 0)."""
    na, ea = _coefficient(a)
    nb, eb = _coefficient(b)
    if nb == 0:
        raise ZeroDivisionError("floor_div by zero")
    shift = ea - eb  # a / b == na / nb * 10**shift
    return int((na * 10 ** shift) // nb) if shift >= 0 else int(na // (nb * 10 ** (-shift)))  # as in floor_int


# ---------------------------------------------------------------- rates

def rate_problem(rate: FxRate) -> str | None:
    """Why a rate record cannot be used, or None when it is fine."""
    if not valid_currency(rate.currency):
        return f"currency must be three uppercase letters, got {rate.currency!r}"
    if not isinstance(rate.rate_date, date):
        return f"rate_date must be a date, got {rate.rate_date!r}"
    if not isinstance(rate.jpy_per_unit, Decimal) or not rate.jpy_per_unit.is_finite() \
            or rate.jpy_per_unit <= 0:
        return f"jpy_per_unit must be a positive finite Decimal, got {rate.jpy_per_unit!r}"
    return None


class FxTable:
    """Rates per currency, kept sorted by date so a lookup is a bisection."""

    def __init__(self) -> None:
        self._dates: dict[str, list[date]] = {}
        self._rates: dict[str, dict[date, FxRate]] = {}

    def add(self, rate: FxRate) -> bool:
        """Store a rate; a later record for the same currency and date replaces the earlier one.

        Returns True when the table changed (False for an identical re-delivery).
        Raises ValueError for an unusable record (see ``rate_problem``).
        """
        problem = rate_problem(rate)
        if problem:
            raise ValueError(problem)
        by_date = self._rates.setdefault(rate.currency, {})
        current = by_date.get(rate.rate_date)
        if current == rate:
            return False
        if current is None:
            insort(self._dates.setdefault(rate.currency, []), rate.rate_date)
        by_date[rate.rate_date] = rate
        return True

    def lookup(self, currency: str, business_date: date, max_age_days: int) -> FxRate | None:
        """Newest rate dated on or before ``business_date`` and at most ``max_age_days`` older."""
        dates = self._dates.get(currency)
        if not dates:
            return None
        i = bisect_right(dates, business_date)
        if i == 0:
            return None
        rate_date = dates[i - 1]
        if (business_date - rate_date).days > max_age_days:
            return None
        return self._rates[currency][rate_date]

    def lookup_exact(self, currency: str, rate_date: date) -> FxRate | None:
        """The rate recorded for exactly this currency and date, if any."""
        return self._rates.get(currency, {}).get(rate_date)

    def currencies(self) -> tuple[str, ...]:
        return tuple(sorted(self._dates))

    def rates(self) -> Iterator[FxRate]:
        """Every stored rate (currency, then date order), e.g. for a snapshot."""
        for currency in self.currencies():
            for d in self._dates[currency]:
                yield self._rates[currency][d]

    def __len__(self) -> int:
        return sum(len(v) for v in self._dates.values())


def to_jpy(amount: Decimal, currency: str, rate: FxRate | None) -> Decimal:
    """The amount in JPY: unchanged for JPY, else amount * rate exactly (no rounding)."""
    if currency == JPY:
        return amount
    if rate is None:
        raise ValueError(f"no rate to convert {currency} to JPY")
    if rate.currency != currency:
        raise ValueError(f"rate is for {rate.currency}, amount is in {currency}")
    return mul_exact(amount, rate.jpy_per_unit)
