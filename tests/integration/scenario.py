"""A seeded, mixed stream of input events for the scenario tests (JSON shapes of tests/harness.py).

The final state must not depend on how the engine interleaves its input topics, so:
* USD rates (every 3 days, 2025–2026) are published before the worker starts;
* EUR has no rate until ``Scenario.eur_rates`` (one rate every 10 days), and EUR charges are dated
  0–7 days after one of those dates, so exactly one rate can ever apply to each of them;
* a member's state changes only through its own charges (one partition) and one enrollment
  (ACTIVE, or CLOSED from the start); late enrollments are published after the member's charges;
* there are no redemptions (so no debt: a reversal never exceeds what its original put in its lot).
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from tests.harness import bill, enrollment, fx_rate, posting

JPY_HOTELS = ["OKURA-TOKYO", "OKURA-KYOTO", "OKURA-FUKUOKA", "NIKKO-NARITA", "NIKKO-OSAKA", "NIKKO-KANAZAWA",
              "JALCITY-HANEDA", "JALCITY-SAPPORO", "JALCITY-NAHA"]
USD_HOTELS = ["NIKKO-SAIPAN", "NIKKO-HANOI"]
EUR_HOTEL = "OKURA-AMSTERDAM"
CHANNELS = ["RESERVATION_CENTER", "OFFICIAL_WEBSITE", "DIRECT", "TRAVEL_AGENCY", "OTHER"]
CHANNEL_W = [20, 20, 30, 20, 10]
EUR_EPOCH = date(2025, 1, 3)


def usd_rates() -> list[tuple[str, dict]]:
    out, d, i = [], date(2024, 12, 28), 0
    while d <= date(2026, 12, 31):
        out.append(("fx", fx_rate("USD", d.isoformat(), f"{140 + (i * 37) % 23}.{(i * 7919) % 1000000:06d}")))
        d += timedelta(days=3)
        i += 1
    return out


def eur_rates() -> list[tuple[str, dict]]:
    out, d, i = [], EUR_EPOCH, 0
    while d <= date(2026, 12, 31):
        out.append(("fx", fx_rate("EUR", d.isoformat(), f"{155 + (i * 13) % 17}.{(i * 104729) % 1000000:06d}")))
        d += timedelta(days=10)
        i += 1
    return out


@dataclass
class Scenario:
    fx_initial: list = field(default_factory=list)  # USD rates: before the worker starts
    phase_a: list = field(default_factory=list)  # 2025 business dates and most enrollments
    phase_a_late: list = field(default_factory=list)  # late enrollments and the EUR rates (releases holds)
    phase_b: list = field(default_factory=list)  # 2026 business dates (after close-year 2025)
    members: list[str] = field(default_factory=list)

    @property
    def charges(self) -> list:
        return [(k, e) for k, e in self.all_events if k in ("postings", "bills")]

    @property
    def all_events(self) -> list:
        """Everything after the initial rates, in publication order."""
        return self.phase_a + self.phase_a_late + self.phase_b


class _Gen:
    def __init__(self, seed: int, n_members: int):
        self.rnd = random.Random(seed)
        self.members = [f"SC{i:05d}" for i in range(n_members)]
        self.heavy = set(self.members[:12])  # earn toward a status in 2025
        self.closed = set(self.members[12:15])
        self.late = set(self.members[15:20])  # enrollment published after their charges
        self.enrolled_on = {m: date(2025, 1, 1) + timedelta(days=self.rnd.randrange(0, 90)) for m in self.members}
        self.postings: dict[str, list[dict]] = {m: [] for m in self.members}
        self.bills: dict[str, list[dict]] = {m: [] for m in self.members}
        self.corrected: dict[str, int] = {}
        self.voided: set[str] = set()
        self.n = 0

    def next_id(self, prefix: str) -> str:
        self.n += 1
        return f"{prefix}{self.n:06d}"

    def day(self, year: int) -> date:
        return date(year, 1, 1) + timedelta(days=self.rnd.randrange(0, 365))

    def eur_day(self, year: int) -> date:
        base = EUR_EPOCH + timedelta(days=10 * self.rnd.randrange(0, 72))
        while base.year < year:
            base += timedelta(days=10)
        while base.year > year:
            base -= timedelta(days=10)
        d = base + timedelta(days=self.rnd.randrange(0, 8))
        return d if d.year == year else base

    def money(self, currency: str, low: int, high: int) -> str:
        if currency == "JPY":
            v = self.rnd.randrange(low, high)
            return f"{v}.5" if self.rnd.random() < 0.05 else str(v)
        return f"{self.rnd.randrange(low // 150, high // 150 + 2)}.{self.rnd.randrange(0, 100):02d}"

    def place(self, year: int):
        r = self.rnd.random()
        if r < 0.12:
            return self.rnd.choice(USD_HOTELS), "USD", self.day(year)
        if r < 0.17:
            return EUR_HOTEL, "EUR", self.eur_day(year)
        return self.rnd.choice(JPY_HOTELS), "JPY", self.day(year)

    def member_for_charge(self) -> str | None:
        if self.rnd.random() < 0.03:
            return None
        return self.rnd.choice(self.members)

    def new_posting(self, year: int) -> tuple[str, dict]:
        m = self.member_for_charge()
        hotel, cur, d = self.place(year)
        heavy = m in self.heavy
        cat = self.rnd.choices(["ROOM", "FOOD_BEVERAGE", "OTHER_SERVICE", "TAX", "SERVICE_CHARGE", "SHOPPING_ARCADE"],
                               [55 if heavy else 40, 20, 10, 12, 6, 7])[0]
        if self.rnd.random() < 0.01:  # invalid input
            bad = self.rnd.choice(["hotel", "currency"])
            hotel, cur = ("NOWHERE-HOTEL", "JPY") if bad == "hotel" else ("OKURA-TOKYO", "USD")
        if cat == "ROOM":
            nights = self.rnd.randint(1, 5 if heavy else 3)
            amount = self.money(cur, 8000 * nights, (60000 if not heavy else 150000) * nights)
            channel = self.rnd.choices(CHANNELS, CHANNEL_W)[0]
            plan = self.rnd.choices([None, "DYNAMIC_PACKAGE", "NO_POINTS", "CORPORATE"], [80, 8, 6, 6])[0]
        else:
            nights, plan = 0, None
            amount = self.money(cur, 300, 40000)
            channel = self.rnd.choice(CHANNELS)
        p = posting(self.next_id("PS"), m, amount, category=cat, nights=nights, channel=channel, hotel=hotel,
                    bdate=d.isoformat(), currency=cur, rate_plan=plan)
        if (m is not None and cur != "EUR" and hotel != "NOWHERE-HOTEL"
                and cur == ("USD" if hotel in USD_HOTELS else "JPY")):
            self.postings[m].append(p)
        return "postings", p

    def correction(self, m: str, year: int) -> tuple[str, dict] | None:
        candidates = [p for p in self.postings[m] if self.corrected.get(p["posting_id"], 0) < 2]
        if not candidates:
            return None
        o = self.rnd.choice(candidates)
        self.corrected[o["posting_id"]] = self.corrected.get(o["posting_id"], 0) + 1
        od = date.fromisoformat(o["business_date"])
        d = od + timedelta(days=self.rnd.randrange(0, 10))
        if d.year < year:
            d = date(year, 1, self.rnd.randrange(1, 20))
        amount = Decimal(o["amount"])
        if self.rnd.random() < 0.35:
            corr = -amount
        else:
            frac = Decimal(self.rnd.randrange(5, 60)) / 100
            corr = -(amount * frac).quantize(Decimal("1") if o["currency"] == "JPY" else Decimal("0.01"))
            if corr == 0:
                corr = Decimal("-1")
        nights = 1 if o["category"] == "ROOM" and o["nights"] >= 2 and self.rnd.random() < 0.5 else 0
        p = posting(self.next_id("PC"), m, str(corr), category=o["category"], nights=nights,
                    channel=o["booking_channel"], hotel=o["hotel_code"], bdate=d.isoformat(),
                    currency=o["currency"], rate_plan=o["rate_plan"], corrects=o["posting_id"])
        return "postings", p

    def new_bill(self, year: int) -> tuple[str, dict]:
        m = self.member_for_charge()
        hotel, cur, d = self.place(year)
        outlet = self.rnd.choices(["RESTAURANT", "BAR", "SHOPPING_ARCADE", "OTHER"], [60, 25, 7, 8])[0]
        lines = []
        food = self.money(cur, 500, 30000)
        lines.append(("FOOD", food))
        if self.rnd.random() < 0.5:
            lines.append(("BEVERAGE", self.money(cur, 300, 10000)))
        if self.rnd.random() < 0.2:
            lines.append(("OTHER", self.money(cur, 300, 5000)))
        if self.rnd.random() < 0.6:
            lines.append(("SERVICE_CHARGE", self.money(cur, 100, 3000)))
        if self.rnd.random() < 0.8:
            lines.append(("TAX", self.money(cur, 100, 3000)))
        if self.rnd.random() < 0.03:
            lines = [("TAX", self.money(cur, 100, 3000))]
        eligible = sum(Decimal(a) for k, a in lines if k in ("FOOD", "BEVERAGE", "OTHER"))
        r = self.rnd.random()
        if r < 0.08:
            paid = str(eligible)  # fully paid with points
        elif r < 0.25 and cur == "JPY":
            paid = str(min(eligible, Decimal(500 * self.rnd.randint(1, 10))))
        else:
            paid = "0"
        b = bill(self.next_id("BS"), m, lines, paid_with_points=paid, outlet_type=outlet, hotel=hotel,
                 bdate=d.isoformat(), currency=cur)
        if m is not None and cur != "EUR":
            self.bills[m].append(b)
        return "bills", b

    def void(self, m: str, year: int) -> tuple[str, dict] | None:
        candidates = [b for b in self.bills[m] if b["bill_id"] not in self.voided]
        if not candidates:
            return None
        o = self.rnd.choice(candidates)
        self.voided.add(o["bill_id"])
        d = max(date.fromisoformat(o["business_date"]) + timedelta(days=self.rnd.randrange(0, 5)), date(year, 1, 2))
        lines = [(ln["kind"], str(-Decimal(ln["amount"]))) for ln in o["lines"]]
        b = bill(self.next_id("BV"), m, lines, paid_with_points=o["paid_with_points_amount"],
                 outlet_type=o["outlet_type"], hotel=o["hotel_code"], bdate=d.isoformat(), currency=o["currency"],
                 voids=o["bill_id"])
        return "bills", b

    def phase(self, year: int, n: int) -> list:
        out: list = []
        while len(out) < n:
            r = self.rnd.random()
            if r < 0.55:
                out.append(self.new_posting(year))
            elif r < 0.85:
                out.append(self.new_bill(year))
            elif r < 0.95:
                c = self.correction(self.rnd.choice(self.members), year)
                if c:
                    out.append(c)
            else:
                v = self.void(self.rnd.choice(self.members), year)
                if v:
                    out.append(v)
        # a few corrections published BEFORE their originals (held AWAITING_ORIGINAL)
        for _ in range(6):
            m = self.rnd.choice([x for x in self.members if x not in self.late])
            d = self.day(year).isoformat()
            orig = ("postings", posting(self.next_id("PS"), m, self.money("JPY", 20000, 90000), nights=2,
                                        hotel="OKURA-KYOTO", bdate=d))
            self.postings[m].append(orig[1])
            corr = self.correction_of(orig[1], year)
            out.insert(self.rnd.randrange(0, len(out)), corr)
            out.append(orig)
        return out

    def correction_of(self, o: dict, year: int) -> tuple[str, dict]:
        self.corrected[o["posting_id"]] = self.corrected.get(o["posting_id"], 0) + 1
        amount = Decimal(o["amount"])
        p = posting(self.next_id("PC"), o["member_id"], str(-(amount / 2).quantize(Decimal("1"))),
                    category=o["category"], nights=1, channel=o["booking_channel"], hotel=o["hotel_code"],
                    bdate=o["business_date"], currency=o["currency"], corrects=o["posting_id"])
        return "postings", p

    def enrollments(self, members) -> list:
        return [("enrollments", enrollment(m, self.enrolled_on[m].isoformat(),
                                           "CLOSED" if m in self.closed else "ACTIVE")) for m in members]


def build(seed: int = 20261125, n_members: int = 50, per_phase: int = 1050) -> Scenario:
    g = _Gen(seed, n_members)
    s = Scenario(members=list(g.members))
    s.fx_initial = usd_rates()
    early = [m for m in g.members if m not in g.late]
    a = g.phase(2025, per_phase)
    s.phase_a = g.enrollments(early) + a
    s.phase_a_late = g.enrollments(sorted(g.late)) + eur_rates()
    s.phase_b = g.phase(2026, per_phase)
    return s
