"""A seeded input stream and an independent, pure recomputation of what it must leave behind.

Written from program-rules.md §1 and §3 and config/program.toml (the numbers are repeated here on
purpose): nothing in this module imports ``processors`` or ``streams``, so a rule broken in the
engine cannot be broken the same way here.

The stream (JPY only, default configuration) covers: enrollments (some after the first charges'
business dates), stays through every channel (travel agency with and without per-night points,
OTHER), rate plans (fixed points per night, no points), food & beverage / other postings, tax,
service charge and shopping-arcade postings, a non-participating hotel, a hotel override,
restaurant/bar bills (tax and service-charge lines, part paid with points, a shopping-arcade outlet),
partial and full corrections, full voids, corrections published *before* their original (held
AWAITING_ORIGINAL), charges without a member, a member that never enrolls (held
AWAITING_ENROLLMENT) and exact duplicates.

The recomputation is independent of the order of postings vs. bills vs. enrollments (each
original is corrected at most once and reversals always fit in the original's lot), so it is the
right answer whatever interleaving of the input topics a worker happens to consume.
"""
from __future__ import annotations

import math
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

# ------------------------------------------------------------------ the rules, as numbers
ROOM_PER_1000 = {"OKURA-TOKYO": 20, "OKURA-KYOTO": 20, "OKURA-FUKUOKA": 30, "NIKKO-NARITA": 20,
                 "JALCITY-NAHA": 20}
FB_PER_1000 = 10  # food & beverage everywhere used here (OKURA-FUKUOKA overrides it with 10 too)
OTHER_PER_1000 = 10
TRAVEL_AGENCY_PER_NIGHT = {"NIKKO-NARITA": 50}
NON_PARTICIPATING = {"JALCITY-NAHA"}
EARNING_CHANNELS = {"RESERVATION_CENTER", "OFFICIAL_WEBSITE", "DIRECT"}
NIGHT_CHANNELS = EARNING_CHANNELS | {"TRAVEL_AGENCY"}
FIXED_PER_NIGHT_PLANS = {"DYNAMIC_PACKAGE": 50}
NO_POINTS_PLANS = {"NO_POINTS"}
HOTELS = ["OKURA-TOKYO", "OKURA-KYOTO", "OKURA-FUKUOKA", "NIKKO-NARITA", "JALCITY-NAHA"]


def lot_of(business_date: date) -> date:
    """Points earned in year Y are valid until 31 January Y+3."""
    return date(business_date.year + 3, 1, 31)


# ------------------------------------------------------------------ the stream
@dataclass
class Event:
    kind: str  # enrollments | postings | bills (the harness's topic attribute names)
    obj: dict
    key: str

    @property
    def source_id(self) -> str | None:
        if self.kind == "postings":
            return "P:" + self.obj["posting_id"]
        if self.kind == "bills":
            return "B:" + self.obj["bill_id"]
        return None


@dataclass
class Stream:
    enrollments: list[Event]
    charges: list[Event]  # in publication order (duplicates included)
    members: list[str]  # every member id that appears (enrolled or not)

    @property
    def all(self) -> list[Event]:
        return self.enrollments + self.charges

    def source_ids(self) -> set[str | None]:
        return {e.source_id for e in self.charges}


def _posting(pid, member, amount, *, category="ROOM", nights=0, channel="DIRECT", hotel="OKURA-TOKYO",
             bdate: date, rate_plan=None, corrects=None) -> dict:
    return {"posting_id": pid, "hotel_code": hotel, "reservation_id": f"R-{pid}", "member_id": member,
            "business_date": bdate.isoformat(), "posted_at": f"{bdate.isoformat()}T12:00:00+09:00",
            "category": category, "amount": str(amount), "currency": "JPY", "nights": nights,
            "booking_channel": channel, "rate_plan": rate_plan, "corrects_posting_id": corrects}


def _bill(bid, member, lines, *, paid="0", outlet_type="RESTAURANT", hotel="OKURA-TOKYO", bdate: date,
          voids=None) -> dict:
    return {"bill_id": bid, "hotel_code": hotel, "outlet_code": "OUT1", "outlet_type": outlet_type,
            "member_id": member, "business_date": bdate.isoformat(),
            "closed_at": f"{bdate.isoformat()}T20:00:00+09:00", "currency": "JPY",
            "lines": [{"kind": k, "amount": str(a)} for k, a in lines], "paid_with_points_amount": str(paid),
            "voids_bill_id": voids}


