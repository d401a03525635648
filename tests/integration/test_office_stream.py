"""Adjustments and missing-points claims through Kafka and Redis: balances, lots, debt and qualifying
exactly as program-rules §4a says, bad requests REJECTED with a reason, replays change nothing,
`harmony rebuild` reproduces them."""
from __future__ import annotations

from datetime import date, datetime, timedelta

from processors.model import JST
from streams.runtime.rebuild import rebuild
from streams.web.member_view import member_json
from tests.harness import Publisher, RunningWorker, bill, decoded, enrollment, posting, settings_for, wait_processed
from tests.office_support import adjustment, claim, member_state

# dates relative to today: the engine's clock (real time here) decides the claim window
TODAY = datetime.now(JST).date()
BD = TODAY - timedelta(days=20)             # business date of the charges
ENROLLED = (BD - timedelta(days=60)).isoformat()
OLD = (TODAY - timedelta(days=181)).isoformat()  # kept to the end of today, claim window passed
LATE = (BD + timedelta(days=1)).isoformat()  # OF3 enrolls after the charge
LOT = date(BD.year + 3, 1, 31).isoformat()   # charges' lot
ALOT = date(TODAY.year + 3, 1, 31).isoformat()  # adjustments' lot (their business date is today)
AT = f"{TODAY.isoformat()}T09:00:00+09:00"


def _at(minutes: int) -> str:
    return f"{TODAY.isoformat()}T09:{minutes:02d}:00+09:00"


def _view(w, mid):
    return member_json(w.worker.engine.store, mid, ledger=0)


def _by(records, key):
    return {r[key]: r for r in records}


def _inputs():
    bd = BD.isoformat()
    yield "enrollments", [enrollment("OF1", ENROLLED), enrollment("OF2", ENROLLED), enrollment("OF3", LATE),
                          enrollment("OF4", ENROLLED, state="CLOSED")]
    yield "postings", [posting("OFP-1", "OF1", "35000", bdate=bd),                       # 700, 1 night
                       posting("W-1", None, "50000", bdate=bd),                          # walk-in: kept
                       posting("W-3", None, "10000", category="FOOD_BEVERAGE", bdate=bd),  # kept, 100 points
                       posting("W-OLD", None, "10000", bdate=OLD)]    # window over at claim time
    yield "bills", [bill("WB-1", None, [("FOOD", "12000"), ("TAX", "1200")], bdate=bd)]   # kept, 120 points
    yield "adjustments", [
        adjustment("A1", "OF1", 1000, at=_at(1)),                        # credit: lot of today's year
        adjustment("A2", "OF1", -300, at=_at(2)),                        # debit: soonest lot
        adjustment("A3", "OF1", -5000, at=_at(3)),                       # INSUFFICIENT_POINTS
        adjustment("A6", "OF1", 0, at=AT), adjustment("A7", "OF1", 2_000_000, at=AT),
        adjustment("A8", "OF1", 50, "BRIBE", at=AT), adjustment("A9", "NOBODY", 50, at=AT),
        adjustment("A10", "OF4", 50, at=AT),
        adjustment("A11", "OF2", -400, "CORRECTION", at=_at(4)),         # debt 400
        adjustment("A12", "OF2", 100, "SERVICE_RECOVERY", at=_at(5)),    # repays debt
    ]
    yield "claims", [claim("C1", "OF2", "W-1", AT), claim("C3", "OF2", "NOPE", AT), claim("C4", "OF1", "W-OLD", AT),
                     claim("C5", "OF3", "W-3", AT), claim("C6", "OF1", "B:WB-1", AT), claim("C7", "NOBODY", "W-3", AT)]
    yield "claims", [claim("C2", "OF1", "W-1", AT)]                          # taken by OF2 already
    yield "postings", [posting("W-2", None, "-12500", nights=0, corrects="W-1", bdate=BD.isoformat())]  # → OF2


def _publish_all(pub, s):
    for kind, events in _inputs():
        pub.send_many(kind, events)
        pub.flush()
        wait_processed(s)


