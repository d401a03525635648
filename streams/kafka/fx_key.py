"""The key of an ``fx.rates.v1`` record, ``CURRENCY:RATE_DATE`` (interfaces.md), and its check.

The key serves compaction (one record per currency and day, so compaction keeps the history); the
value is the truth. A record still keyed the old way (the currency alone) is accepted; a key that
names another currency or day is refused (streams/runtime/fx_reader.py sends it to the dead-letter topic).
"""
from __future__ import annotations

from datetime import date

from processors.model import FxRate


def fx_key(currency: str, rate_date: date | str) -> str:
    """The binding key of an FX record: ``USD:2026-03-10``."""
    return f"{currency}:{rate_date.isoformat() if isinstance(rate_date, date) else rate_date}"


def key_problem(key: bytes | None, rate: FxRate) -> str | None:
    """Why ``key`` disagrees with the rate it carries, or None (the binding key, the currency alone
    as published before the key changed, or no key)."""
    if key is None:
        return None
    try:
        text = key.decode()
    except UnicodeDecodeError:
        return f"KeyMismatch: FX key {key!r} is not UTF-8 (expected {fx_key(rate.currency, rate.rate_date)!r})"
    expected = fx_key(rate.currency, rate.rate_date)
    if text in (expected, rate.currency):
        return None
    return (f"KeyMismatch: FX key {text!r} disagrees with its value ({rate.currency} rate of "
            f"{rate.rate_date.isoformat()}); expected {expected!r}")
