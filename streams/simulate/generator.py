"""The seeded generator of realistic PMS/POS traffic, shared by `harmony simulate` (streams/simulate/run.py)
and `harmony bench`.

What it generates, for ``members`` members and ``events`` charge events (PMS postings + POS bills):

* enrollments: every member, enrolled 1-1500 days before the first business date (0.3 % CLOSED);
* FX rates: one a day (a small random walk) for every foreign currency of the configured hotels
  (config/program.toml: CNY, USD, THB, EUR), from a few days before the first business date to the
  last one, so no charge waits for a rate;
* charges in business-date order over ``days`` days, across the configured hotels (weighted: the
  big Japanese hotels most, the overseas ones ~15 %, the non-participating one a little):
  about 64 % PMS postings (rooms, F&B and other services posted to the folio, tax, service charge,
  shopping arcade) and 36 % POS bills (restaurant/bar bills with food, beverage, service-charge and
  tax lines; a few shopping-arcade bills; a few paid partly with points). About 20 % are excluded
  by category (tax, service charge, shopping arcade); ~15 % of stays are booked through travel
  agencies; overseas hotels post in local currency; ~4 % of charges have no member (walk-in
  guests, keyed by reservation/bill id); ~1.5 % of postings correct an earlier posting of the same
  member (full or partial, negative amount), ~0.7 % of bills void an earlier bill;
* member activity is Zipf-like (weight of the member of rank r ∝ r^-0.8, ranks shuffled over the
  member ids): a few members are very active, most post a few charges or none.

Everything is a function of the seed: the same arguments give the same records (ids included), so a
re-run is a replay the engine must absorb idempotently; another seed gives new ids.
Records are Avro-encoded in bulk with ``schemas.codec.Codec`` before anything is sent, keyed by
member_id (else reservation_id / bill_id; FX by currency); streams/simulate/publish.py sends them as fast
as possible or at a fixed rate. The shares and weights are in streams/simulate/mix.py.
"""
from __future__ import annotations

import bisect
import itertools
import random
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from processors.model import JST
from streams.kafka.fx_key import fx_key
from streams.simulate.messages import SimMessage, Traffic, member_id
from streams.simulate.mix import (
    BASE_RATES,
    CHANNELS,
    CLOSED_SHARE,
    CORRECTION_SHARE,
    FOREIGN_SHARE,
    HOTEL_WEIGHTS,
    NO_MEMBER_SHARE,
    OUTLETS,
    PAID_WITH_POINTS_SHARE,
    POSTING_CATEGORIES,
    POSTING_SHARE,
    RATE_PLANS,
    VOID_SHARE,
    ZIPF_EXPONENT,
    WeightedPick,
)
from streams.simulate.summary import describe

__all__ = ["Generator"]

CENT = Decimal("0.01")
UNIT = Decimal("1")


@dataclass(slots=True)
class _Original:
    """What a later correction / void needs of an earlier charge."""
    sid: str
    hotel: str
    currency: str
    bdate: date
    payload: tuple


