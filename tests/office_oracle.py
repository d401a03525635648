"""An independent model of adjustments and claims for the multi-year oracle (tests.lifecycle_oracle):
program-rules §4a written again from the rules, importing nothing from processors/ or streams/."""
from __future__ import annotations

from datetime import date

from tests.lifecycle_oracle import Oracle, jst_day, lot_of

REASONS = ("GOODWILL", "SERVICE_RECOVERY", "MIGRATION", "CORRECTION", "OTHER")
LIMIT, WINDOW = 1_000_000, 180


class OfficeOracle:
    def __init__(self, oracle: Oracle):
        self.o = oracle
        self.adjustments: dict[str, tuple[str, str | None, int]] = {}  # id -> (outcome, reason, points)
        self.claims: dict[str, tuple[str, str | None]] = {}  # claim id -> (outcome, reason)
        self.walkins: dict[str, dict] = {}  # P:<id> -> posting published without member id
        self.claimed: dict[str, str] = {}  # P:<id> -> member

    def adjustment(self, a: dict) -> None:
        aid, p = a["adjustment_id"], a["points"]
        if aid in self.adjustments:
            return
        m = self.o.member(a["member_id"])

        def result(outcome: str, reason: str | None = None) -> None:
            self.adjustments[aid] = (outcome, reason, p if outcome == "APPLIED" else 0)
        if a["reason"] not in REASONS:
            return result("REJECTED", "UNKNOWN_REASON")
        if p == 0:
            return result("REJECTED", "ZERO_POINTS")
        if abs(p) > LIMIT:
            return result("REJECTED", "OVER_LIMIT")
        if m.enrolled_on is None:
            return result("REJECTED", "UNKNOWN_MEMBER")
        if m.state == "CLOSED":
            return result("REJECTED", "MEMBER_CLOSED")
        on = jst_day(a["requested_at"])
        if p > 0:
            m.credit(lot_of(on), p)  # debt first, then the lot of the business date's year
            return result("APPLIED")
        need = -p
        usable = m.spendable(on)
        if need > usable and a["reason"] != "CORRECTION":
            return result("REJECTED", "INSUFFICIENT_POINTS")
        take = min(need, max(usable, 0))
        for d in sorted(d for d in m.lots if d >= on):  # soonest-expiring usable lots first
            t = min(take, m.lots[d])
            m.lots[d] -= t
            if not m.lots[d]:
                del m.lots[d]
            take -= t
        m.debt += need - min(need, max(usable, 0))
        m.ledger += p
        result("APPLIED")

    def claim(self, c: dict) -> None:
        cid = c["claim_id"]
        if cid in self.claims:
            return
        mid, sid = c["member_id"], "P:" + c["source_id"]
        m = self.o.member(mid)

        def result(outcome: str, reason: str | None = None) -> None:
            self.claims[cid] = (outcome, reason)
        if m.enrolled_on is None:
            return result("REJECTED", "UNKNOWN_MEMBER")
        if m.state == "CLOSED":
            return result("REJECTED", "MEMBER_CLOSED")
        if self.claimed.get(sid) == mid:
            return result("REJECTED", "ALREADY_CREDITED")
        p = self.walkins.get(sid)
        # a memberless charge is kept until the end of the day after its claim window, on the
        # scenario's clock; after that it (and who claimed it) is forgotten
        today = self.o.today
        if p is None or (today is not None and (today - date.fromisoformat(p["business_date"])).days > WINDOW + 1):
            return result("REJECTED", "CHARGE_NOT_FOUND")
        if sid in self.claimed:
            return result("REJECTED", "ALREADY_CREDITED")
        bd = date.fromisoformat(p["business_date"])
        if (jst_day(c["requested_at"]) - bd).days > WINDOW:
            return result("REJECTED", "CLAIM_WINDOW_PASSED")
        if bd < m.enrolled_on:
            return result("REJECTED", "BEFORE_ENROLLMENT")
        self.claimed[sid] = mid
        self.o.posting(dict(p, member_id=mid))  # exactly what it would have earned with the member on it
        result("EARNED")  # the scenario's walk-ins are DIRECT stays at participating hotels
