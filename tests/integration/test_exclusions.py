"""Every exclusion, hold and rejection of program-rules §1 through Kafka and Redis.

Each member earns a baseline (ROOM ¥35,000, 1 night, DIRECT → 700 points, 1 night in 2026) and then
gets the charge under test; the ChargeDecision on charges.decisions.v1 must carry the outcome and
reason, and the member's balance, lots and qualifying counters must be the baseline's (plus the
nights the rules count, or what a released hold earns).
"""
from __future__ import annotations

import time

from tests.clock import Clock
from tests.harness import (
    Publisher,
    RunningWorker,
    bill,
    decoded,
    enrollment,
    fx_rate,
    posting,
    read_topic,
    settings_for,
    wait_processed,
)
from tests.integration import checks

BASE = 700  # the baseline posting's points
LOT = "2029-01-31"


def baseline(m: str) -> list:
    return [("enrollments", enrollment(m)), ("postings", posting(f"BASE-{m}", m, "35000"))]


def send(pub: Publisher, events) -> None:
    for kind, ev in events:
        pub.send(kind, ev)
    pub.flush()


def state(view: dict | None) -> tuple:
    """(balance, lots, 2026 qualifying points, 2026 nights) of a member view."""
    q = (view or {}).get("qualifying", {}).get("2026", {})
    lots = tuple((lot["expires_on"], lot["points"]) for lot in (view or {}).get("lots", []))
    return (view or {}).get("balance", 0), lots, q.get("points", 0), q.get("nights", 0)


def untouched(nights: int = 1) -> tuple:
    return BASE, ((LOT, BASE),), BASE, nights


def final(ds: list[dict]) -> tuple:
    finals = [d for d in ds if d["outcome"] != "HELD"]
    assert len(finals) == 1, ds
    d = finals[0]
    return d["outcome"], d["reason"]


# (member, charge, expected (outcome, reason), expected nights in 2026 after it)
IMMEDIATE = [
    ("OHX00001", posting("TAX-1", "OHX00001", "3500", category="TAX"), ("EXCLUDED", "TAX"), 1),
    ("OHX00002", posting("SVC-1", "OHX00002", "3500", category="SERVICE_CHARGE"), ("EXCLUDED", "SERVICE_CHARGE"), 1),
    ("OHX00003", posting("ARC-1", "OHX00003", "12000", category="SHOPPING_ARCADE"),
     ("EXCLUDED", "SHOPPING_ARCADE"), 1),
    ("OHX00004", bill("ARCB-1", "OHX00004", [("FOOD", "5000")], outlet_type="SHOPPING_ARCADE"),
     ("EXCLUDED", "SHOPPING_ARCADE"), 1),
    ("OHX00005", posting("NAHA-1", "OHX00005", "35000", nights=2, hotel="JALCITY-NAHA"),
     ("EXCLUDED", "NON_PARTICIPATING_HOTEL"), 1),
    ("OHX00006", posting("TA-1", "OHX00006", "35000", nights=2, channel="TRAVEL_AGENCY"),
     ("EXCLUDED", "CHANNEL_NOT_EARNING"), 3),  # travel agency: nights count, no points
    ("OHX00007", posting("OTH-1", "OHX00007", "35000", nights=2, channel="OTHER"),
     ("EXCLUDED", "CHANNEL_NOT_EARNING"), 1),  # other channel: no night either
    ("OHX00008", posting("PLAN-1", "OHX00008", "35000", nights=2, rate_plan="NO_POINTS"),
     ("EXCLUDED", "RATE_PLAN_NOT_EARNING"), 3),  # booked DIRECT: its nights are eligible room nights
    ("OHX00009", posting("BEF-1", "OHX00009", "35000", bdate="2025-12-31"), ("EXCLUDED", "BEFORE_ENROLLMENT"), 1),
    ("OHX00010", bill("PWP-1", "OHX00010", [("FOOD", "4000"), ("BEVERAGE", "1000"), ("TAX", "500")],
                      paid_with_points="5000"), ("EXCLUDED", "PAID_WITH_POINTS"), 1),
    ("OHX00011", posting("HOTEL-1", "OHX00011", "35000", hotel="NOWHERE-HOTEL"), ("REJECTED", "UNKNOWN_HOTEL"), 1),
    ("OHX00012", posting("CUR-1", "OHX00012", "250", currency="USD"), ("REJECTED", "CURRENCY_MISMATCH"), 1),
    ("OHX00013", posting("NIGHTS-1", "OHX00013", "8000", category="FOOD_BEVERAGE", nights=2),
     ("REJECTED", "INVALID_NIGHTS"), 1),
    ("OHX00014", posting("AMT-1", "OHX00014", "-3000", category="FOOD_BEVERAGE"), ("REJECTED", "INVALID_AMOUNT"), 1),
]


