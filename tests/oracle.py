"""An independent model of the program rules, for checking the engine end to end.

Written from /work/shared/spec/program-rules.md (and the program configuration file, read here
with ``tomllib``), NOT from ``processors/``: nothing of the code under test is imported. It takes
the input events as the JSON objects that were published (the shapes of ``tests/harness.py``)
and recomputes, per member: balance, lots (expiry date -> points, plus debt), qualifying counters
per year (points, nights, carried points, carried nights), statuses per program year; and per
charge: the final outcome/reason and the net points it moved.

Scope (kept simple on purpose): earning from PMS postings and POS bills in JPY and foreign
currencies, holds (enrollment, FX rate, original), corrections and voids, bonus by status,
year-end evaluation with carry forward, lot expiry dates. No redemptions, no expiry job, no
UNKNOWN_MEMBER grace (a member never enrolled keeps its charges held).

Event order: ``apply`` takes events in the order they were published. The engine may interleave
topics differently; the scenarios built on this oracle make the final state independent of that
interleaving (see tests/integration/scenario.py).
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, localcontext
from pathlib import Path

DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "config" / "program.toml"
NEVER_EARN_CATEGORIES = {"TAX", "SERVICE_CHARGE", "SHOPPING_ARCADE"}
BILL_NEVER_EARN = {"TAX", "SERVICE_CHARGE"}
FB_KINDS = {"FOOD", "BEVERAGE"}
OTHER_KINDS = {"OTHER"}


def _d(x) -> Decimal:
    return x if isinstance(x, Decimal) else Decimal(str(x))


def _date(x) -> date:
    return x if isinstance(x, date) else date.fromisoformat(x)


def floor_dec(x: Decimal) -> int:
    """Greatest integer <= x (exact for the Decimal values used here)."""
    return int(x.to_integral_value(rounding="ROUND_FLOOR"))


def mul(a: Decimal, b: Decimal) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = 60
        return a * b


def div(a: Decimal, b: Decimal) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = 60
        return a / b


def program_year(d: date) -> int:
    """Statuses are valid 1 April – 31 March: the April–March year a date falls in."""
    return d.year if d.month >= 4 else d.year - 1


class Rules:
    """The numbers of the program, read from the configuration file."""

    def __init__(self, path: Path = DEFAULT_CONFIG):
        with open(path, "rb") as fh:
            c = tomllib.load(fh)
        e = c["earning"]
        self.rates = {k: _d(v) for k, v in e["points_per_1000_jpy"].items()}
        self.earning_channels = set(e["earning_channels"])
        self.night_channels = set(e["night_channels"])
        self.bonus = {"REGULAR": 0, **{k: int(v) for k, v in c["bonus_percent"].items()}}
        self.fx_max_age = int(c["fx"]["max_age_days"])
        self.plans = c.get("rate_plans", {})
        self.hotels = {h["code"]: h for h in c["hotels"]}
        st = c["status"]
        # highest first
        self.thresholds = [("EXCLUSIVE", st["EXCLUSIVE"]["points"], st["EXCLUSIVE"]["nights"]),
                           ("LOYAL", st["LOYAL"]["points"], st["LOYAL"]["nights"])]
        v = c.get("validity", {})
        self.valid_years = int(v.get("years_after", 3))
        self.valid_month = int(v.get("month", 1))
        self.valid_day = int(v.get("day", 31))

    def rate(self, hotel: str, category: str) -> Decimal:
        """Points per yen."""
        override = self.hotels[hotel].get("points_per_1000_jpy", {})
        per_1000 = _d(override[category]) if category in override else self.rates[category]
        return per_1000 / 1000

    def plan(self, hotel: str, code: str | None) -> dict | None:
        if not code:
            return None
        hotel_plans = self.hotels[hotel].get("rate_plans", {})
        return hotel_plans.get(code) or self.plans.get(code)

    def expiry(self, bd: date) -> date:
        """Points earned in year Y: valid until 31 January Y+3."""
        return date(bd.year + self.valid_years, self.valid_month, self.valid_day)


@dataclass
class Original:
    """What an earning charge still holds (for corrections and voids)."""
    year: int
    lot: date
    amount: Decimal  # posting: its own amount; bill: eligible JPY amount
    base: int
    bonus: int
    nights: int
    rem_amount: Decimal = Decimal(0)
    rem_base: int = 0
    rem_bonus: int = 0
    rem_nights: int = 0

    def __post_init__(self):
        self.rem_amount, self.rem_base, self.rem_bonus, self.rem_nights = \
            self.amount, self.base, self.bonus, self.nights


@dataclass
class MemberState:
    member_id: str
    enrolled_on: date | None = None
    state: str | None = None
    lots: dict[date, int] = field(default_factory=dict)
    debt: int = 0
    q: dict[int, list[int]] = field(default_factory=dict)  # year -> [points, nights, carried pts, carried n]
    statuses: dict[int, str] = field(default_factory=dict)  # program year -> status
    originals: dict[str, Original] = field(default_factory=dict)
    decided: set[str] = field(default_factory=set)

    @property
    def balance(self) -> int:
        return sum(self.lots.values()) - self.debt

    def counters(self, year: int) -> list[int]:
        return self.q.setdefault(year, [0, 0, 0, 0])

    def credit(self, lot: date, points: int) -> None:
        paid = min(self.debt, points)  # debt is paid back first
        self.debt -= paid
        if points - paid:
            self.lots[lot] = self.lots.get(lot, 0) + points - paid

    def take(self, preferred: date, points: int) -> None:
        """Take points back: the original's lot first, then soonest-expiring lots, then debt."""
        for lot in [preferred] + sorted(d for d in self.lots if d != preferred):
            if points == 0:
                break
            t = min(self.lots.get(lot, 0), points)
            if t:
                self.lots[lot] -= t
                if not self.lots[lot]:
                    del self.lots[lot]
                points -= t
        self.debt += points

    def view(self) -> dict:
        """Comparable with streams.web.member_view.member_json (all-zero years dropped)."""
        return {
            "balance": self.balance,
            "debt": self.debt,
            "lots": [{"expires_on": d.isoformat(), "points": p} for d, p in sorted(self.lots.items()) if p],
            "qualifying": {str(y): {"points": q[0], "nights": q[1], "carried_points": q[2], "carried_nights": q[3]}
                           for y, q in sorted(self.q.items()) if any(q)},
        }