def generate(seed: int, charges: int = 1000, members: int = 30, prefix: str = "RL", early: int = 5) -> Stream:
    """A reproducible stream of ~``charges`` charges over ``members`` members (+1 never enrolled), with
    ``early`` corrections published before their original."""
    rng = random.Random(seed)
    ids = [f"{prefix}{seed % 1000:03d}{i:04d}" for i in range(members)]
    ghost = f"{prefix}{seed % 1000:03d}GHOST"
    enrolled_on = {}
    enrollments = []
    for mid in ids:
        d = rng.choice([date(2026, 1, 1)] * 6 + [date(2026, 3, 1), date(2025, 6, 1)])
        enrolled_on[mid] = d
        enrollments.append(Event("enrollments", {"member_id": mid, "enrolled_on": d.isoformat(), "state": "ACTIVE"},
                                 mid))
    out: list[Event] = []
    originals_p: list[Event] = []  # postings that may be corrected (once)
    originals_b: list[Event] = []
    early_corr: list[tuple[int, Event]] = []  # corrections to publish before their original
    n = 0

    def bdate() -> date:
        # mostly 2026-2027; a few before every enrollment (2025-01..2025-05)
        if rng.random() < 0.04:
            return date(2025, 1, 1) + timedelta(days=rng.randrange(150))
        return date(2026, 1, 1) + timedelta(days=rng.randrange(730))

    while n < charges:
        r = rng.random()
        member = ghost if rng.random() < 0.02 else rng.choice(ids)
        n += 1
        if r < 0.55:  # posting
            cat = rng.choices(["ROOM", "FOOD_BEVERAGE", "OTHER_SERVICE", "TAX", "SERVICE_CHARGE",
                               "SHOPPING_ARCADE"], [50, 20, 10, 10, 5, 5])[0]
            hotel = rng.choices(HOTELS, [40, 20, 15, 15, 10])[0]
            nights = rng.randint(1, 3) if cat == "ROOM" else 0
            amount: int | Decimal = rng.randrange(3000, 90000) if cat == "ROOM" else rng.randrange(500, 30000)
            if rng.random() < 0.1:
                amount = Decimal(amount) + Decimal(rng.randrange(1, 100)) / 100  # sen
            channel = rng.choices(["RESERVATION_CENTER", "OFFICIAL_WEBSITE", "DIRECT", "TRAVEL_AGENCY", "OTHER"],
                                  [20, 25, 25, 20, 10])[0]
            plan = rng.choices([None, "DYNAMIC_PACKAGE", "NO_POINTS"], [90, 5, 5])[0] if cat == "ROOM" else None
            mem = None if rng.random() < 0.02 else member
            obj = _posting(f"P{seed}-{n}", mem, amount, category=cat, nights=nights, channel=channel, hotel=hotel,
                           bdate=bdate(), rate_plan=plan)
            ev = Event("postings", obj, mem or obj["reservation_id"])
            out.append(ev)
            if mem:
                originals_p.append(ev)
        elif r < 0.80:  # bill
            outlet = rng.choices(["RESTAURANT", "BAR", "SHOPPING_ARCADE"], [60, 30, 10])[0]
            food = rng.randrange(1000, 20000)
            lines = [("FOOD", food)]
            if rng.random() < 0.7:
                lines.append(("BEVERAGE", rng.randrange(500, 8000)))
            if rng.random() < 0.2:
                lines.append(("OTHER", rng.randrange(500, 5000)))
            lines.append(("SERVICE_CHARGE", food // 10))
            lines.append(("TAX", food // 10))
            paid = rng.choice([0] * 6 + [500, 1000, 1500])
            hotel = rng.choices(HOTELS, [40, 20, 15, 15, 10])[0]
            obj = _bill(f"B{seed}-{n}", member, lines, paid=paid, outlet_type=outlet, hotel=hotel, bdate=bdate())
            ev = Event("bills", obj, member)
            out.append(ev)
            originals_b.append(ev)
        elif r < 0.92 and originals_p:  # correction of an earlier posting (each original at most once)
            orig = originals_p.pop(rng.randrange(len(originals_p)))
            o = orig.obj
            amount = Decimal(o["amount"])
            full = rng.random() < 0.4
            part = amount if full else (amount * Decimal(rng.randrange(5, 95)) / 100).quantize(Decimal("1"))
            part = max(part, Decimal(1))
            nights = o["nights"] if full else (rng.randint(0, o["nights"]) if o["nights"] else 0)
            obj = _posting(f"P{seed}-{n}", o["member_id"], -part, category=o["category"], nights=nights,
                           channel=o["booking_channel"], hotel=o["hotel_code"],
                           bdate=date.fromisoformat(o["business_date"]), rate_plan=o["rate_plan"],
                           corrects=o["posting_id"])
            out.append(Event("postings", obj, o["member_id"]))
        elif originals_b:  # full void of an earlier bill
            orig = originals_b.pop(rng.randrange(len(originals_b)))
            o = orig.obj
            obj = _bill(f"B{seed}-{n}", o["member_id"], [], outlet_type=o["outlet_type"], hotel=o["hotel_code"],
                        bdate=date.fromisoformat(o["business_date"]), voids=o["bill_id"])
            out.append(Event("bills", obj, o["member_id"]))
        else:
            n -= 1
    # a few corrections published before their original (same topic and key: same partition, so the
    # engine sees them first and holds them AWAITING_ORIGINAL)
    corrected = {e.obj["corrects_posting_id"] for e in out if e.kind == "postings"}
    cands = [i for i, e in enumerate(out) if e.kind == "postings" and e.obj["corrects_posting_id"] is None
             and e.obj["member_id"] and e.obj["posting_id"] not in corrected]
    for i in rng.sample(cands, early):
        o = out[i].obj
        corr = _posting(f"P{seed}-early-{i}", o["member_id"], -Decimal(o["amount"]), category=o["category"],
                        nights=o["nights"], channel=o["booking_channel"], hotel=o["hotel_code"],
                        bdate=date.fromisoformat(o["business_date"]), rate_plan=o["rate_plan"],
                        corrects=o["posting_id"])
        early_corr.append((i, Event("postings", corr, o["member_id"])))
    for i, ev in sorted(early_corr, key=lambda x: -x[0]):
        out.insert(i, ev)
    # exact duplicates (a producer retry, a re-sent file), later in the stream
    for _ in range(20):
        i = rng.randrange(len(out) // 2)
        out.insert(rng.randrange(i + 1, len(out) + 1), out[i])
    return Stream(enrollments, out, ids + [ghost])


# ------------------------------------------------------------------ the recomputation
@dataclass
class _Orig:
    member: str
    year: int
    lot: date
    amount: Decimal | None  # None: the original earned nothing reversible
    base: int
    nights: int


@dataclass
class MemberState:
    lots: dict[date, int] = field(default_factory=lambda: defaultdict(int))
    qualifying: dict[int, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))

    def view(self) -> dict:
        return {"balance": sum(self.lots.values()), "debt": 0,
                "lots": [{"expires_on": d.isoformat(), "points": p} for d, p in sorted(self.lots.items()) if p],
                "qualifying": {str(y): {"points": q[0], "nights": q[1]}
                               for y, q in sorted(self.qualifying.items()) if q[0] or q[1]}}


def _floor(x: Decimal) -> int:
    return math.floor(x)


def _assess_posting(o: dict) -> tuple[int, int, Decimal | None]:
    """(base points, eligible nights, reversible amount or None) of an original posting, member aside."""
    hotel, cat, amount = o["hotel_code"], o["category"], Decimal(o["amount"])
    if hotel in NON_PARTICIPATING or cat in ("TAX", "SERVICE_CHARGE", "SHOPPING_ARCADE"):
        return 0, 0, None
    if cat != "ROOM":
        per = FB_PER_1000 if cat == "FOOD_BEVERAGE" else OTHER_PER_1000
        pts = _floor(amount * per / 1000)
        return (pts, 0, amount) if pts > 0 else (0, 0, None)
    channel, plan, n = o["booking_channel"], o["rate_plan"], o["nights"]
    nights = n if channel in NIGHT_CHANNELS else 0
    if plan in NO_POINTS_PLANS:
        pts = 0
    elif channel in EARNING_CHANNELS:
        pts = FIXED_PER_NIGHT_PLANS[plan] * n if plan in FIXED_PER_NIGHT_PLANS else \
            _floor(amount * ROOM_PER_1000[hotel] / 1000)
    elif channel == "TRAVEL_AGENCY":
        pts = TRAVEL_AGENCY_PER_NIGHT.get(hotel, 0) * n
    else:
        pts = 0
    if pts > 0 or nights > 0:
        return pts, nights, amount
    return 0, 0, None


def _assess_bill(o: dict) -> tuple[int, Decimal | None]:
    if o["hotel_code"] in NON_PARTICIPATING or o["outlet_type"] == "SHOPPING_ARCADE":
        return 0, None
    food = sum((Decimal(x["amount"]) for x in o["lines"] if x["kind"] in ("FOOD", "BEVERAGE")), Decimal(0))
    other = sum((Decimal(x["amount"]) for x in o["lines"] if x["kind"] == "OTHER"), Decimal(0))
    paid = Decimal(o["paid_with_points_amount"])
    from_food = min(paid, food)
    food -= from_food
    other -= min(paid - from_food, other)
    if food + other <= 0:
        return 0, None
    pts = _floor((food * FB_PER_1000 + other * OTHER_PER_1000) / 1000)
    return (pts, food + other) if pts > 0 else (0, None)


def expected(stream: Stream) -> dict[str, dict]:
    """Member id -> {balance, debt, lots, qualifying} after every event of ``stream`` was applied once."""
    enrolled = {e.obj["member_id"]: date.fromisoformat(e.obj["enrolled_on"]) for e in stream.enrollments}
    state: dict[str, MemberState] = defaultdict(MemberState)
    seen: set[str] = set()
    originals: dict[str, _Orig] = {}
    corrections = []
    for ev in stream.charges:
        sid = ev.source_id
        assert sid is not None, "a charge has a source id"
        if sid in seen:
            continue  # an exact duplicate changes nothing
        seen.add(sid)
        o = ev.obj
        mid = o["member_id"]
        if not mid or mid not in enrolled:
            continue  # no member: excluded; never enrolled: held
        if o.get("corrects_posting_id") or o.get("voids_bill_id"):
            corrections.append(ev)  # applied once its original is known (held until then)
            continue
        bd = date.fromisoformat(o["business_date"])
        if bd < enrolled[mid]:
            continue  # BEFORE_ENROLLMENT (and so nothing to reverse later)
        if ev.kind == "postings":
            base, nights, amount = _assess_posting(o)
        else:
            (base, amount), nights = _assess_bill(o), 0
        st = state[mid]
        if base:
            st.lots[lot_of(bd)] += base
        if base or nights:
            q = st.qualifying[bd.year]
            q[0] += base
            q[1] += nights
        originals[sid] = _Orig(mid, bd.year, lot_of(bd), amount, base, nights)
    for ev in corrections:
        o = ev.obj
        mid = o["member_id"]
        if date.fromisoformat(o["business_date"]) < enrolled[mid]:
            continue
        orig_sid = ("P:" + o["corrects_posting_id"]) if ev.kind == "postings" else ("B:" + o["voids_bill_id"])
        orig = originals.get(orig_sid)
        if orig is None or orig.amount is None:
            continue  # held forever / nothing to reverse
        if ev.kind == "postings":
            corrected = abs(Decimal(o["amount"]))
            if corrected >= orig.amount:
                base_rev, nights_rev = orig.base, orig.nights
            else:
                base_rev = min(_floor(orig.base * corrected / orig.amount), orig.base) if orig.amount else orig.base
                # the nights it states, else the original's nights in proportion (issue 9 item 5)
                stated = abs(o["nights"])
                nights_rev = min(orig.nights, stated if stated else _floor(orig.nights * corrected / orig.amount))
        else:
            base_rev, nights_rev = orig.base, 0
        st = state[mid]
        st.lots[orig.lot] -= base_rev
        q = st.qualifying[orig.year]
        q[0] -= base_rev
        q[1] -= nights_rev
    return {mid: state[mid].view() for mid in stream.members}


def normalize(view: dict | None) -> dict:
    """The comparable part of `harmony member show --json` (None: never seen)."""
    if view is None:
        return MemberState().view()
    return {"balance": view["balance"], "debt": view["debt"], "lots": view["lots"],
            "qualifying": {y: {"points": q["points"], "nights": q["nights"]}
                           for y, q in view["qualifying"].items() if q["points"] or q["nights"]}}