def test_exclusions_holds_and_rejections(kafka_bootstrap, redis_url, redis_clean, topics, unique):
    s = settings_for(kafka_bootstrap, redis_url, topics, unique)
    pub = Publisher(kafka_bootstrap, topics)
    members = [m for m, *_ in IMMEDIATE] + ["OHX00020", "OHX00021", "OHX00030", "OHX00040"]
    phase1 = [e for m in members if m != "OHX00030" for e in baseline(m)]
    phase1 += [("postings" if "posting_id" in ev else "bills", ev) for _, ev, _, _ in IMMEDIATE]
    phase1 += [
        # no member: decided at once, keyed by the source id
        ("postings", posting("NM-P1", None, "35000")),
        ("bills", bill("NM-B1", None, [("FOOD", "5000")])),
        ("postings", posting("NM-P2", None, "35000", hotel="NOWHERE-HOTEL")),  # invalid first: REJECTED
        # vector 11: the only USD rate is older than 7 days -> held
        ("fx", fx_rate("USD", "2026-03-01", "152.30")),
        ("postings", posting("FX-1", "OHX00020", "250.00", hotel="NIKKO-SAIPAN", currency="USD")),
        # a correction before its original
        ("postings", posting("ORIG-C", "OHX00021", "-8750", corrects="ORIG-1")),
        # a member not enrolled yet: an original and a partial correction, and (next batch) a full one
        ("postings", posting("AO-O", "OHX00030", "40000", nights=2)),
        ("postings", posting("AO-C1", "OHX00030", "-10000", corrects="AO-O")),
    ]
    with RunningWorker(s) as w:
        send(pub, phase1)
        wait_processed(s)
        send(pub, [("postings", posting("AO-C0", "OHX00030", "-40000", corrects="AO-O"))])  # a later arrival
        wait_processed(s)
        store = w.worker.engine.store
        held = {h["source_id"]: h["reason"] for v in checks.views(store, members).values() if v for h in v["held"]}
        assert held == {"P:FX-1": "AWAITING_FX_RATE", "P:ORIG-C": "AWAITING_ORIGINAL",
                        "P:AO-O": "AWAITING_ENROLLMENT", "P:AO-C1": "AWAITING_ENROLLMENT",
                        "P:AO-C0": "AWAITING_ENROLLMENT"}
        before_release = checks.views(store, members)
        send(pub, [
            ("fx", fx_rate("USD", "2026-03-10", "152.30")),  # vector 10: the newest on or before 03-14
            ("fx", fx_rate("USD", "2026-03-15", "151.00")),
            ("postings", posting("ORIG-1", "OHX00021", "35000")),
            ("enrollments", enrollment("OHX00030")),
            ("enrollments", enrollment("OHX00040", state="CLOSED")),
        ])
        wait_processed(s)
        send(pub, [("postings", posting("CLOSED-1", "OHX00040", "35000"))])
        wait_processed(s)
        views = checks.views(store, members)

    by_source = checks.decisions_by_source(kafka_bootstrap, topics.decisions)
    entries, problems = checks.ledger(kafka_bootstrap, topics.ledger)
    assert problems == []
    _, per_source = checks.ledger_sums(entries)

    for m, ev, expected, nights in IMMEDIATE:
        sid = ("P:" + ev["posting_id"]) if "posting_id" in ev else ("B:" + ev["bill_id"])
        assert final(by_source[sid]) == expected, sid
        assert by_source[sid][0]["outcome"] != "HELD", sid
        assert by_source[sid][0]["base_points"] == by_source[sid][0]["bonus_points"] == 0
        assert sid not in per_source, sid  # no ledger entry
        assert state(views[m]) == untouched(nights), (sid, views[m])

    for sid, reason in (("P:NM-P1", ("EXCLUDED", "NO_MEMBER")), ("B:NM-B1", ("EXCLUDED", "NO_MEMBER")),
                        ("P:NM-P2", ("REJECTED", "UNKNOWN_HOTEL"))):
        (d,) = by_source[sid]
        assert (d["outcome"], d["reason"]) == reason
        assert d["_key"] == sid and d["member_id"] is None and sid not in per_source

    # AWAITING_FX_RATE, released when a usable rate is published (vectors 11 then 10)
    assert [(d["outcome"], d["reason"]) for d in by_source["P:FX-1"]] == [("HELD", "AWAITING_FX_RATE"),
                                                                         ("EARNED", None)]
    fx_decision = by_source["P:FX-1"][-1]
    assert (str(fx_decision["fx_rate"]), str(fx_decision["eligible_amount_jpy"]), fx_decision["base_points"]) == \
        ("152.300000", "38075.0000", 761)
    assert state(before_release["OHX00020"]) == untouched()
    assert state(views["OHX00020"]) == (BASE + 761, ((LOT, BASE + 761),), BASE + 761, 2)

    # AWAITING_ORIGINAL, released when the original arrives (vector 14: -8,750 of 35,000 -> 175)
    assert [(d["outcome"], d["reason"]) for d in by_source["P:ORIG-C"]] == [("HELD", "AWAITING_ORIGINAL"),
                                                                           ("EARNED", None)]
    assert by_source["P:ORIG-C"][-1]["reversed_points"] == 175 and per_source["P:ORIG-C"] == -175
    assert state(before_release["OHX00021"]) == untouched()
    assert state(views["OHX00021"]) == (BASE + 525, ((LOT, BASE + 525),), BASE + 525, 2)

    # AWAITING_ENROLLMENT, released (in arrival order) when the enrollment arrives:
    # AO-O earns 800 and 2 nights; AO-C1 (-10,000 of 40,000) takes back 200; AO-C0 (full) the rest
    assert before_release["OHX00030"]["balance"] == 0 and before_release["OHX00030"]["qualifying"] == {}
    assert final(by_source["P:AO-O"]) == ("EARNED", None) and per_source["P:AO-O"] == 800
    assert by_source["P:AO-C1"][0]["reason"] == "AWAITING_ENROLLMENT"
    assert final(by_source["P:AO-C1"]) == ("EARNED", None) and per_source["P:AO-C1"] == -200
    assert final(by_source["P:AO-C0"]) == ("EARNED", None) and per_source["P:AO-C0"] == -600
    assert state(views["OHX00030"]) == (0, (), 0, 0)

    # MEMBER_CLOSED: the points already earned stay, the new charge earns nothing
    assert final(by_source["P:CLOSED-1"]) == ("EXCLUDED", "MEMBER_CLOSED")
    assert state(views["OHX00040"]) == untouched()

    # nothing is held any more, and nothing else moved points: Σ ledger = balance for everyone
    assert [h for v in views.values() if v for h in v["held"]] == []
    per_member, _ = checks.ledger_sums(entries)
    assert {m: per_member.get(m, 0) for m in members} == {m: (views[m] or {}).get("balance", 0) for m in members}


