"""The worked examples of /work/shared/spec/vectors.md (1–19) through Kafka and Redis.

One member per vector (enrolled 2026-01-01 unless stated), so each vector's balance, lots and
qualifying counters can be asserted exactly. Vectors 12 and 13 need a status: their members earn
5,000 / 15,000 points in 2025 and close-year 2025 runs (streams.engine.jobs.close_year, as the scheduled job
does), which makes them LOYAL / EXCLUSIVE from 2026-04-01.
"""
from __future__ import annotations

from datetime import date

from streams.engine import jobs
from tests.harness import (
    Publisher,
    RunningWorker,
    bill,
    decoded,
    enrollment,
    fx_rate,
    posting,
    settings_for,
    wait_processed,
)
from tests.integration import checks

V8_LINES = [("FOOD", "10000"), ("BEVERAGE", "3333"), ("SERVICE_CHARGE", "1333"), ("TAX", "1467")]
L28, L29, L30 = date(2028, 1, 31), date(2029, 1, 31), date(2030, 1, 31)

# vector: (member, [charges], {source id: (outcome, reason, [(ledger type, points, lot)])},
#          (balance, lots, 2026 qualifying points, 2026 nights))
VECTORS = {
    1: ("OHV00001", [posting("V1", "OHV00001", "35000")],
        {"P:V1": ("EARNED", None, [("EARN", 700, L29)])}, (700, [(L29, 700)], 700, 1)),
    2: ("OHV00002", [posting("V2", "OHV00002", "35000", channel="TRAVEL_AGENCY")],
        {"P:V2": ("EXCLUDED", "CHANNEL_NOT_EARNING", [])}, (0, [], 0, 1)),
    3: ("OHV00003", [posting("V3", "OHV00003", "35000", channel="OTHER")],
        {"P:V3": ("EXCLUDED", "CHANNEL_NOT_EARNING", [])}, (0, [], 0, 0)),
    4: ("OHV00004", [posting("V4", "OHV00004", "3500", category="TAX")],
        {"P:V4": ("EXCLUDED", "TAX", [])}, (0, [], 0, 0)),
    5: ("OHV00005", [posting("V5", "OHV00005", "3500", category="SERVICE_CHARGE")],
        {"P:V5": ("EXCLUDED", "SERVICE_CHARGE", [])}, (0, [], 0, 0)),
    6: ("OHV00006", [posting("V6", "OHV00006", "12000", category="SHOPPING_ARCADE")],
        {"P:V6": ("EXCLUDED", "SHOPPING_ARCADE", [])}, (0, [], 0, 0)),
    7: ("OHV00007", [posting("V7", "OHV00007", "8999", category="FOOD_BEVERAGE")],
        {"P:V7": ("EARNED", None, [("EARN", 89, L29)])}, (89, [(L29, 89)], 89, 0)),
    8: ("OHV00008", [bill("V8", "OHV00008", V8_LINES, paid_with_points="1000")],
        {"B:V8": ("EARNED", None, [("EARN", 123, L29)])}, (123, [(L29, 123)], 123, 0)),
    9: ("OHV00009", [bill("V9", "OHV00009", [("FOOD", "5000")], outlet_type="SHOPPING_ARCADE")],
        {"B:V9": ("EXCLUDED", "SHOPPING_ARCADE", [])}, (0, [], 0, 0)),
    10: ("OHV00010", [posting("V10", "OHV00010", "250.00", hotel="NIKKO-SAIPAN", currency="USD")],
         {"P:V10": ("EARNED", None, [("EARN", 761, L29)])}, (761, [(L29, 761)], 761, 1)),
    11: ("OHV00011", [posting("V11", "OHV00011", "250.00", hotel="OKURA-AMSTERDAM", currency="EUR")],
         {"P:V11": ("EARNED", None, [("EARN", 761, L29)])}, (761, [(L29, 761)], 761, 1)),
    12: ("OHV00012", [posting("V12-MAR", "OHV00012", "100000", bdate="2026-03-31"),  # status not valid yet
                      posting("V12", "OHV00012", "100000", bdate="2026-04-01")],
         {"P:V12-MAR": ("EARNED", None, [("EARN", 2000, L29)]),
          "P:V12": ("EARNED", None, [("EARN", 2000, L29), ("BONUS", 500, L29)])},
         (5000 + 4500, [(L28, 5000), (L29, 4500)], 4000, 2)),
    13: ("OHV00013", [posting("V13", "OHV00013", "9999", category="FOOD_BEVERAGE", bdate="2026-04-10")],
         {"P:V13": ("EARNED", None, [("EARN", 99, L29), ("BONUS", 49, L29)])},
         (15000 + 148, [(L28, 15000), (L29, 148)], 99, 0)),
    14: ("OHV00014", [posting("V14-O", "OHV00014", "35000"), posting("V14", "OHV00014", "-8750", corrects="V14-O")],
         {"P:V14-O": ("EARNED", None, [("EARN", 700, L29)]), "P:V14": ("EARNED", None, [("REVERSAL", -175, L29)])},
         (525, [(L29, 525)], 525, 1)),
    15: ("OHV00015", [bill("V15-O", "OHV00015", V8_LINES, paid_with_points="1000"),
                      bill("V15", "OHV00015", [(k, "-" + a) for k, a in V8_LINES], paid_with_points="1000",
                           voids="V15-O")],
         {"B:V15-O": ("EARNED", None, [("EARN", 123, L29)]), "B:V15": ("EARNED", None, [("REVERSAL", -123, L29)])},
         (0, [], 0, 0)),
    16: ("OHV00016", [posting("V16", "OHV00016", "35000", bdate="2025-12-31")],
         {"P:V16": ("EXCLUDED", "BEFORE_ENROLLMENT", [])}, (0, [], 0, 0)),
    17: ("OHV00017", [posting("V17", "OHV00017", "35000", hotel="JALCITY-NAHA")],
         {"P:V17": ("EXCLUDED", "NON_PARTICIPATING_HOTEL", [])}, (0, [], 0, 0)),
    18: (None, [posting("V18", None, "35000")], {"P:V18": ("EXCLUDED", "NO_MEMBER", [])}, None),
    19: ("OHV00019", [posting("V19-A", "OHV00019", "35000", bdate="2026-03-14"),
                      posting("V19-B", "OHV00019", "35000", bdate="2026-12-31"),
                      posting("V19-C", "OHV00019", "35000", bdate="2027-01-01")],
         {"P:V19-A": ("EARNED", None, [("EARN", 700, L29)]), "P:V19-B": ("EARNED", None, [("EARN", 700, L29)]),
          "P:V19-C": ("EARNED", None, [("EARN", 700, L30)])},
         (2100, [(L29, 1400), (L30, 700)], 1400, 2)),
}
LATE = {11, 12, 13}  # published after close-year 2025 / after the EUR rate (12, 13: their April postings)


