"""Redemption pricing (program-rules §4): the cost of a request, before looking at the balance.

Balance checks and lot consumption are done by the member aggregate with ``processors.lots``.
"""
from __future__ import annotations

from decimal import Decimal

from processors.config import ProgramConfig
from processors.model import RedemptionQuote, RedemptionRequest

UNKNOWN_AWARD = "UNKNOWN_AWARD"
INVALID_QUANTITY = "INVALID_QUANTITY"
INVALID_AMOUNT = "INVALID_AMOUNT"
CHANNEL_NOT_ELIGIBLE = "CHANNEL_NOT_ELIGIBLE"
INSUFFICIENT_POINTS = "INSUFFICIENT_POINTS"  # for the aggregate's balance check

MIN_QUANTITY = 1
MAX_QUANTITY = 99
MAX_AMOUNT_JPY = Decimal(10) ** 12


def _rejected(reason: str) -> RedemptionQuote:
    return RedemptionQuote(points=0, reason=reason)


def quote(req: RedemptionRequest, cfg: ProgramConfig) -> RedemptionQuote:
    """Points a (non-cancel) redemption request costs, or the reason it cannot be served.

    Checks in order: UNKNOWN_AWARD; then INVALID_AMOUNT for amount awards (``per_jpy`` set, i.e.
    PAY_BY_POINTS: amount_jpy must be a positive whole multiple of per_jpy, at most ¥10**12;
    quantity is ignored) or INVALID_QUANTITY for unit awards (quantity 1..99);
    then CHANNEL_NOT_ELIGIBLE (award restricted to channels and the stay's booking channel is
    missing or not one of them).
    ``cancels_request_id`` is not looked at: cancellations are handled by the caller (they restore
    what the original used) and must not be priced here.
    """
    award = cfg.awards.get(req.award) if isinstance(req.award, str) else None
    if award is None:
        return _rejected(UNKNOWN_AWARD)
    if award.per_jpy is not None:
        units = _amount_units(req.amount_jpy, award.per_jpy)
        if units is None:
            return _rejected(INVALID_AMOUNT)
    else:
        q = req.quantity
        if isinstance(q, bool) or not isinstance(q, int) or not MIN_QUANTITY <= q <= MAX_QUANTITY:
            return _rejected(INVALID_QUANTITY)
        units = q
    if award.channels is not None:
        channel = getattr(req.booking_channel, "value", req.booking_channel)
        if channel not in award.channels:
            return _rejected(CHANNEL_NOT_ELIGIBLE)
    return RedemptionQuote(points=award.points * units, reason=None)


def _amount_units(amount: Decimal | None, per_jpy: int) -> int | None:
    """amount / per_jpy when amount is a positive whole multiple of per_jpy, else None."""
    if not isinstance(amount, Decimal) or not amount.is_finite():
        return None
    if amount <= 0 or amount > MAX_AMOUNT_JPY or amount != amount.to_integral_value():
        return None
    yen = int(amount)
    if yen % per_jpy:
        return None
    return yen // per_jpy