def _decisions_until(bootstrap: str, topic: str, sid: str, n: int, timeout: float = 15.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        ds = [d for d in decoded(bootstrap, topic) if d["source_id"] == sid]
        if len(ds) >= n or time.monotonic() > deadline:
            return ds
        time.sleep(0.2)


def test_unknown_member_rejected_after_the_grace_then_replayable(kafka_bootstrap, redis_url, redis_clean, topics,
                                                                 unique):
    clock = Clock()
    s = settings_for(kafka_bootstrap, redis_url, topics, unique, sweep_seconds=0.2)
    pub = Publisher(kafka_bootstrap, topics)
    ghost = posting("GHOST-1", "OHGHOST01", "35000")
    with RunningWorker(s, clock=clock) as w:
        send(pub, [("postings", ghost)])
        wait_processed(s)
        clock.advance(hours=71)  # within the 72 h grace: still held
        time.sleep(1.0)  # several sweeps
        ds = _decisions_until(kafka_bootstrap, topics.decisions, "P:GHOST-1", 1)
        assert [(d["outcome"], d["reason"]) for d in ds] == [("HELD", "AWAITING_ENROLLMENT")]
        clock.advance(hours=1, minutes=1)  # past the grace
        ds = _decisions_until(kafka_bootstrap, topics.decisions, "P:GHOST-1", 2)
        assert [(d["outcome"], d["reason"]) for d in ds] == [("HELD", "AWAITING_ENROLLMENT"),
                                                             ("REJECTED", "UNKNOWN_MEMBER")]
        dlq = read_topic(kafka_bootstrap, topics.dlq)
        assert len(dlq) == 1
        headers = dict(dlq[0].headers())
        assert headers["error"].decode().startswith("UNKNOWN_MEMBER") and headers["origin.topic"] == \
            topics.postings.encode()
        view = checks.views(w.worker.engine.store, ["OHGHOST01"])["OHGHOST01"]
        assert view is None or (view["held"] == [] and view["balance"] == 0)
        # still replayable: the enrollment, then the same posting again, earns normally
        send(pub, [("enrollments", enrollment("OHGHOST01"))])
        wait_processed(s)
        send(pub, [("postings", ghost)])
        wait_processed(s)
        view = checks.views(w.worker.engine.store, ["OHGHOST01"])["OHGHOST01"]
    assert state(view) == untouched()
    ds = [d for d in decoded(kafka_bootstrap, topics.decisions) if d["source_id"] == "P:GHOST-1"]
    assert [(d["outcome"], d["reason"]) for d in ds][-1] == ("EARNED", None)
