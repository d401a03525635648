"""An independent model of the member lifecycle, written from program-rules §1–§5 (default
configuration), for the multi-year scenario. It does NOT import ``processors``: every rule is
restated here, on plain ints and dicts, from the text of the rules.

It reads the same JSON input records the test publishes (FolioPosting, PosBill, RedemptionRequest,
MemberEnrollment shapes of interfaces.md) and the same job calls (close-year, expire), in the same
order, and predicts for each member: balance, debt, lots by expiry, qualifying counters per year,
status per program year, the status changes, and each redemption's outcome.

Scope: charges at the hotels listed in ``HOTELS`` (the published rates of those hotels), in JPY
and, at the foreign hotel, in USD at the rate of the business date (``fx``, fed the rates published).

Readings of the rules that the text leaves open (issue 9 and its agreed semantics, SEMANTICS9):
* a correction takes its points from the original's lot first, then from the other lots, soonest
  expiry first, and only what no lot holds becomes debt (negative balance); if the original's lot
  has expired (its validity ended on the scenario's date), only what is left there is taken,
  nothing elsewhere;
* proportions are computed in JPY: a correction in the original's currency converts at the
  original's rate, one in JPY is taken as is, one in USD of a JPY original converts at the rate of
  the original's business date;
* nights removed by a correction: those it states, else the original's nights in proportion
  (floor); all that remain when it corrects all that is left;
* a void with lines corrects its own eligible amount (food, beverage, other lines; a partial
  void), a void without lines the whole bill;
* every credit (earn, bonus, refund) repays debt first;
* a cancellation cannot itself be cancelled (NOT_CANCELLABLE), a request is cancelled at most once;
* year Y stays open for late postings until 1 April Y+1 (``today``: the scenario's clock): a
  posting that changes the counters of Y after close-year Y evaluates Y again, both ways,
  replacing the carry-forward into Y+1 (and Y+1 follows if it was closed); a changed status is
  announced with the id ``<member>/status/<Y>/r<n>``. The year-end run evaluates the members that
  were active in Y or held a status during it; a later posting for a member it did not evaluate is
  that member's first evaluation of Y.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

JST = timezone(timedelta(hours=9))

# §1 earning (points per ¥1,000), per hotel where it overrides the default
DEFAULT_RATES = {"ROOM": 20, "FOOD_BEVERAGE": 10, "OTHER_SERVICE": 10}
HOTELS: dict[str, dict[str, Any]] = {
    "OKURA-TOKYO": {"participating": True, "rates": {}, "ta_per_night": 0},
    "OKURA-FUKUOKA": {"participating": True, "rates": {"ROOM": 30, "FOOD_BEVERAGE": 10}, "ta_per_night": 0},
    "NIKKO-NARITA": {"participating": True, "rates": {}, "ta_per_night": 50},
    "JALCITY-NAHA": {"participating": False, "rates": {}, "ta_per_night": 0},
    "NIKKO-SAIPAN": {"participating": True, "rates": {}, "ta_per_night": 0, "currency": "USD"},
}
FX_MAX_AGE_DAYS = 7
STATUS_FINAL = (4, 1)  # year Y's status takes effect (and Y becomes final) on 1 April Y+1
EARNING_CHANNELS = {"RESERVATION_CENTER", "OFFICIAL_WEBSITE", "DIRECT"}
NIGHT_CHANNELS = EARNING_CHANNELS | {"TRAVEL_AGENCY"}
BONUS_PERCENT = {"REGULAR": 0, "LOYAL": 25, "EXCLUSIVE": 50}
# §2 status: highest first (status, points, nights)
THRESHOLDS = [("EXCLUSIVE", 15_000, 30), ("LOYAL", 5_000, 10)]
# §4 awards: cost per unit; PAY_BY_POINTS per ¥500; channel-restricted upgrades
AWARDS = {"PAY_BY_POINTS": 400, "STAY_STANDARD": 10_000, "STAY_SUPERIOR": 15_000,
          "UPGRADE_STANDARD_TO_SUPERIOR": 1_000, "UPGRADE_SUPERIOR_TO_DELUXE": 4_000,
          "BREAKFAST_ADULT": 2_000, "BREAKFAST_CHILD": 1_100}
UPGRADE_CHANNELS = {"RESERVATION_CENTER", "DIRECT"}


def lot_of(business_date: date) -> date:
    """§3: points earned in calendar year Y are valid until 31 January Y+3."""
    return date(business_date.year + 3, 1, 31)


def program_year(d: date) -> int:
    """§2: a status is valid 1 April – 31 March; the year it starts in names it."""
    return d.year if d.month >= 4 else d.year - 1


def jst_day(instant: str) -> date:
    return datetime.fromisoformat(instant).astimezone(JST).date()


@dataclass
class Original:
    year: int
    lot: date
    amount: Decimal  # JPY it earned with (posting amount converted, or the bill's eligible amount)
    base: int
    bonus: int
    nights: int
    rem_base: int = 0
    rem_bonus: int = 0
    rem_nights: int = 0
    rem_amount: Decimal = Decimal(0)
    currency: str = "JPY"  # of the original posting
    rate: Decimal | None = None  # JPY per unit it was converted at
    business_date: date | None = None


@dataclass
class Redemption:
    points: int
    used: list[tuple[date, int]]
    cancellation: bool = False
    cancelled: bool = False


@dataclass
class OMember:
    member_id: str
    enrolled_on: date | None = None
    state: str = "ACTIVE"
    lots: dict[date, int] = field(default_factory=dict)
    debt: int = 0
    qualifying: dict[int, list[int]] = field(default_factory=dict)  # year -> [points, nights, cp, cn]
    statuses: dict[int, str] = field(default_factory=dict)  # program year -> status
    originals: dict[str, Original] = field(default_factory=dict)
    redemptions: dict[str, Redemption] = field(default_factory=dict)
    results: dict[str, tuple[str, str | None, int]] = field(default_factory=dict)  # request -> outcome
    status_changes: list[tuple[int, str, str]] = field(default_factory=list)  # (year, old, new)
    status_ids: list[str] = field(default_factory=list)  # their event ids
    closed: dict[int, str] = field(default_factory=dict)  # year evaluated -> status attained
    revisions: dict[int, int] = field(default_factory=dict)
    expired_lots: set[date] = field(default_factory=set)  # lots the expiry job has taken
    status_years: set[int] = field(default_factory=set)  # program years it ever held a status for
    ledger: int = 0  # Σ of the ledger entries the rules produce
    repaid: int = 0  # debt paid back by later earnings (to check the scenario covers it)

    @property
    def balance(self) -> int:
        return sum(self.lots.values()) - self.debt

    def q(self, year: int) -> list[int]:
        return self.qualifying.setdefault(year, [0, 0, 0, 0])

    def status_on(self, d: date) -> str:
        return self.statuses.get(program_year(d), "REGULAR")

    # ---- point movements (each one is a ledger entry of the same amount)
    def credit(self, lot: date, points: int) -> None:
        paid = min(self.debt, points)  # §1: later earnings pay the debt back first
        self.debt -= paid
        self.repaid += paid
        if points - paid:
            self.lots[lot] = self.lots.get(lot, 0) + points - paid
        self.ledger += points

    def take_back(self, lot: date, points: int, today: date | None = None) -> None:
        # points that already expired are not reversed again: the lot's validity has ended on the
        # scenario's date (or the expiry job took it), whether or not the job has run yet
        if lot in self.expired_lots or (today is not None and lot < today):
            points = min(points, self.lots.get(lot, 0))
            self.ledger -= points
            if points:
                self.lots[lot] -= points
                if not self.lots[lot]:
                    del self.lots[lot]
            return
        self.ledger -= points
        for d in [lot] + sorted(x for x in self.lots if x != lot):
            taken = min(points, self.lots.get(d, 0))
            if taken:
                self.lots[d] -= taken
                if not self.lots[d]:
                    del self.lots[d]
                points -= taken
        self.debt += points

    def spendable(self, on: date) -> int:
        return sum(p for d, p in self.lots.items() if d >= on) - self.debt


class Oracle:
    def __init__(self):
        self.members: dict[str, OMember] = {}
        self.fx: dict[str, dict[date, Decimal]] = {}  # currency -> rate date -> JPY per unit
        self.today: date | None = None  # the scenario's clock (JST date); None: before any status is final
        self.closed_years: set[int] = set()

    def member(self, member_id: str) -> OMember:
        return self.members.setdefault(member_id, OMember(member_id))

    # ------------------------------------------------------------------ inputs
    def rate(self, r: dict) -> None:
        self.fx.setdefault(r["currency"], {})[date.fromisoformat(r["rate_date"])] = Decimal(r["jpy_per_unit"])

    def rate_on(self, currency: str, bdate: date) -> Decimal | None:
        """§1: the newest rate dated on or before the business date, at most 7 days old."""
        usable = [d for d in self.fx.get(currency, {}) if d <= bdate and (bdate - d).days <= FX_MAX_AGE_DAYS]
        return self.fx[currency][max(usable)] if usable else None

    def enrollment(self, e: dict) -> None:
        m = self.member(e["member_id"])
        m.enrolled_on, m.state = date.fromisoformat(e["enrolled_on"]), e["state"]

    def _can_earn(self, m: OMember, hotel: str, bdate: date) -> bool:
        return (HOTELS[hotel]["participating"] and m.enrolled_on is not None and m.state == "ACTIVE"
                and bdate >= m.enrolled_on)

    def _earn(self, m: OMember, sid: str, bdate: date, base: int, nights: int, amount: Decimal,
              currency: str = "JPY", rate: Decimal | None = None) -> None:
        bonus = base * BONUS_PERCENT[m.status_on(bdate)] // 100
        lot = lot_of(bdate)
        if base:
            m.credit(lot, base)
        if bonus:
            m.credit(lot, bonus)
        m.originals[sid] = Original(bdate.year, lot, amount, base, bonus, nights, base, bonus, nights, amount,
                                    currency, rate, bdate)
        if base or nights:
            q = m.q(bdate.year)
            q[0] += base  # §2: bonus points do not qualify
            q[1] += nights
            self._late(m, bdate.year)

    def posting(self, p: dict) -> None:
        m = self.member(p["member_id"])
        bdate = date.fromisoformat(p["business_date"])
        if not self._can_earn(m, p["hotel_code"], bdate):
            return
        amount = Decimal(p["amount"])
        if p.get("corrects_posting_id") and amount < 0:
            self._correct_posting(m, p, amount)
            return
        hotel = HOTELS[p["hotel_code"]]
        rates = {**DEFAULT_RATES, **hotel["rates"]}
        currency, rate = p["currency"], None
        amount_jpy = amount
        if currency != "JPY":
            rate = self.rate_on(currency, bdate)
            assert rate is not None, f"the scenario publishes a rate for every foreign charge: {p}"
            amount_jpy = amount * rate
        cat = p["category"]
        if cat in ("TAX", "SERVICE_CHARGE", "SHOPPING_ARCADE"):
            return
        sid = "P:" + p["posting_id"]
        if cat != "ROOM":
            self._earn(m, sid, bdate, int(amount_jpy * rates[cat] // 1000), 0, amount_jpy, currency, rate)
            return
        channel, nights = p["booking_channel"], p["nights"]
        counted = nights if channel in NIGHT_CHANNELS else 0
        if channel in EARNING_CHANNELS:
            base = int(amount_jpy * rates["ROOM"] // 1000)
        elif channel == "TRAVEL_AGENCY":
            base = hotel["ta_per_night"] * nights
        else:
            base = 0
        if base or counted:
            self._earn(m, sid, bdate, base, counted, amount_jpy, currency, rate)

    def bill(self, b: dict) -> None:
        m = self.member(b["member_id"])
        bdate = date.fromisoformat(b["business_date"])
        if not self._can_earn(m, b["hotel_code"], bdate) or b["outlet_type"] == "SHOPPING_ARCADE":
            return
        eligible_lines = sum((Decimal(x["amount"]) for x in b["lines"] if x["kind"] in ("FOOD", "BEVERAGE", "OTHER")),
                             Decimal(0))
        if b.get("voids_bill_id"):
            o = m.originals.get("B:" + b["voids_bill_id"])
            # a void without lines voids the whole bill; with lines, its own eligible amount (partial)
            corrected = None if not b["lines"] else abs(eligible_lines)
            if o is not None:
                self._correct(m, o, corrected, 0)
            return
        food = sum(int(x["amount"]) for x in b["lines"] if x["kind"] in ("FOOD", "BEVERAGE"))
        eligible = max(food - int(b["paid_with_points_amount"]), 0)  # paid with points earns nothing
        if eligible > 0:
            rates = {**DEFAULT_RATES, **HOTELS[b["hotel_code"]]["rates"]}
            self._earn(m, "B:" + b["bill_id"], bdate, eligible * rates["FOOD_BEVERAGE"] // 1000, 0,
                       Decimal(eligible))

    def _correct_posting(self, m: OMember, p: dict, amount: Decimal) -> None:
        o = m.originals.get("P:" + p["corrects_posting_id"])
        if o is None:
            return
        currency = p["currency"]
        if currency == "JPY":
            corrected = -amount  # yen as is
        elif currency == o.currency:
            assert o.rate is not None, "a foreign original keeps its rate"
            corrected = -amount * o.rate  # the original's own rate
        else:  # a foreign correction of a JPY original: the rate of the original's business date
            assert o.business_date is not None, "an original posting keeps its business date"
            rate = self.rate_on(currency, o.business_date)
            assert rate is not None, "the scenario keeps the rates of every business date"
            corrected = -amount * rate
        self._correct(m, o, corrected, abs(p["nights"]))

    def _correct(self, m: OMember, o: Original, corrected: Decimal | None, stated_nights: int) -> None:
        """Reverse ``corrected`` JPY of original ``o`` (None: all of it)."""
        if o.rem_base + o.rem_bonus + o.rem_nights == 0:
            return
        if corrected is None or corrected >= o.rem_amount:
            base, bonus, nights_back = o.rem_base, o.rem_bonus, o.rem_nights
            o.rem_amount = Decimal(0)
        else:  # in proportion to the original, floor toward zero, never more than what is left
            base = min(int(o.base * corrected // o.amount), o.rem_base)
            bonus = min(int(o.bonus * corrected // o.amount), o.rem_bonus)
            by_share = int(o.nights * corrected // o.amount)
            nights_back = min(o.rem_nights, stated_nights if stated_nights else by_share)
            o.rem_amount -= corrected
        o.rem_base -= base
        o.rem_bonus -= bonus
        o.rem_nights -= nights_back
        q = m.q(o.year)
        q[0] -= base
        q[1] -= nights_back
        if base + bonus:
            m.take_back(o.lot, base + bonus, self.today)
        if base or nights_back:
            self._late(m, o.year)

    def redemption(self, r: dict) -> None:
        m = self.member(r["member_id"])
        rid = r["request_id"]
        if rid in m.results:
            return  # a request is processed once
        on = jst_day(r["requested_at"])

        def reject(reason: str) -> None:
            m.results[rid] = ("REJECTED", reason, 0)

        if m.enrolled_on is None:
            return reject("UNKNOWN_MEMBER")
        if m.state == "CLOSED":
            return reject("MEMBER_CLOSED")
        if r["award"] == "CANCEL":
            orig = m.redemptions.get(r["cancels_request_id"] or "")
            if r["cancels_request_id"] not in m.results:
                return reject("UNKNOWN_REQUEST")
            if orig is None or orig.cancellation:
                return reject("NOT_CANCELLABLE")
            if orig.cancelled:
                return reject("ALREADY_CANCELLED")
            orig.cancelled = True
            restored = [(d, p) for d, p in orig.used if d >= on]
            forfeited = sum(p for d, p in orig.used if d < on)  # the lot expired meanwhile
            for d, p in restored:  # a refund is a credit: it repays debt first
                m.credit(d, p)
            m.ledger += orig.points - forfeited - sum(p for _, p in restored)  # REFUND all, EXPIRE the forfeited
            m.redemptions[rid] = Redemption(orig.points, restored, cancellation=True)
            m.results[rid] = ("APPROVED", None, orig.points)
            return
        award = r["award"]
        if award not in AWARDS:
            return reject("UNKNOWN_AWARD")
        if award == "PAY_BY_POINTS":
            amount = r["amount_jpy"]
            if amount is None or int(amount) <= 0 or int(amount) % 500:
                return reject("INVALID_AMOUNT")
            cost = AWARDS[award] * (int(amount) // 500)
        else:
            if not 1 <= r["quantity"] <= 99:
                return reject("INVALID_QUANTITY")
            if award.startswith("UPGRADE_") and r["booking_channel"] not in UPGRADE_CHANNELS:
                return reject("CHANNEL_NOT_ELIGIBLE")
            cost = AWARDS[award] * r["quantity"]
        if cost > m.spendable(on):
            return reject("INSUFFICIENT_POINTS")
        used, left = [], cost
        for d in sorted(d for d in m.lots if d >= on):  # soonest expiry first, expired lots never
            taken = min(left, m.lots[d])
            if taken:
                used.append((d, taken))
                m.lots[d] -= taken
                if not m.lots[d]:
                    del m.lots[d]
                left -= taken
        m.ledger -= cost
        m.redemptions[rid] = Redemption(cost, used)
        m.results[rid] = ("APPROVED", None, cost)

    # ------------------------------------------------------------------ jobs
    def _open(self, year: int) -> bool:
        return self.today is None or self.today < date(year + 1, *STATUS_FINAL)

    def _late(self, m: OMember, year: int) -> None:
        """A posting changed the counters of ``year``: evaluated again if already closed and still open."""
        if (year in m.closed or year in self.closed_years) and self._open(year):
            self._evaluate(m, year)

    def _evaluate(self, m: OMember, year: int) -> None:
        q = m.qualifying.get(year, [0, 0, 0, 0])
        points, nights = q[0] + q[2], q[1] + q[3]
        new, carried_points, carried_nights = "REGULAR", 0, 0
        for status, tp, tn in THRESHOLDS:
            if points >= tp or nights >= tn:
                new = status
                carried_points = points - tp if points >= tp else 0
                carried_nights = nights - tn if nights >= tn else 0
                break
        revision = year in m.closed
        old = m.closed[year] if revision else m.statuses.get(year, "REGULAR")
        m.closed[year] = new
        if new != "REGULAR":
            m.statuses[year + 1] = new
            m.status_years.add(year + 1)
        else:
            m.statuses.pop(year + 1, None)
        nxt = m.qualifying.get(year + 1, [0, 0, 0, 0])
        carry_changed = (nxt[2], nxt[3]) != (carried_points, carried_nights)
        if carry_changed:
            nq = m.q(year + 1)
            nq[2], nq[3] = carried_points, carried_nights  # replaces what an earlier evaluation carried
        if new != old:
            m.status_changes.append((year, old, new))
            if revision:
                m.revisions[year] = m.revisions.get(year, 0) + 1
                m.status_ids.append(f"{m.member_id}/status/{year}/r{m.revisions[year]}")
            else:
                m.status_ids.append(f"{m.member_id}/status/{year}")
        if carry_changed:
            self._late(m, year + 1)

    def close_year(self, year: int) -> None:
        """The year-end run: members active in ``year`` or holding a status during it."""
        self.closed_years.add(year)
        for m in self.members.values():
            if m.enrolled_on is None or not (year in m.qualifying or year in m.status_years):
                continue
            if year not in m.closed or self._open(year):
                self._evaluate(m, year)

    def expire(self, as_of: date) -> None:
        for m in self.members.values():
            for d in [d for d in m.lots if d < as_of]:  # valid through the whole expiry day
                m.ledger -= m.lots.pop(d)
            m.expired_lots.update(d for d in {lot_of(date(y, 6, 1)) for y in range(2024, 2032)} if d < as_of)

    # ------------------------------------------------------------------ expectations
    def expected(self, member_id: str) -> dict:
        m = self.members[member_id]
        return {
            "balance": m.balance, "debt": m.debt,
            "lots": {d.isoformat(): p for d, p in sorted(m.lots.items()) if p},
            "qualifying": {y: tuple(q) for y, q in sorted(m.qualifying.items()) if any(q)},
            "statuses": dict(sorted(m.statuses.items())),
        }
