"""Property test of the member aggregate (issue 9): random lifecycles, invariants after every step.

Hypothesis draws sequences of: earnings (stays in JPY at Tokyo, in USD and in JPY at the USD hotel
Nikko Saipan, POS bills), corrections (full, partial, zero; in USD and JPY at Saipan; some of a
correction), POS voids (partial, full), redemptions, cancellations (some of a cancellation),
the clock moving on (late postings: business dates up to ~400 days back, across year ends), expiry
and close-year, all through ``processors.member.Member`` as the engine calls it. After every step:

* balance = Σ ledger entries (deduplicated by entry id) = Σ lots − debt (program-rules §5);
* lots and debt never both positive;
* qualifying counters never negative;
* every decision that is not EARNED / APPROVED carries a reason;
* ``balance_after`` of each new ledger entry is the balance right after it;
* replaying the input just applied (same id and content) changes nothing;
and at the end replaying a drawn prefix of all inputs changes nothing.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from processors.fx import FxTable
from processors.member import Context, Member
from processors.model import JST, BillLine, FolioPosting, FxRate, MemberEnrollment, PosBill, RedemptionRequest
from processors.outcomes import Effects
from tests.unit.test_member_aggregate import CFG, PMS, POS, _fp, snapshot, step

D = Decimal
START = date(2026, 1, 5)
ENROLLED = date(2026, 1, 1)
FX = FxTable()
for _i in range(460):  # a USD rate every 5 days, 2025-12-25 .. 2032
    FX.add(FxRate("USD", date(2025, 12, 25) + timedelta(days=5 * _i), D(140) + D(_i % 37) / 4))

money_jpy = st.integers(0, 120_000)
money_usd = st.integers(0, 80_000)  # cents

earn = st.tuples(st.just("earn"), st.sampled_from(["tokyo", "saipan_usd", "saipan_jpy", "bill"]),
                 st.integers(1_000, 200_000), st.integers(0, 4), st.integers(0, 400))
correct = st.tuples(st.just("correct"), st.sampled_from([0, 0, 0, 1, 2, 5]), st.sampled_from(["JPY", "USD"]),
                    st.integers(0, 120_000), st.integers(0, 3), st.booleans())
redeem = st.tuples(st.just("redeem"), st.sampled_from(["BREAKFAST_CHILD", "BREAKFAST_ADULT", "UPGRADE",
                                                       "PAY_BY_POINTS"]), st.integers(1, 4))
cancel = st.tuples(st.just("cancel"), st.sampled_from([0, 0, 1, 3]))
spend = st.tuples(st.just("spend"))  # as much as the balance allows (then a full correction makes debt)
tick = st.tuples(st.just("tick"), st.sampled_from([1, 30, 200, 365, 500]))
job = st.tuples(st.sampled_from(["expire", "close"]))
action = st.one_of(earn, earn, earn, correct, correct, correct, redeem, spend, spend, cancel, cancel, tick, job)


class Run:
    def __init__(self):
        self.m = Member("M1")
        self.clock = START
        self.closed: set[int] = set()
        self.inputs: list[tuple] = []  # (kind, event, fingerprint)
        self.charges: list[FolioPosting | PosBill] = []
        self.requests: list[str] = []
        self.ledger: dict[str, int] = {}
        self.n = 0
        self.m.handle_enrollment(MemberEnrollment("M1", ENROLLED, "ACTIVE"), self.ctx())
        step(self.m)

    def ctx(self) -> Context:
        return Context(CFG, FX, datetime(self.clock.year, self.clock.month, self.clock.day, 12, tzinfo=JST),
                       frozenset(self.closed))

    def _id(self, p: str) -> str:
        self.n += 1
        return f"{p}{self.n}"

    def posting(self, hotel, bdate, category, amount, currency, nights, corrects=None):
        pid = self._id("C" if corrects else "P")
        return FolioPosting(pid, hotel, f"R-{pid}", "M1", bdate, datetime(bdate.year, bdate.month, bdate.day, 12,
                            tzinfo=JST), category, amount, currency, nights, "DIRECT", None, corrects)

    def bill(self, bdate, lines, voids=None, currency="JPY"):
        bid = self._id("V" if voids else "B")
        return PosBill(bid, "OKURA-TOKYO", "OUT1", "RESTAURANT", "M1", bdate,
                       datetime(bdate.year, bdate.month, bdate.day, 20, tzinfo=JST), currency,
                       tuple(BillLine("FOOD", D(a)) for a in lines), D(0), voids)

    # ---------------------------------------------------------------- actions
    def apply(self, a: tuple) -> None:
        kind = a[0]
        step(self.m)
        if kind == "earn":
            _, where, amount, nights, back = a
            bdate = max(ENROLLED, self.clock - timedelta(days=back))
            if where == "bill":
                ev = self.bill(bdate, [str(amount)])
            elif where == "tokyo":
                ev = self.posting("OKURA-TOKYO", bdate, "ROOM", D(amount), "JPY", nights)
            elif where == "saipan_jpy":
                ev = self.posting("NIKKO-SAIPAN", bdate, "ROOM", D(amount), "JPY", nights)
            else:
                ev = self.posting("NIKKO-SAIPAN", bdate, "ROOM", D(amount) / 100, "USD", nights)
            self.charge(ev)
        elif kind == "correct":
            _, pick, currency, amount, nights, full = a
            if not self.charges:
                return
            orig = self.charges[-1 - pick % len(self.charges)]  # recent ones most
            if isinstance(orig, PosBill):
                ev = self.bill(self.clock, [] if full else [str(-(amount % 20_000))], voids=orig.bill_id)
            else:
                if orig.hotel_code != "NIKKO-SAIPAN":
                    currency = "JPY"
                value = D(amount) if currency == "JPY" else D(amount) / 100
                if full:
                    value = abs(orig.amount) * 2 if currency == orig.currency else D(10) ** 7
                ev = self.posting(orig.hotel_code, self.clock, "ROOM", -value, currency, nights,
                                  corrects=orig.posting_id)
            self.charge(ev)
        elif kind == "redeem":
            _, award, qty = a
            rid = self._id("R")
            if award == "UPGRADE":
                req = RedemptionRequest(rid, "M1", "UPGRADE_STANDARD_TO_SUPERIOR", qty, None, "OKURA-TOKYO",
                                        "DIRECT", self.at(), None)
            elif award == "PAY_BY_POINTS":
                req = RedemptionRequest(rid, "M1", award, 1, D(500 * qty), "OKURA-TOKYO", None, self.at(), None)
            else:
                req = RedemptionRequest(rid, "M1", award, qty, None, "OKURA-TOKYO", None, self.at(), None)
            self.redeem(req)
        elif kind == "spend":
            units = max(1, (self.m.balance // 400))
            self.redeem(RedemptionRequest(self._id("R"), "M1", "PAY_BY_POINTS", 1, D(500 * units), "OKURA-TOKYO",
                                          None, self.at(), None))
        elif kind == "cancel":
            if not self.requests:
                return
            target = self.requests[-1 - a[1] % len(self.requests)]
            self.redeem(RedemptionRequest(self._id("R"), "M1", "CANCEL", 1, None, "OKURA-TOKYO", None, self.at(),
                                          target))
        elif kind == "tick":
            self.clock = min(self.clock + timedelta(days=a[1]), date(2031, 6, 30))
            self.m.retry_held(self.ctx())
        elif kind == "expire":
            self.m.expire(self.clock)
        elif kind == "close":
            year = self.clock.year - 1
            if year >= 2026:
                self.closed.add(year)
                self.m.close_year(year, CFG, self.clock, frozenset(self.closed))

    def at(self) -> datetime:
        return datetime(self.clock.year, self.clock.month, self.clock.day, 10, tzinfo=JST)

    def charge(self, ev) -> None:
        fp = _fp(ev)
        self.m.handle_charge(ev, PMS if isinstance(ev, FolioPosting) else POS, repr(ev).encode(), fp, self.ctx())
        self.inputs.append(("charge", ev, fp))
        self.charges.append(ev)  # corrections and voids can be corrected too (item 8)

    def redeem(self, req) -> None:
        fp = _fp(req)
        self.m.handle_redemption(req, repr(req).encode(), fp, self.ctx())
        self.inputs.append(("redeem", req, fp))
        self.requests.append(req.request_id)

    def replay(self, kind, ev, fp) -> Effects:
        step(self.m)
        if kind == "charge":
            self.m.handle_charge(ev, PMS if isinstance(ev, FolioPosting) else POS, repr(ev).encode(), fp, self.ctx())
        else:
            self.m.handle_redemption(ev, repr(ev).encode(), fp, self.ctx())
        return self.m.effects

    # ---------------------------------------------------------------- checks
    def check(self) -> None:
        m, eff = self.m, self.m.effects
        for mv in eff.moves:
            if mv.entry_id in self.ledger:
                assert self.ledger[mv.entry_id] == mv.entry.points, mv.entry_id
                continue
            self.ledger[mv.entry_id] = mv.entry.points
            assert mv.entry.balance_after == sum(self.ledger.values()), (mv.entry_id, mv.entry)
        lots = sum(m.lots.by_expiry.values())
        assert m.balance == sum(self.ledger.values()) == lots - m.lots.debt
        assert m.lots.debt >= 0 and all(p > 0 for p in m.lots.by_expiry.values())
        assert not (lots > 0 and m.lots.debt > 0), (m.lots.by_expiry, m.lots.debt)
        for y, q in m.qualifying.items():
            assert min(q.points, q.nights, q.carried_points, q.carried_nights) >= 0, (y, q)
        for d in eff.decisions:
            assert d.outcome == "EARNED" or d.reason, d
        for r in eff.redemptions:
            assert r.outcome == "APPROVED" or r.reason, r
        assert not eff.dead_letters, eff.dead_letters


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(action, min_size=10, max_size=50), st.integers(0, 40))
# issue 9 item 6 as filed: earn, spend it all, full void, cancel the redemption, expire
@example([("earn", "tokyo", 50_000, 1, 0), ("spend",), ("correct", 0, "JPY", 0, 0, True), ("cancel", 0),
          ("tick", 1200), ("expire",)] + [("tick", 1)] * 4, 6)
# item 9: two lots expiring in one run
@example([("earn", "tokyo", 50_000, 1, 0), ("tick", 365), ("earn", "bill", 20_000, 0, 0), ("tick", 500),
          ("tick", 500), ("tick", 500), ("expire",)] + [("tick", 1)] * 3, 3)
def test_random_lifecycles_keep_the_invariants(actions, prefix):
    run = Run()
    for a in actions:
        n = len(run.inputs)
        run.apply(a)
        run.check()
        if len(run.inputs) > n:  # the input just applied, delivered again: nothing changes
            before = snapshot(run.m)
            eff = run.replay(*run.inputs[-1])
            run.check()
            assert snapshot(run.m) == before
            assert all(mv.entry_id in run.ledger for mv in eff.moves)
    before = snapshot(run.m)
    for inp in run.inputs[:prefix]:
        eff = run.replay(*inp)
        run.check()
        assert all(mv.entry_id in run.ledger for mv in eff.moves)
    assert snapshot(run.m) == before