def test_adjustments_and_claims_through_kafka(kafka_bootstrap, redis_url, redis_clean, topics, unique):
    s = settings_for(kafka_bootstrap, redis_url, topics, unique)
    pub = Publisher(kafka_bootstrap, topics)
    with RunningWorker(s) as w:
        _publish_all(pub, s)
        of1, of2, of3 = _view(w, "OF1"), _view(w, "OF2"), _view(w, "OF3")
    # OF1: 700 earned + 1000 − 300 (A3 rejected) + 120 (claimed bill) = 1,520; adjustments never qualify
    lots1 = [{"expires_on": LOT, "points": 1520}] if LOT == ALOT else \
        [{"expires_on": LOT, "points": 520}, {"expires_on": ALOT, "points": 1000}]
    assert of1["balance"] == 1520 and of1["lots"] == lots1
    assert of1["qualifying"][str(BD.year)]["points"] == 700 + 120
    # OF2: −400 (CORRECTION into debt), +100 repays debt, claim W-1 earns 1,000 (repaying 300 of debt)
    # and 1 night, then the memberless correction W-2 (−12,500 of 50,000) reverses 250
    assert of2["balance"] == -400 + 100 + 1000 - 250 and of2["debt"] == 0
    assert of2["lots"] == [{"expires_on": LOT, "points": 450}]
    assert of2["qualifying"][str(BD.year)] == {"points": 750, "nights": 1, "carried_points": 0, "carried_nights": 0}
    assert of3["balance"] == 0  # claim before enrollment

    results = _by(decoded(kafka_bootstrap, topics.adjustment_results), "adjustment_id")
    assert {k: (r["outcome"], r["reason"]) for k, r in results.items()} == {
        "A1": ("APPLIED", None), "A2": ("APPLIED", None), "A3": ("REJECTED", "INSUFFICIENT_POINTS"),
        "A6": ("REJECTED", "ZERO_POINTS"), "A7": ("REJECTED", "OVER_LIMIT"), "A8": ("REJECTED", "UNKNOWN_REASON"),
        "A9": ("REJECTED", "UNKNOWN_MEMBER"), "A10": ("REJECTED", "MEMBER_CLOSED"),
        "A11": ("APPLIED", None), "A12": ("APPLIED", None)}
    assert results["A11"]["debt_change"] == 400 and results["A12"]["debt_change"] == -100
    assert results["A1"]["lots"][0]["points"] == 1000 and str(results["A1"]["lots"][0]["expires_on"]) == ALOT

    decisions = decoded(kafka_bootstrap, topics.decisions)
    claims = _by([d for d in decisions if d["decision_id"].startswith("K:")], "decision_id")
    assert {k: (d["outcome"], d["reason"]) for k, d in claims.items()} == {
        "K:C1": ("EARNED", None), "K:C2": ("REJECTED", "ALREADY_CREDITED"), "K:C3": ("REJECTED", "CHARGE_NOT_FOUND"),
        "K:C4": ("REJECTED", "CLAIM_WINDOW_PASSED"), "K:C5": ("REJECTED", "BEFORE_ENROLLMENT"),
        "K:C6": ("EARNED", None), "K:C7": ("REJECTED", "UNKNOWN_MEMBER")}
    assert claims["K:C1"]["base_points"] == 1000 and claims["K:C1"]["member_id"] == "OF2"
    assert claims["K:C1"]["source_id"] == "P:W-1" and claims["K:C1"]["nights"] == 1
    w2 = [d for d in decisions if d["decision_id"] == "P:W-2"]
    assert len(w2) == 1 and w2[0]["member_id"] == "OF2" and w2[0]["reversed_points"] == 250

    ledger = decoded(kafka_bootstrap, topics.ledger)
    adjust = {e["entry_id"]: e for e in ledger if e["type"] == "ADJUST"}
    assert set(adjust) == {"OF1/A:A1/ADJUST", "OF1/A:A2/ADJUST", "OF2/A:A11/ADJUST", "OF2/A:A12/ADJUST"}
    # program-rules §5 with adjustments and claims: balance = Σ distinct ledger entries = Σ lots − debt,
    # lots and debt never both positive, balance_after is the running balance, one outcome per request
    for mid, view in (("OF1", of1), ("OF2", of2), ("OF3", of3)):
        entries = {e["entry_id"]: e for e in ledger if e["member_id"] == mid}
        assert sum(e["points"] for e in entries.values()) == view["balance"]
        assert view["balance"] == sum(lot["points"] for lot in view["lots"]) - view["debt"]
        assert not (view["debt"] > 0 and view["lots"])
        running = 0
        for e in sorted(entries.values(), key=lambda e: [x["entry_id"] for x in ledger].index(e["entry_id"])):
            running += e["points"]
            assert e["balance_after"] == running, e
    assert len([d for d in decisions if d["decision_id"].startswith("K:")]) == len(claims) == 7
    assert all(d["reason"] for d in decisions if d["outcome"] != "EARNED")

    # replay everything: nothing changes; an adjustment id reused with other content is dead-lettered
    before = {mid: member_state(redis_clean, mid) for mid in ("OF1", "OF2", "OF3")}
    with RunningWorker(s):
        _publish_all(pub, s)
        pub.send("adjustments", adjustment("A1", "OF1", 999))
        pub.flush()
        wait_processed(s)
    assert {mid: member_state(redis_clean, mid) for mid in before} == before
    dlq = [m for m in __import__("tests.harness", fromlist=["read_topic"]).read_topic(kafka_bootstrap, topics.dlq)]
    assert any(dict(m.headers())["error"].startswith(b"CONFLICT: A:A1") for m in dlq)

    # harmony rebuild reproduces them (member state, kept charges and claim markers)
    kept = {k: redis_clean.get(k) for k in redis_clean.scan_iter(match="kc:*")}
    assert kept, "memberless charges are kept for claims"
    redis_clean.flushall()
    rebuild(s)
    assert {mid: member_state(redis_clean, mid) for mid in before} == before
    assert {k: redis_clean.get(k) for k in redis_clean.scan_iter(match="kc:*")} == kept