def normalize_view(view: dict) -> dict:
    """The comparable part of an engine member view."""
    return {"balance": view["balance"], "debt": view["debt"], "lots": view["lots"],
            "qualifying": {y: q for y, q in view["qualifying"].items() if any(q.values())}}


@dataclass
class Pending:
    kind: str  # "postings" | "bills"
    ev: dict
    reason: str
    seq: int  # arrival order: held inputs are retried oldest first


class Oracle:
    def __init__(self, config_path: Path = DEFAULT_CONFIG):
        self.r = Rules(config_path)
        self.members: dict[str, MemberState] = {}
        self.fx: dict[str, dict[date, Decimal]] = {}
        self.held: list[Pending] = []
        self.decisions: dict[str, tuple[str, str | None]] = {}  # source id -> final (outcome, reason)
        self.points_by_source: dict[str, int] = {}  # source id -> net ledger points
        self.is_correction: set[str] = set()
        self._seq = 0
        self._current_seq = 0

    # ------------------------------------------------------------------ input
    def apply(self, events) -> None:
        """Events in publication order: iterable of (kind, json object), kind as in the harness
        ("postings", "bills", "fx", "enrollments")."""
        for kind, ev in events:
            if kind == "enrollments":
                m = self.member(ev["member_id"])
                m.enrolled_on, m.state = _date(ev["enrolled_on"]), ev["state"]
                self.retry()
            elif kind == "fx":
                self.fx.setdefault(ev["currency"], {})[_date(ev["rate_date"])] = _d(ev["jpy_per_unit"])
                self.retry()
            elif kind in ("postings", "bills"):
                sid = self.sid(kind, ev)
                if sid in self.decisions or any(self.sid(p.kind, p.ev) == sid for p in self.held):
                    continue  # a redelivery changes nothing
                if self.charge(kind, ev):
                    self.retry()
            else:
                raise ValueError(kind)

    def member(self, mid: str) -> MemberState:
        if mid not in self.members:
            self.members[mid] = MemberState(mid)
        return self.members[mid]

    @staticmethod
    def sid(kind: str, ev: dict) -> str:
        return "P:" + ev["posting_id"] if kind == "postings" else "B:" + ev["bill_id"]

    def retry(self) -> None:
        """Retry held inputs in arrival order; after each release start again from the oldest
        (a release may unblock an older input, e.g. an original its held correction waits for)."""
        while True:
            for p in sorted(self.held, key=lambda p: p.seq):
                self.held.remove(p)
                if self.charge(p.kind, p.ev, p.seq):
                    break
            else:
                return

    def held_reasons(self) -> dict[str, str]:
        return {self.sid(p.kind, p.ev): p.reason for p in self.held}

    # ------------------------------------------------------------------ rules
    def final(self, sid: str, outcome: str, reason: str | None = None, points: int = 0) -> bool:
        self.decisions[sid] = (outcome, reason)
        self.points_by_source[sid] = self.points_by_source.get(sid, 0) + points
        return True

    def hold(self, kind: str, ev: dict, reason: str) -> bool:
        self.held.append(Pending(kind, ev, reason, self._current_seq))
        return False

    def to_jpy(self, amount: Decimal, currency: str, bd: date) -> Decimal | None:
        if currency == "JPY":
            return amount
        usable = [d for d in self.fx.get(currency, {}) if d <= bd and (bd - d).days <= self.r.fx_max_age]
        if not usable:
            return None
        return mul(amount, self.fx[currency][max(usable)])

    def known_jpy(self, amount: Decimal, currency: str, bd: date) -> Decimal:
        """to_jpy() of a charge being decided: charge() holds one without a usable rate first."""
        jpy = self.to_jpy(amount, currency, bd)
        assert jpy is not None, f"no usable {currency} rate on {bd}"
        return jpy

    def charge(self, kind: str, ev: dict, seq: int | None = None) -> bool:
        """Decide one charge; False when it is (still) held."""
        if seq is None:
            self._seq += 1
            seq = self._seq
        self._current_seq = seq
        done = self._charge(kind, ev)
        if done and ev.get("member_id"):
            self.member(ev["member_id"]).decided.add(self.sid(kind, ev))
        return done

    def _charge(self, kind: str, ev: dict) -> bool:
        sid = self.sid(kind, ev)
        hotel = self.r.hotels.get(ev["hotel_code"])
        bd = _date(ev["business_date"])
        cur = ev["currency"]
        if kind == "postings":
            correction = bool(ev.get("corrects_posting_id")) and _d(ev["amount"]) < 0
            if hotel is None:
                return self.final(sid, "REJECTED", "UNKNOWN_HOTEL")
            if cur not in ("JPY", hotel["currency"]):
                return self.final(sid, "REJECTED", "CURRENCY_MISMATCH")
            nights = ev.get("nights") or 0
            if nights < 0 or (nights > 0 and ev["category"] != "ROOM"):
                return self.final(sid, "REJECTED", "INVALID_NIGHTS")
            if _d(ev["amount"]) < 0 and not correction:
                return self.final(sid, "REJECTED", "INVALID_AMOUNT")
            if not hotel.get("participating", True):
                return self.final(sid, "EXCLUDED", "NON_PARTICIPATING_HOTEL")
            if not ev.get("member_id"):
                return self.final(sid, "EXCLUDED", "NO_MEMBER")
            if ev["category"] in NEVER_EARN_CATEGORIES:
                return self.final(sid, "EXCLUDED", ev["category"])
            original = "P:" + ev["corrects_posting_id"] if correction else None
        else:
            void = bool(ev.get("voids_bill_id"))
            if hotel is None:
                return self.final(sid, "REJECTED", "UNKNOWN_HOTEL")
            if cur not in ("JPY", hotel["currency"]):
                return self.final(sid, "REJECTED", "CURRENCY_MISMATCH")
            amounts = [_d(line["amount"]) for line in ev["lines"]] + [_d(ev["paid_with_points_amount"])]
            if not void and any(a < 0 for a in amounts):
                return self.final(sid, "REJECTED", "INVALID_AMOUNT")
            if not hotel.get("participating", True):
                return self.final(sid, "EXCLUDED", "NON_PARTICIPATING_HOTEL")
            if not ev.get("member_id"):
                return self.final(sid, "EXCLUDED", "NO_MEMBER")
            if ev["outlet_type"] == "SHOPPING_ARCADE":
                return self.final(sid, "EXCLUDED", "SHOPPING_ARCADE")
            kinds = [line["kind"] for line in ev["lines"]]
            if kinds and all(k in BILL_NEVER_EARN for k in kinds):
                return self.final(sid, "EXCLUDED", kinds[0])
            original = "B:" + ev["voids_bill_id"] if void else None
        m = self.member(ev["member_id"])
        if original is not None:
            blocked = self.member_checks(kind, ev, sid, m)
            return blocked if blocked is not None else self.correct(kind, ev, sid, m, original)
        if self.to_jpy(Decimal(1), cur, bd) is None:  # no usable rate yet: wait for it (if the member can earn)
            blocked = self.member_checks(kind, ev, sid, m)
            return blocked if blocked is not None else self.hold(kind, ev, "AWAITING_FX_RATE")
        outcome, reason, base, nights, amount = (self.assess_posting if kind == "postings" else self.assess_bill)(ev)
        if outcome == "EXCLUDED" and nights == 0:
            # nothing this charge could ever earn: decided whatever the member's state
            return self.final(sid, outcome, reason)
        blocked = self.member_checks(kind, ev, sid, m)
        return blocked if blocked is not None else self.book(ev, sid, m, base, nights, amount, outcome, reason)

    def member_checks(self, kind: str, ev: dict, sid: str, m: MemberState) -> bool | None:
        """None when the member may earn from this charge; else the result (held or final)."""
        if m.enrolled_on is None:
            return self.hold(kind, ev, "AWAITING_ENROLLMENT")
        if m.state == "CLOSED":
            return self.final(sid, "EXCLUDED", "MEMBER_CLOSED")
        if _date(ev["business_date"]) < m.enrolled_on:
            return self.final(sid, "EXCLUDED", "BEFORE_ENROLLMENT")
        return None

    def assess_posting(self, ev: dict):
        """(outcome, reason, base points, nights, amount kept for corrections) of a posting."""
        h, cat, bd = ev["hotel_code"], ev["category"], _date(ev["business_date"])
        amount = _d(ev["amount"])
        amount_jpy = self.known_jpy(amount, ev["currency"], bd)
        if cat != "ROOM":
            base = floor_dec(mul(amount_jpy, self.r.rate(h, cat)))
            return ("EARNED", None, base, 0, amount) if base else ("EXCLUDED", "NO_ELIGIBLE_AMOUNT", 0, 0, amount)
        channel, n = ev["booking_channel"], ev.get("nights") or 0
        counted = n if channel in self.r.night_channels else 0  # eligible room nights
        plan = self.r.plan(h, ev.get("rate_plan"))
        if plan is not None and plan.get("earns", True) is False:
            return "EXCLUDED", "RATE_PLAN_NOT_EARNING", 0, counted, amount
        if channel in self.r.earning_channels:
            if plan is not None and plan.get("points_per_night") is not None:
                base = int(plan["points_per_night"]) * n
            else:
                base = floor_dec(mul(amount_jpy, self.r.rate(h, "ROOM")))
        elif channel == "TRAVEL_AGENCY":
            base = int(self.r.hotels[h].get("travel_agency_points_per_night", 0)) * n
            if base == 0:
                return "EXCLUDED", "CHANNEL_NOT_EARNING", 0, counted, amount
        else:
            return "EXCLUDED", "CHANNEL_NOT_EARNING", 0, 0, amount
        if base == 0 and counted == 0:
            return "EXCLUDED", "NO_ELIGIBLE_AMOUNT", 0, 0, amount
        return "EARNED", None, base, counted, amount

    def assess_bill(self, ev: dict):
        h, bd, cur = ev["hotel_code"], _date(ev["business_date"]), ev["currency"]
        fb = sum((self.known_jpy(_d(line["amount"]), cur, bd) for line in ev["lines"] if line["kind"] in FB_KINDS),
                 Decimal(0))
        other = sum((self.known_jpy(_d(line["amount"]), cur, bd) for line in ev["lines"]
                     if line["kind"] in OTHER_KINDS), Decimal(0))
        if fb + other <= 0:
            return "EXCLUDED", "NO_ELIGIBLE_AMOUNT", 0, 0, Decimal(0)
        paid = self.known_jpy(_d(ev["paid_with_points_amount"]), cur, bd)
        from_fb = min(paid, fb)  # paid-with-points comes off food & beverage first
        fb -= from_fb
        other -= min(paid - from_fb, other)
        if fb + other <= 0:
            return "EXCLUDED", "PAID_WITH_POINTS", 0, 0, Decimal(0)
        base = floor_dec(mul(fb, self.r.rate(h, "FOOD_BEVERAGE")) + mul(other, self.r.rate(h, "OTHER_SERVICE")))
        if base == 0:
            return "EXCLUDED", "NO_ELIGIBLE_AMOUNT", 0, 0, Decimal(0)
        return "EARNED", None, base, 0, fb + other

    def book(self, ev: dict, sid: str, m: MemberState, base: int, nights: int, amount: Decimal,
             outcome: str, reason: str | None) -> bool:
        bd = _date(ev["business_date"])
        status = m.statuses.get(program_year(bd), "REGULAR")
        bonus = base * self.r.bonus[status] // 100
        lot = self.r.expiry(bd)
        if base + bonus:
            m.credit(lot, base + bonus)
        q = m.counters(bd.year)
        q[0] += base  # bonus does not qualify
        q[1] += nights
        m.originals[sid] = Original(bd.year, lot, amount, base, bonus, nights)
        return self.final(sid, outcome, reason, base + bonus)

    def correct(self, kind: str, ev: dict, sid: str, m: MemberState, original: str) -> bool:
        self.is_correction.add(sid)
        if original not in m.decided:  # a member's correction reverses one of its own charges
            return self.hold(kind, ev, "AWAITING_ORIGINAL")
        o = m.originals.get(original)
        if o is None or o.rem_base + o.rem_bonus + o.rem_nights == 0:
            return self.final(sid, "EXCLUDED", "NOTHING_TO_REVERSE")
        if kind == "postings":
            corrected = abs(_d(ev["amount"]))
        else:
            corrected = o.rem_amount  # the scenario's voids repeat every line of the bill: full voids
        if corrected >= o.rem_amount or o.amount == 0:
            base, bonus, nights = o.rem_base, o.rem_bonus, o.rem_nights
        else:
            def share(points: int, rem: int) -> int:
                return min(rem, floor_dec(div(mul(Decimal(points), corrected), o.amount)))
            base, bonus = share(o.base, o.rem_base), share(o.bonus, o.rem_bonus)
            # the nights it states, else the original's nights in the same proportion (issue 9 item 5)
            stated = abs(ev.get("nights") or 0)
            nights = min(o.rem_nights, stated) if stated else share(o.nights, o.rem_nights)
        o.rem_base -= base
        o.rem_bonus -= bonus
        o.rem_nights -= nights
        o.rem_amount = max(o.rem_amount - corrected, Decimal(0))
        q = m.counters(o.year)
        q[0] -= base
        q[1] -= nights
        if base + bonus:
            m.take(o.lot, base + bonus)
        return self.final(sid, "EARNED", None, -(base + bonus))

    # ------------------------------------------------------------------ year end
    def close_year(self, year: int) -> dict[str, str]:
        """Evaluate calendar year ``year`` for every member; returns the statuses attained (not REGULAR)."""
        attained = {}
        for m in self.members.values():
            q = m.q.get(year)
            if q is None:
                continue
            pts, nights = q[0] + q[2], q[1] + q[3]
            for status, tp, tn in self.r.thresholds:
                if pts >= tp or nights >= tn:
                    m.statuses[year + 1] = status
                    attained[m.member_id] = status
                    nq = m.counters(year + 1)
                    if pts >= tp:
                        nq[2] += pts - tp
                    if nights >= tn:
                        nq[3] += nights - tn
                    break
        return attained