class Generator:
    """Seeded traffic. ``enrollments()``, ``fx_rates()`` once; ``charges(n)`` as often as needed
    (the stream continues: ids and business dates go on, corrections refer to earlier charges)."""

    def __init__(self, members: int, events: int, *, seed: int = 1, start: date = date(2026, 4, 1),
                 days: int = 180, config=None, codec=None, zipf: float = ZIPF_EXPONENT):
        if members < 1:
            raise ValueError("members must be >= 1")
        if config is None:
            from streams.runtime.config_file import load_config
            from streams.runtime.settings import Settings
            config = load_config(Settings().config_path)
        if codec is None:
            from schemas.codec import Codec
            codec = Codec()
        self.cfg = config
        self.codec = codec
        self.members = members
        self.events = max(events, 1)  # the planned total, for the business-date progression
        self.seed = seed
        self.start = start
        self.days = max(days, 1)
        self.rnd = random.Random(seed)
        self.stats: Counter = Counter()
        self.n = 0  # charges generated so far
        self._posting_no = itertools.count(1)
        self._bill_no = itertools.count(1)
        self._originals: dict[str, _Original] = {}  # member -> last correctable posting / bill
        self._hotels = sorted(config.hotels.values(), key=lambda h: h.code)
        self.currencies = sorted({h.currency for h in self._hotels if h.currency != "JPY"})
        self._rates = self._rate_walk()
        self._pick_hotel = WeightedPick(self._hotel_weights(), self.rnd)
        self._pick_category = WeightedPick(POSTING_CATEGORIES, self.rnd)
        self._pick_channel = WeightedPick(CHANNELS, self.rnd)
        self._pick_plan = WeightedPick(RATE_PLANS, self.rnd)
        self._pick_outlet = WeightedPick(OUTLETS, self.rnd)
        # Zipf-like activity: rank r has weight r^-s; ranks are shuffled over the member ids
        ranks = list(range(members))
        random.Random(seed + 7919).shuffle(ranks)
        self._rank_member = ranks
        self._zipf_cum = list(itertools.accumulate((r + 1) ** -zipf for r in range(members)))
        self._zipf_total = self._zipf_cum[-1]
        self._prefix = f"S{seed}"

    # ------------------------------------------------------------------ setup records
    def _hotel_weights(self) -> list[tuple[object, float]]:
        home = [(h, HOTEL_WEIGHTS.get(h.code, 1.0)) for h in self._hotels if h.currency == "JPY"]
        away = [(h, HOTEL_WEIGHTS.get(h.code, 1.0)) for h in self._hotels if h.currency != "JPY"]
        if not away:
            return home
        home_total = sum(w for _, w in home) or 1.0
        away_total = sum(w for _, w in away)
        scale = FOREIGN_SHARE / (1 - FOREIGN_SHARE) * home_total / away_total
        return home + [(h, w * scale) for h, w in away]

    def _rate_walk(self) -> dict[str, dict[date, Decimal]]:
        rnd = random.Random(self.seed + 104729)
        out: dict[str, dict[date, Decimal]] = {}
        first = self.start - timedelta(days=3)
        for cur in self.currencies:
            rate = BASE_RATES.get(cur, Decimal("100"))
            series = {}
            for d in range(self.days + 4):
                rate = (rate * Decimal(str(round(1 + rnd.gauss(0, 0.003), 6)))).quantize(Decimal("0.000001"))
                series[first + timedelta(days=d)] = rate
            out[cur] = series
        return out

    def enrollments(self) -> list[SimMessage]:
        rnd = random.Random(self.seed + 31)
        encode = self.codec.encode
        out = []
        for i in range(self.members):
            mid = member_id(i)
            closed = rnd.random() < CLOSED_SHARE
            rec = {"member_id": mid, "enrolled_on": self.start - timedelta(days=rnd.randint(1, 1500)),
                   "state": "CLOSED" if closed else "ACTIVE"}
            out.append(SimMessage("enrollments", mid.encode(), encode("MemberEnrollment", rec), mid))
            self.stats["enrollments CLOSED"] += closed
        self.stats["enrollments"] += len(out)
        return out

    def fx_rates(self) -> list[SimMessage]:
        encode = self.codec.encode
        out = []
        for cur, series in self._rates.items():
            for d, rate in series.items():
                rec = {"currency": cur, "rate_date": d, "jpy_per_unit": rate}
                out.append(SimMessage("fx", fx_key(cur, d).encode(), encode("FxRate", rec)))
        self.stats["fx rates"] += len(out)
        return out

    def rate(self, currency: str, d: date) -> Decimal:
        series = self._rates[currency]
        return series.get(d) or series[max(x for x in series if x <= d)]

    # ------------------------------------------------------------------ charges
    def _member(self) -> str:
        r = bisect.bisect_right(self._zipf_cum, self.rnd.random() * self._zipf_total)
        return member_id(self._rank_member[min(r, self.members - 1)])

    def business_date(self) -> date:
        """The business date of the next charge (they advance evenly over ``days`` for ``events`` charges)."""
        day = min(self.n * self.days // self.events, self.days - 1)
        return self.start + timedelta(days=day)

    def _money(self, jpy: float, currency: str, bdate: date) -> Decimal:
        """An amount in ``currency`` worth about ``jpy`` yen (whole yen, or cents abroad)."""
        if currency == "JPY":
            return Decimal(int(round(jpy, -1) or 10))
        local = Decimal(jpy) / self.rate(currency, bdate)
        return max(local.quantize(CENT), CENT)

    def charges(self, n: int) -> list[SimMessage]:
        out = []
        rnd = self.rnd
        for _ in range(n):
            if rnd.random() < POSTING_SHARE:
                out.append(self._posting())
            else:
                out.append(self._bill())
            self.n += 1
        return out

    def _posting(self) -> SimMessage:
        rnd, st = self.rnd, self.stats
        mid = None if rnd.random() < NO_MEMBER_SHARE else self._member()
        bdate = self.business_date()
        if mid is not None and rnd.random() < CORRECTION_SHARE:
            orig = self._originals.get(mid)
            if orig is not None and orig.sid.startswith("P:"):
                del self._originals[mid]
                return self._correction(mid, orig, bdate)
        hotel = self._pick_hotel()
        currency = hotel.currency if hotel.currency == "JPY" or rnd.random() < 0.9 else "JPY"
        category = self._pick_category()
        nights, channel, plan = 0, self._pick_channel(), None
        if category == "ROOM":
            nights = 1 if rnd.random() < 0.55 else rnd.randint(2, 5)
            plan = self._pick_plan()
            jpy = rnd.lognormvariate(10.3, 0.45) * nights  # ~30k yen a night
            st[f"ROOM via {channel}"] += 1
            if plan:
                st[f"ROOM rate plan {plan}"] += 1
        elif category == "FOOD_BEVERAGE":
            jpy = rnd.lognormvariate(8.8, 0.6)
        elif category == "OTHER_SERVICE":
            jpy = rnd.lognormvariate(9.0, 0.7)
        elif category in ("TAX", "SERVICE_CHARGE"):
            jpy = rnd.lognormvariate(8.3, 0.6)
        else:  # SHOPPING_ARCADE
            jpy = rnd.lognormvariate(9.5, 0.8)
        no = next(self._posting_no)
        pid = f"{self._prefix}-P{no:09d}"
        rid = f"{self._prefix}-R{(no + 2) // 3:09d}"  # a few postings share a reservation
        amount = self._money(jpy, currency, bdate)
        rec = {"posting_id": pid, "hotel_code": hotel.code, "reservation_id": rid, "member_id": mid,
               "business_date": bdate, "posted_at": self._instant(bdate), "category": category,
               "amount": amount, "currency": currency, "nights": nights, "booking_channel": channel,
               "rate_plan": plan, "corrects_posting_id": None}
        st["postings"] += 1
        st[f"posting {category}"] += 1
        self._count_common(mid, hotel, currency, category in ("TAX", "SERVICE_CHARGE", "SHOPPING_ARCADE"))
        sid = "P:" + pid
        if mid is not None and category in ("ROOM", "FOOD_BEVERAGE", "OTHER_SERVICE"):
            self._originals[mid] = _Original(sid, hotel.code, currency, bdate,
                                             (rid, category, amount, nights, channel, plan))
        return SimMessage("postings", (mid or rid).encode(), self.codec.encode("FolioPosting", rec), mid, sid)

    def _correction(self, mid: str, orig: _Original, bdate: date) -> SimMessage:
        rid, category, amount, nights, channel, plan = orig.payload
        full = self.rnd.random() < 0.6
        part = amount if full else (amount / 2).quantize(CENT if orig.currency != "JPY" else UNIT)
        no = next(self._posting_no)
        pid = f"{self._prefix}-P{no:09d}"
        rec = {"posting_id": pid, "hotel_code": orig.hotel, "reservation_id": rid, "member_id": mid,
               "business_date": max(bdate, orig.bdate), "posted_at": self._instant(max(bdate, orig.bdate)),
               "category": category, "amount": -part, "currency": orig.currency,
               "nights": nights if full else 0, "booking_channel": channel, "rate_plan": plan,
               "corrects_posting_id": orig.sid[2:]}
        self.stats["postings"] += 1
        self.stats["posting corrections" + (" (full)" if full else " (partial)")] += 1
        self.stats["with member"] += 1
        if orig.currency != "JPY":
            self.stats["foreign currency"] += 1
        return SimMessage("postings", mid.encode(), self.codec.encode("FolioPosting", rec), mid, "P:" + pid)

    def _bill(self) -> SimMessage:
        rnd, st = self.rnd, self.stats
        mid = None if rnd.random() < NO_MEMBER_SHARE else self._member()
        bdate = self.business_date()
        no = next(self._bill_no)
        bid = f"{self._prefix}-B{no:09d}"
        if mid is not None and rnd.random() < VOID_SHARE:
            orig = self._originals.get(mid)
            if orig is not None and orig.sid.startswith("B:"):
                del self._originals[mid]
                outlet_code, outlet_type, lines, paid = orig.payload
                rec = {"bill_id": bid, "hotel_code": orig.hotel, "outlet_code": outlet_code,
                       "outlet_type": outlet_type, "member_id": mid, "business_date": max(bdate, orig.bdate),
                       "closed_at": self._instant(max(bdate, orig.bdate)), "currency": orig.currency,
                       "lines": [{"kind": k, "amount": -a} for k, a in lines], "paid_with_points_amount": paid,
                       "voids_bill_id": orig.sid[2:]}
                st["bills"] += 1
                st["bill voids"] += 1
                st["with member"] += 1
                if orig.currency != "JPY":
                    st["foreign currency"] += 1
                return SimMessage("bills", mid.encode(), self.codec.encode("PosBill", rec), mid, "B:" + bid)
        hotel = self._pick_hotel()
        currency = hotel.currency if hotel.currency == "JPY" or rnd.random() < 0.9 else "JPY"
        outlet = self._pick_outlet()
        if outlet == "SHOPPING_ARCADE":
            lines = [("OTHER", self._money(rnd.lognormvariate(9.3, 0.8), currency, bdate))]
        else:
            lines = []
            if outlet == "RESTAURANT" or rnd.random() < 0.3:
                lines.append(("FOOD", self._money(rnd.lognormvariate(8.7, 0.6), currency, bdate)))
            if outlet == "BAR" or rnd.random() < 0.6:
                lines.append(("BEVERAGE", self._money(rnd.lognormvariate(7.9, 0.6), currency, bdate)))
            if outlet == "OTHER":
                lines.append(("OTHER", self._money(rnd.lognormvariate(8.5, 0.6), currency, bdate)))
            base = sum(a for _, a in lines)
            q = CENT if currency != "JPY" else UNIT
            if rnd.random() < 0.7:
                lines.append(("SERVICE_CHARGE", (base / 10).quantize(q)))
            lines.append(("TAX", (base / 10).quantize(q)))
        paid = Decimal(0)
        if mid is not None and rnd.random() < PAID_WITH_POINTS_SHARE:
            paid = self._money(rnd.choice((500, 1000, 1500, 2000)), currency, bdate)
            st["bills paid partly with points"] += 1
        outlet_code = f"{outlet[:3]}-{rnd.randint(1, 3)}"
        rec = {"bill_id": bid, "hotel_code": hotel.code, "outlet_code": outlet_code, "outlet_type": outlet,
               "member_id": mid, "business_date": bdate, "closed_at": self._instant(bdate), "currency": currency,
               "lines": [{"kind": k, "amount": a} for k, a in lines], "paid_with_points_amount": paid,
               "voids_bill_id": None}
        st["bills"] += 1
        st[f"bill {outlet}"] += 1
        st["bill lines"] += len(lines)
        st["bill lines excluded (tax, service charge)"] += sum(1 for k, _ in lines if k in ("TAX", "SERVICE_CHARGE"))
        self._count_common(mid, hotel, currency, outlet == "SHOPPING_ARCADE")
        sid = "B:" + bid
        if mid is not None and outlet != "SHOPPING_ARCADE":
            self._originals[mid] = _Original(sid, hotel.code, currency, bdate, (outlet_code, outlet, lines, paid))
        return SimMessage("bills", (mid or bid).encode(), self.codec.encode("PosBill", rec), mid, sid)

    def _count_common(self, mid, hotel, currency: str, excluded: bool) -> None:
        st = self.stats
        st["with member" if mid else "no member (walk-in)"] += 1
        if currency != "JPY":
            st["foreign currency"] += 1
        if excluded:
            st["excluded category (tax, service charge, arcade)"] += 1
        if not hotel.participating:
            st["non-participating hotel"] += 1

    def _instant(self, bdate: date) -> datetime:
        minute = self.rnd.randint(7 * 60, 23 * 60 + 59)
        return datetime(bdate.year, bdate.month, bdate.day, minute // 60, minute % 60, tzinfo=JST)

    # ------------------------------------------------------------------ all at once
    def traffic(self, charges: int | None = None) -> Traffic:
        return Traffic(self.fx_rates(), self.enrollments(), self.charges(self.events if charges is None else charges))

    def summary(self, charges: Iterable[SimMessage] = ()) -> list[str]:
        """Human-readable lines about what was generated (streams/simulate/summary.py)."""
        return describe(self.stats, self.members, charges)