def kind(ev: dict) -> str:
    return "postings" if "posting_id" in ev else "bills"


def test_vectors_through_kafka(kafka_bootstrap, redis_url, redis_clean, topics, unique):
    s = settings_for(kafka_bootstrap, redis_url, topics, unique)
    pub = Publisher(kafka_bootstrap, topics)
    for rate in (fx_rate("USD", "2026-03-10", "152.30"), fx_rate("USD", "2026-03-15", "151.00"),
                 fx_rate("EUR", "2026-03-01", "152.30")):  # vector 11: the newest EUR rate is 13 days old
        pub.send("fx", rate)
    for n, (m, _, _, _) in VECTORS.items():
        if m is not None:
            pub.send("enrollments", enrollment(m, "2025-01-01" if n in (12, 13) else "2026-01-01"))
    # vectors 12/13: 5,000 and 15,000 qualifying points in 2025
    pub.send("postings", posting("S-LOYAL", "OHV00012", "250000", bdate="2025-06-01"))
    pub.send("postings", posting("S-EXCL", "OHV00013", "750000", bdate="2025-06-01"))
    for n, (_, charges, _, _) in VECTORS.items():
        for ev in charges:
            if n not in LATE or ev["posting_id" if "posting_id" in ev else "bill_id"] in ("V11", "V12-MAR"):
                pub.send(kind(ev), ev)
    pub.flush()
    with RunningWorker(s) as w:
        wait_processed(s)
        held = checks.views(w.worker.engine.store, ["OHV00011"])["OHV00011"]["held"]
        assert [(h["source_id"], h["reason"]) for h in held] == [("P:V11", "AWAITING_FX_RATE")]
        report = jobs.close_year(w.worker.engine, 2025, w.worker.jobs.publisher())
        assert report.changed == 2
        pub.send("fx", fx_rate("EUR", "2026-03-10", "152.30"))
        for n in (12, 13):
            for ev in VECTORS[n][1]:
                if ev["posting_id"] != "V12-MAR":
                    pub.send(kind(ev), ev)
        pub.flush()
        wait_processed(s)
        views = checks.views(w.worker.engine.store, [m for m, *_ in VECTORS.values() if m])

    status = {c["member_id"]: (c["old_status"], c["new_status"], c["valid_from"], c["valid_until"],
                               c["carried_points"]) for c in decoded(kafka_bootstrap, topics.status)}
    assert status == {"OHV00012": ("REGULAR", "LOYAL", date(2026, 4, 1), date(2027, 3, 31), 0),
                      "OHV00013": ("REGULAR", "EXCLUSIVE", date(2026, 4, 1), date(2027, 3, 31), 0)}
    by_source = checks.decisions_by_source(kafka_bootstrap, topics.decisions)
    entries, problems = checks.ledger(kafka_bootstrap, topics.ledger)
    assert problems == []
    ledger_by_source: dict[str, list] = {}
    for e in entries.values():
        ledger_by_source.setdefault(e["source_id"], []).append((e["type"], e["points"], e["lot_expires_on"]))

    failures = []
    for n, (m, _, expected, want_state) in VECTORS.items():
        for sid, (outcome, reason, moves) in expected.items():
            final = [d for d in by_source.get(sid, []) if d["outcome"] != "HELD"]
            got = [(d["outcome"], d["reason"]) for d in final]
            if got != [(outcome, reason)]:
                failures.append(f"vector {n} {sid}: decision {got} != {(outcome, reason)}")
            if sorted(ledger_by_source.get(sid, [])) != sorted(moves):
                failures.append(f"vector {n} {sid}: ledger {ledger_by_source.get(sid)} != {moves}")
        if want_state is not None:
            v = views[m]
            q = v["qualifying"].get("2026", {})
            have = (v["balance"], [(date.fromisoformat(x["expires_on"]), x["points"]) for x in v["lots"]],
                    q.get("points", 0), q.get("nights", 0))
            if have != want_state:
                failures.append(f"vector {n} {m}: (balance, lots, 2026 points, 2026 nights) {have} != {want_state}")
    assert failures == []

    # figures carried by the decisions
    v8 = by_source["B:V8"][-1]
    assert (str(v8["eligible_amount_jpy"]), v8["base_points"]) == ("12333.0000", 123)
    v10 = by_source["P:V10"][-1]
    assert (str(v10["fx_rate"]), str(v10["eligible_amount_jpy"])) == ("152.300000", "38075.0000")
    assert [d["outcome"] for d in by_source["P:V11"]] == ["HELD", "EARNED"]
    assert (by_source["P:V12"][-1]["base_points"], by_source["P:V12"][-1]["bonus_points"]) == (2000, 500)
    assert (by_source["P:V13"][-1]["base_points"], by_source["P:V13"][-1]["bonus_points"]) == (99, 49)
    assert by_source["P:V14"][-1]["reversed_points"] == 175 and by_source["B:V15"][-1]["reversed_points"] == 123
    assert by_source["P:V18"][-1]["_key"] == "P:V18" and by_source["P:V18"][-1]["member_id"] is None
    # qualifying of the status members' 2025: exactly the threshold, nothing carried into 2026
    assert views["OHV00012"]["qualifying"]["2025"]["points"] == 5000
    assert views["OHV00013"]["qualifying"]["2025"]["points"] == 15000
    assert views["OHV00013"]["qualifying"].get("2026", {}).get("carried_points", 0) == 0


