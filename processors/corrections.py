"""Corrections of charges (program-rules §1 "Corrections"): PMS corrections and POS voids, one mechanism.

A correction (a PMS posting with ``corrects_posting_id`` and amount <= 0, or a POS bill with
``voids_bill_id``) takes back from its original, in proportion, what the original still holds:

* one unit — JPY (issue 9 item 4): the original's JPY amount is the one it earned with. A
  correction in the original's currency converts at the ORIGINAL's recorded rate; one in JPY is
  taken as is; a foreign-currency correction of a JPY original converts at the rate of the
  original's business date (held AWAITING_FX_RATE while there is none).
* the corrected amount of a POS void is |its own eligible amount| (FOOD/BEVERAGE/OTHER lines less
  what was paid with points, TAX/SERVICE_CHARGE never); a void with no lines voids the whole bill
  (issue 9 item 3).
* points: floor toward zero of original × corrected / original amount, base and bonus separately
  (``earning.proportional_reversal``); once the corrected amount reaches what remains of the
  original, all that remains is taken back.
* nights (item 5): the correction's own ``nights`` when it states them, else the original's nights
  in the same proportion (floor); all that remain on a full correction; never more than remain. A
  zero-amount correction takes back no points and only the nights it states.
* the points come from the original's lot first; if that lot has expired (its validity ended on the
  engine's JST date), only what is still left in it is taken — points that already expired are not
  reversed again (item 7); the qualifying counters of the original's year are reduced in full.
* a correction of a correction is REJECTED ``CORRECTS_A_CORRECTION`` (item 8): the hotel must
  correct the original itself.
"""
from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from . import lots as lot_ops
from .earning import proportional_reversal
from .fx import JPY, add_exact, mul_exact
from .model import FolioPosting, Outcome, PosBill, Reason, original_source_id
from .records import HeldEvent, SourceRecord
from .validity import jst_date

if TYPE_CHECKING:
    from .member import Context, Member

CORRECTS_A_CORRECTION = "CORRECTS_A_CORRECTION"
_EARNING_LINE_KINDS = ("FOOD", "BEVERAGE", "OTHER")
_ZERO = Decimal(0)


def corrected_id(ev: FolioPosting | PosBill) -> str | None:
    """The source id of the original a charge is decided as a correction of: a void's bill; a PMS
    posting's original only when its amount is <= 0 (a zero amount corrects nights only). An upward
    correction (amount > 0) earns like a charge: None. (A NaN amount is REJECTED by the assessment.)"""
    if isinstance(ev, FolioPosting):
        amount = ev.amount
        if not (isinstance(amount, Decimal) and amount.is_finite() and amount <= 0):
            return None
    return original_source_id(ev)


def is_correction_record(rec: SourceRecord) -> bool:
    return bool(rec.detail and rec.detail.startswith("corrects "))


def own_amount(ev: FolioPosting | PosBill) -> tuple[Decimal | None, str]:
    """(|amount| the correction corrects in its own currency, None for a full void; its currency)."""
    if isinstance(ev, FolioPosting):
        return abs(ev.amount), ev.currency
    if not ev.lines:
        return None, ev.currency
    gross = add_exact(*(abs(line.amount) for line in ev.lines
                        if getattr(line.kind, "value", line.kind) in _EARNING_LINE_KINDS))
    return max(add_exact(gross, -abs(ev.paid_with_points_amount)), _ZERO), ev.currency


def remaining_jpy(orig: SourceRecord) -> Decimal:
    return orig.rem_amount if orig.rem_amount is not None else orig.amount or _ZERO


def apply(m: Member, h: HeldEvent, orig_sid: str, ctx: Context) -> bool:
    """Decide correction ``h`` of ``orig_sid`` for member ``m``; True when final, False when held."""
    ev, cfg = h.event, ctx.cfg
    orig = m.src.get(orig_sid)
    if orig is None:
        return m._hold(h, Reason.AWAITING_ORIGINAL)
    detail = f"corrects {orig_sid}"
    if is_correction_record(orig):
        return m._final(h, SourceRecord(h.fingerprint, Outcome.REJECTED.value, CORRECTS_A_CORRECTION, detail))
    if orig.rem_base + orig.rem_bonus + orig.rem_nights == 0 or orig.amount is None:
        reason = (Reason.ALREADY_REVERSED.value if orig.base + orig.bonus + orig.nights
                  else orig.reason or Reason.NO_ELIGIBLE_AMOUNT.value)
        return m._final(h, SourceRecord(h.fingerprint, Outcome.EXCLUDED.value, reason, detail))
    native, currency = own_amount(ev)
    corrected: Decimal | None = native
    if native is not None and currency != JPY:
        if orig.fx_rate is not None:  # the original's currency: at the original's own rate
            corrected = mul_exact(native, orig.fx_rate)
        else:  # a JPY original: at the rate of the original's business date
            bdate = orig.business_date or ev.business_date
            rate = ctx.fx.lookup(currency, bdate, cfg.fx_max_age_days)
            if rate is None:
                return m._hold(h, Reason.AWAITING_FX_RATE, currency)
            corrected = mul_exact(native, rate.jpy_per_unit)
    base_rev, bonus_rev, nights_rev = _reversal(orig, corrected, abs(getattr(ev, "nights", 0) or 0))
    rem = remaining_jpy(orig)
    orig.rem_base -= base_rev
    orig.rem_bonus -= bonus_rev
    orig.rem_nights -= nights_rev
    orig.rem_amount = _ZERO if corrected is None else max(rem - corrected, _ZERO)
    # (the original's own decision keeps reversed_points 0: a replay must re-emit it unchanged)
    m.new_src.add(orig_sid)
    if (base_rev or nights_rev) and orig.year is not None:
        q = m._q(orig.year)
        q.points -= base_rev
        q.nights -= nights_rev
    entries = []
    taken = 0
    if base_rev + bonus_rev and orig.lot is not None:
        taken = sum(p for _, p in lot_ops.take_for_reversal(m.lots, orig.lot, base_rev + bonus_rev,
                                                            jst_date(ctx.now)))
        if taken:
            m.changes.lots = True
            entries.append(m._entry("REVERSAL", -taken, orig.lot))
    return m._final(h, SourceRecord(
        h.fingerprint, Outcome.EARNED.value, None, detail, entries, reversed=taken, nights=-nights_rev))


def _reversal(orig: SourceRecord, corrected: Decimal | None, stated_nights: int) -> tuple[int, int, int]:
    """(base, bonus, nights) to take back for ``corrected`` JPY (None: all that remains)."""
    rem = remaining_jpy(orig)
    if corrected is None or (corrected > 0 and corrected >= rem):
        return orig.rem_base, orig.rem_bonus, orig.rem_nights
    if corrected == 0:
        return 0, 0, min(orig.rem_nights, stated_nights)
    base = proportional_reversal(orig.base, corrected, orig.amount or _ZERO, orig.rem_base, rem)
    bonus = proportional_reversal(orig.bonus, corrected, orig.amount or _ZERO, orig.rem_bonus, rem)
    if stated_nights:
        nights = min(orig.rem_nights, stated_nights)
    else:
        nights = proportional_reversal(orig.nights, corrected, orig.amount or _ZERO, orig.rem_nights, rem)
    return base, bonus, nights
