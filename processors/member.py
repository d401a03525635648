"""The member aggregate: one member's state and every rule that changes it.

The engine loads a member (a snapshot from the store), calls ``handle_*`` for each input of a batch
in order, and writes back what changed in one atomic compare-and-set keyed by ``version``. The
aggregate records what changed (``changes``, in its own terms: processors/changes.py; ``new_src``,
``held_put``/``held_del`` by source id) and what to publish (``effects``). Idempotency: an input
whose source id is already recorded is *replayed* (same outputs, no state change); the same id with
other content is a CONFLICT dead letter.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from . import corrections, redeeming, year_end
from . import lots as lot_ops
from .changes import Changes
from .claims import claim_decision
from .config import ProgramConfig
from .earning import assess_bill, assess_posting, bonus_points
from .fx import JPY, FxTable, mul_exact
from .model import (
    ChargeAssessment,
    FolioPosting,
    Lots,
    MemberEnrollment,
    Outcome,
    PosBill,
    Qualifying,
    Reason,
    RedemptionRequest,
)
from .outcomes import DeadLetter, Decision, Effects, Entry, PointMove, RedemptionDecision, StatusChanged
from .records import HeldEvent, SourceRecord
from .status import status_on
from .validity import expires_at, expiry_date, jst_date

if TYPE_CHECKING:
    from .office_model import ChargeClaim, KeptCharge, PointAdjustment

CHANNEL_LIKE = (Reason.CHANNEL_NOT_EARNING, Reason.RATE_PLAN_NOT_EARNING)


@dataclass(slots=True)
class Context:
    cfg: ProgramConfig
    fx: FxTable
    now: datetime  # aware; the engine's clock (for hold grace periods)
    # the years close-year has run (or is running) for: a late posting for such a year evaluates it
    # for its member even if the year-end run found the member inactive (processors/year_end.py)
    closed_years: frozenset[int] = frozenset()


@dataclass
class Member:
    member_id: str
    version: int = 0
    enrolled_on: date | None = None
    enrollment_state: str | None = None
    lots: Lots = field(default_factory=Lots)
    qualifying: dict[int, Qualifying] = field(default_factory=dict)
    statuses: dict[int, str] = field(default_factory=dict)  # program year -> status
    closed: dict[int, str] = field(default_factory=dict)  # evaluated year -> status attained
    revisions: dict[int, int] = field(default_factory=dict)  # evaluated year -> revisions announced
    expired_count: dict[date, int] = field(default_factory=dict)  # lot -> expiry runs that took from it
    src: dict[str, SourceRecord] = field(default_factory=dict)  # the loaded / new source records
    held: dict[str, HeldEvent] = field(default_factory=dict)
    # unit of work
    changes: Changes = field(default_factory=Changes)  # which parts of the state changed
    new_src: set[str] = field(default_factory=set)
    held_put: set[str] = field(default_factory=set)
    held_del: set[str] = field(default_factory=set)
    # released holds: kept (reason RELEASED) until their outputs are surely published
    released: dict[str, HeldEvent] = field(default_factory=dict)
    released_loaded: set[str] = field(default_factory=set)  # markers found in Redis: publish again
    effects: Effects = field(default_factory=Effects)
    touched: set[int] = field(default_factory=set)  # years whose counters the current input changed
    # the version its compare-and-set wrote (set by the engine)
    saved_version: int | None = None

    # ------------------------------------------------------------------ state helpers
    @property
    def changed(self) -> bool:
        return bool(self.changes or self.new_src or self.held_put or self.held_del)

    @property
    def balance(self) -> int:
        return self.lots.balance

    def status_on(self, d: date) -> str:
        return status_on(self.statuses, d)

    def _q(self, year: int) -> Qualifying:
        self.changes.qualifying_years.add(year)
        self.effects.index.add(("active", str(year)))
        self.touched.add(year)
        return self.qualifying.setdefault(year, Qualifying())

    def _record(self, sid: str, rec: SourceRecord) -> None:
        self.src[sid] = rec
        self.new_src.add(sid)

    def _move(self, sid: str, entry: Entry, at: datetime, event: Any = None) -> None:
        self.changes.lots = True
        hotel = getattr(event, "hotel_code", None)
        bdate = getattr(event, "business_date", None)
        self.effects.moves.append(PointMove(f"{self.member_id}/{sid}/{entry.type}", sid, entry, at, hotel, bdate))

    def _entry(self, type_: str, points: int, lot: date | None, balance_after: int | None = None) -> Entry:
        return Entry(type_, points, lot, self.balance if balance_after is None else balance_after)

    # ------------------------------------------------------------------ enrollment
    def handle_enrollment(self, e: MemberEnrollment, ctx: Context) -> None:
        if (self.enrolled_on, self.enrollment_state) != (e.enrolled_on, e.state):
            self.enrolled_on, self.enrollment_state = e.enrolled_on, e.state
            self.changes.enrollment = True
        self.retry_held(ctx)

    # ------------------------------------------------------------------ charges
    def handle_charge(self, ev: FolioPosting | PosBill, topic: str, raw: bytes, fp: str, ctx: Context) -> None:
        sid = ev.source_id
        rec = self.src.get(sid)
        if rec is not None:
            if rec.fingerprint != fp:
                self._conflict(topic, raw, sid)
            else:
                self._replay_charge(sid, topic, ev, rec)
            return
        held = self.held.get(sid)
        if held is not None:
            if held.fingerprint != fp:
                self._conflict(topic, raw, sid)
            else:
                self.effects.decisions.append(Decision(sid, topic, ev, Outcome.HELD.value, held.reason))
            return
        self.touched.clear()
        final = self._decide_charge(HeldEvent(sid, topic, ev, raw, fp, "", ctx.now), ctx)
        if final:
            self._late_posting(sid, ctx)
        if final and self.held:
            # only the corrections waiting for this very input can move now
            self.retry_held(ctx, lambda h: h.reason == Reason.AWAITING_ORIGINAL.value
                            and corrections.corrected_id(h.event) == sid)

    def retry_held(self, ctx: Context, which: Callable[[HeldEvent], bool] | None = None) -> None:
        """Decide again the held inputs (``which`` of them), earliest first; passes repeat while
        releases happen, since one release (an original) may unblock another input (its correction)."""
        progress = True
        while progress and self.held:
            progress = False
            waited_for = {corrections.corrected_id(h.event) for h in self.held.values()}
            for sid, h in sorted(self.held.items(), key=lambda kv: (kv[1].first_seen, kv[0])):
                if which is not None and not which(h):
                    continue
                self.touched.clear()
                if self._decide_charge(h, ctx):
                    self._late_posting(sid, ctx)
                    self._released(sid, h)
                    progress = True
                    if which is not None:  # a released input may unblock others of any kind
                        which = _after_release(which, h.source_id)
                    if sid in waited_for:
                        break  # start again from the earliest: this release unblocks a correction

    def _late_posting(self, sid: str, ctx: Context) -> None:
        """An input was decided: a closed year whose counters it changed is evaluated again while
        it is open (processors/year_end.py). The StatusChanges go into the input's record, so a
        replay of the input emits them again with the same ids."""
        if not self.touched:
            return
        years, self.touched = sorted(self.touched), set()
        changes = year_end.after_late_postings(self, years, ctx.cfg, jst_date(ctx.now), ctx.closed_years)
        rec = self.src.get(sid)
        if changes and rec is not None:
            rec.status_changes = list(changes)
            self.new_src.add(sid)

    def _released(self, sid: str, h: HeldEvent) -> None:
        """A held input was decided. Its entry stays, marked RELEASED, until the engine has published
        the outputs (a crash in between publishes them again from the source record); inputs
        decided without a record (UNKNOWN_MEMBER) simply leave."""
        del self.held[sid]
        if sid in self.src:
            self.released[sid] = dataclasses.replace(h, reason="RELEASED")
            self.held_put.add(sid)
            self.held_del.discard(sid)
            self.effects.index.add(("released", ""))
        else:
            self.held_put.discard(sid)
            self.held_del.add(sid)

    def held_entry(self, sid: str) -> HeldEvent:
        return self.held.get(sid) or self.released[sid]

    def replay_released(self) -> None:
        """Publish again the outputs of inputs released before a crash (markers found in Redis)."""
        for sid in sorted(self.released_loaded):
            h, rec = self.released[sid], self.src.get(sid)
            if rec is not None:
                self._replay_charge(sid, h.topic, h.event, rec, h.claim_id)

    def _conflict(self, topic: str, raw: bytes, sid: str) -> None:
        self.effects.dead_letters.append(
            DeadLetter(topic, raw, f"CONFLICT: {sid} was already received with other content", sid))

    def _replay_charge(self, sid: str, topic: str, ev: Any, rec: SourceRecord, claim_id: str | None = None) -> None:
        if claim_id is not None:  # a claimed charge: its decision is the claim's (processors/claims.py)
            self.effects.decisions.append(claim_decision(claim_id, sid, topic, ev, rec.outcome, rec.reason, rec))
        else:
            self.effects.decisions.append(Decision(
                sid, topic, ev, rec.outcome, rec.reason, rec.detail, rec.eligible_amount_jpy, rec.fx_rate,
                rec.base, rec.bonus, rec.reversed, rec.nights))
        for e in rec.entries:
            self.effects.moves.append(PointMove(f"{self.member_id}/{sid}/{e.type}", sid, e, _event_time(ev),
                                                ev.hotel_code, ev.business_date))
        self.effects.status_changes.extend(rec.status_changes)

    def _hold(self, h: HeldEvent, reason: Reason, currency: str | None = None) -> bool:
        if h.source_id in self.held and h.reason == reason.value and h.currency == currency:
            return False  # still waiting for the same thing: nothing new to say
        h = dataclasses.replace(h, reason=reason.value, currency=currency)
        self.held[h.source_id] = h
        self.held_put.add(h.source_id)
        self.held_del.discard(h.source_id)
        self.effects.index.add(("held", h.first_seen.isoformat()))  # idx:held, read by the held-input metrics
        if reason is Reason.AWAITING_FX_RATE:
            self.effects.index.add(("fxwait", currency or ""))
        elif reason is Reason.AWAITING_ENROLLMENT:
            self.effects.index.add(("unknown", h.first_seen.isoformat()))
        if h.claim_id is not None:
            self.effects.decisions.append(claim_decision(h.claim_id, h.source_id, h.topic, h.event,
                                                         Outcome.HELD.value, reason.value, None))
        else:
            self.effects.decisions.append(Decision(h.source_id, h.topic, h.event, Outcome.HELD.value, reason.value))
        return False

    def _final(self, h: HeldEvent, rec: SourceRecord) -> bool:
        self._record(h.source_id, rec)
        self._replay_charge(h.source_id, h.topic, h.event, rec, h.claim_id)
        return True

    def _decide_charge(self, h: HeldEvent, ctx: Context) -> bool:
        """Decide a charge; True when final (recorded), False when (still) held."""
        if h.claim_id is not None and h.event.member_id != self.member_id:
            # a claimed charge read back from the store: its bytes are the kept memberless charge's
            h = dataclasses.replace(h, event=dataclasses.replace(h.event, member_id=self.member_id))
        ev, cfg = h.event, ctx.cfg
        correction = corrections.corrected_id(ev)
        a = _assess(ev, cfg, ctx.fx, correction is not None)
        depends_on_member = (a.outcome in (Outcome.EARNED, Outcome.HELD) or a.nights > 0
                             or (correction is not None and a.reason in CHANNEL_LIKE))
        if a.outcome is Outcome.REJECTED or not depends_on_member:
            return self._final(h, SourceRecord(h.fingerprint, a.outcome.value, _v(a.reason)))
        if self.enrolled_on is None:
            if ctx.now - h.first_seen >= timedelta(hours=cfg.unknown_member_grace_hours):
                self.effects.decisions.append(Decision(h.source_id, h.topic, ev, Outcome.REJECTED.value,
                                                       Reason.UNKNOWN_MEMBER.value))
                self.effects.dead_letters.append(DeadLetter(
                    h.topic, h.raw, f"UNKNOWN_MEMBER: not enrolled {cfg.unknown_member_grace_hours} h after "
                    f"first receipt ({h.first_seen.isoformat()})", h.source_id))
                return True  # not recorded: republishing it after the enrollment earns normally
            return self._hold(h, Reason.AWAITING_ENROLLMENT)
        if self.enrollment_state == "CLOSED":
            return self._final(h, SourceRecord(h.fingerprint, Outcome.EXCLUDED.value, Reason.MEMBER_CLOSED.value))
        if ev.business_date < self.enrolled_on:
            return self._final(h, SourceRecord(h.fingerprint, Outcome.EXCLUDED.value,
                                               Reason.BEFORE_ENROLLMENT.value))
        if correction is not None:
            return corrections.apply(self, h, correction, ctx)
        if a.outcome is Outcome.HELD:
            return self._hold(h, Reason.AWAITING_FX_RATE, ev.currency)
        return self._earn(h, a, ctx)

    def _earn(self, h: HeldEvent, a: ChargeAssessment, ctx: Context) -> bool:
        ev, cfg = h.event, ctx.cfg
        bd = ev.business_date
        base = a.base_points
        bonus = bonus_points(base, self.status_on(bd), cfg) if base > 0 else 0
        lot = expiry_date(bd, cfg)
        entries = []
        for type_, pts in (("EARN", base), ("BONUS", bonus)):
            if pts > 0:
                lot_ops.credit(self.lots, lot, pts)
                entries.append(self._entry(type_, pts, lot))
        if base + bonus > 0:
            self.changes.lots = True
            self.effects.index.add(("lots", lot.isoformat()))
        if base > 0 or a.nights > 0:
            q = self._q(bd.year)
            q.points += base
            q.nights += a.nights
        # the JPY amount it earned with: the unit of every later correction's proportion
        amount = a.eligible_amount_jpy
        if isinstance(ev, FolioPosting):
            amount = mul_exact(ev.amount, a.fx_rate) if a.fx_rate is not None else ev.amount
        hotel = cfg.hotels.get(ev.hotel_code)
        local_bd = bd if ev.currency == JPY and hotel is not None and hotel.currency != JPY else None
        return self._final(h, SourceRecord(
            h.fingerprint, a.outcome.value, _v(a.reason), None, entries, a.eligible_amount_jpy, a.fx_rate,
            base, bonus, 0, a.nights, year=bd.year, lot=lot, amount=amount, rem_amount=amount,
            rem_base=base, rem_bonus=bonus, rem_nights=a.nights, business_date=local_bd))

    # ------------------------------------------------------------------ redemptions
    def handle_redemption(self, req: RedemptionRequest, raw: bytes, fp: str, ctx: Context,
                          topic: str = "redemptions.requests.v1") -> None:
        sid = req.source_id
        rec = self.src.get(sid)
        if rec is not None:
            if rec.fingerprint != fp:
                self._conflict(topic, raw, sid)
                return
        else:
            rec = redeeming.decide(self, req, fp, ctx)
            if not rec.entries:
                rec.balance = self.balance  # so a replay reports the same balance_after
            self._record(sid, rec)
        self.effects.redemptions.append(RedemptionDecision(
            req, rec.outcome, rec.reason, rec.points, rec.lots_used,
            rec.entries[-1].balance_after if rec.entries else
            rec.balance if rec.balance is not None else self.balance))
        for e in rec.entries:
            self.effects.moves.append(PointMove(f"{self.member_id}/{sid}/{e.type}", sid, e, req.requested_at,
                                                req.hotel_code))

    # ------------------------------------------------------------------ office: adjustments, claims
    def handle_adjustment(self, adj: PointAdjustment, raw: bytes, fp: str, ctx: Context, topic: str) -> None:
        from .adjustments import handle_adjustment
        handle_adjustment(self, adj, fp, raw, topic, ctx)

    def handle_claim(self, claim: ChargeClaim, raw: bytes, fp: str, ctx: Context, topic: str,
                     kept: KeptCharge | None = None,
                     claimed_by_other: bool = False) -> None:
        from .claims import handle_claim
        handle_claim(self, claim, fp, raw, topic, kept, claimed_by_other, ctx)

    # ------------------------------------------------------------------ year end, expiry
    def close_year(self, year: int, cfg: ProgramConfig, today: date | None = None,
                   closed_years: frozenset[int] = frozenset()) -> StatusChanged | None:
        """Evaluate ``year`` (program-rules §2) as of JST date ``today`` (None: before its status
        takes effect). A closed year is evaluated again while it is open, and changes nothing unless
        its counters changed; once final, nothing (processors/year_end.py). ``closed_years``: the
        years the year-end job has run for (a later closed year follows a changed carry-forward)."""
        return year_end.close(self, year, cfg, today, closed_years)

    def expire(self, as_of: date) -> int:
        """Remove what is left of lots expired as of ``as_of``; returns the points expired."""
        total = 0
        removed = lot_ops.expire(self.lots, as_of)
        running = self.balance + sum(pts for _, pts in removed)  # the balance before the first lot went
        for lot, pts in removed:
            n = self.expired_count.get(lot, 0) + 1
            self.expired_count[lot] = n
            self.changes.expired_lots.add(lot)
            sid = f"X:{lot.isoformat()}:{n}"
            running -= pts
            self._move(sid, self._entry("EXPIRE", -pts, lot, running), expires_at(lot))
            total += pts
        return total


def _after_release(which: Callable[[HeldEvent], bool], released: str) -> Callable[[HeldEvent], bool]:
    return lambda h: which(h) or (h.reason == Reason.AWAITING_ORIGINAL.value
                                  and corrections.corrected_id(h.event) == released)


def _v(reason: Any) -> str | None:
    return reason.value if reason is not None else None


def _assess(ev: FolioPosting | PosBill, cfg: ProgramConfig, fx: FxTable, is_correction: bool) -> ChargeAssessment:
    if isinstance(ev, FolioPosting):
        if ev.corrects_posting_id and not is_correction:
            ev = dataclasses.replace(ev, corrects_posting_id=None)  # an upward correction earns like a charge
        return assess_posting(ev, cfg, fx)
    return assess_bill(ev, cfg, fx)


def _event_time(ev: FolioPosting | PosBill) -> datetime:
    return ev.posted_at if isinstance(ev, FolioPosting) else ev.closed_at