def test_the_oracle_agrees_with_the_vectors():
    """The independent oracle (tests/oracle.py), checked against the same vectors (no Kafka)."""
    from tests.oracle import Oracle
    o = Oracle()
    o.apply([("fx", fx_rate("USD", "2026-03-10", "152.30")), ("fx", fx_rate("USD", "2026-03-15", "151.00")),
             ("fx", fx_rate("EUR", "2026-03-01", "152.30"))])
    o.apply([("enrollments", enrollment(m, "2025-01-01" if n in (12, 13) else "2026-01-01"))
             for n, (m, _, _, _) in VECTORS.items() if m is not None])
    o.apply([("postings", posting("S-LOYAL", "OHV00012", "250000", bdate="2025-06-01")),
             ("postings", posting("S-EXCL", "OHV00013", "750000", bdate="2025-06-01"))])
    o.apply([(kind(ev), ev) for n, (_, charges, _, _) in VECTORS.items() for ev in charges
             if n not in LATE or ev.get("posting_id") in ("V11", "V12-MAR")])
    assert o.held_reasons() == {"P:V11": "AWAITING_FX_RATE"}
    assert o.close_year(2025) == {"OHV00012": "LOYAL", "OHV00013": "EXCLUSIVE"}
    o.apply([("fx", fx_rate("EUR", "2026-03-10", "152.30"))])
    o.apply([(kind(ev), ev) for n in (12, 13) for ev in VECTORS[n][1] if ev["posting_id"] != "V12-MAR"])
    for n, (m, _, expected, want_state) in VECTORS.items():
        for sid, (outcome, reason, moves) in expected.items():
            assert o.decisions[sid] == (outcome, reason), (n, sid)
            assert o.points_by_source.get(sid, 0) == sum(p for _, p, _ in moves), (n, sid)
        if want_state is not None:
            v = o.members[m].view()
            q = v["qualifying"].get("2026", {})
            have = (v["balance"], [(date.fromisoformat(x["expires_on"]), x["points"]) for x in v["lots"]],
                    q.get("points", 0), q.get("nights", 0))
            assert have == want_state, n


def test_the_oracle_agrees_with_vectors_23_24():
    """Year-end evaluation and carry forward of the oracle (vectors 23, 24)."""
    from tests.oracle import Oracle
    o = Oracle()
    o.apply([("enrollments", enrollment("OHV00023")), ("enrollments", enrollment("OHV00024")),
             ("postings", posting("V23-A", "OHV00023", "910000", bdate="2026-05-01")),
             ("postings", posting("V23-B", "OHV00023", "100000", nights=11, channel="TRAVEL_AGENCY")),
             ("postings", posting("V24-A", "OHV00024", "150000", bdate="2026-05-01")),
             ("postings", posting("V24-B", "OHV00024", "100000", nights=13, channel="TRAVEL_AGENCY"))])
    assert o.members["OHV00023"].q[2026][:2] == [18200, 12]
    assert o.members["OHV00024"].q[2026][:2] == [3000, 14]
    assert o.close_year(2026) == {"OHV00023": "EXCLUSIVE", "OHV00024": "LOYAL"}
    assert o.members["OHV00023"].statuses == {2027: "EXCLUSIVE"}
    assert o.members["OHV00023"].q[2027] == [0, 0, 3200, 0]
    assert o.members["OHV00024"].q[2027] == [0, 0, 0, 4]
