"""Year-end status through Kafka + Redis (program-rules §2): every threshold edge, carry-forward
(vectors 23, 24), StatusChange records on members.status.v1, downgrade at the end of validity,
the bonus switching on 1 April, and close-year being idempotent.

One worker for the module; the scenario is published and the jobs run once (``scenario``), each
test checks one aspect of it.
"""
from __future__ import annotations

from datetime import date

import pytest

from tests.harness import enrollment, posting
from tests.lifecycle_support import LifecycleEnv

# member -> (2026 postings as (amount, nights, channel), expected status, carried points, carried nights, by)
EDGES = {
    "ST-P4999": ([("249950", 1, "DIRECT")], "REGULAR", 0, 0, "NONE"),
    "ST-P5000": ([("250000", 1, "DIRECT")], "LOYAL", 0, 0, "POINTS"),
    "ST-N9": ([("90000", 9, "TRAVEL_AGENCY")], "REGULAR", 0, 0, "NONE"),
    "ST-N10": ([("50000", 4, "TRAVEL_AGENCY"), ("60000", 6, "TRAVEL_AGENCY")], "LOYAL", 0, 0, "NIGHTS"),
    "ST-P14999": ([("749950", 1, "DIRECT")], "LOYAL", 9_999, 0, "POINTS"),
    "ST-P15000": ([("700000", 1, "DIRECT"), ("50000", 1, "OFFICIAL_WEBSITE")], "EXCLUSIVE", 0, 0, "POINTS"),
    "ST-N29": ([("290000", 29, "TRAVEL_AGENCY")], "LOYAL", 0, 19, "NIGHTS"),
    "ST-N30": ([("300000", 30, "TRAVEL_AGENCY")], "EXCLUSIVE", 0, 0, "NIGHTS"),
    "ST-V23": ([("910000", 12, "DIRECT")], "EXCLUSIVE", 3_200, 0, "POINTS"),  # 18,200 points, 12 nights
    "ST-V24": ([("150000", 14, "DIRECT")], "LOYAL", 0, 4, "NIGHTS"),  # 3,000 points, 14 nights
}
QUALIFYING_2026 = {  # (points, nights) earned in 2026
    "ST-P4999": (4_999, 1), "ST-P5000": (5_000, 1), "ST-N9": (0, 9), "ST-N10": (0, 10),
    "ST-P14999": (14_999, 1), "ST-P15000": (15_000, 2), "ST-N29": (0, 29), "ST-N30": (0, 30),
    "ST-V23": (18_200, 12), "ST-V24": (3_000, 14),
}


@pytest.fixture(scope="module")
def env(kafka_bootstrap, redis_url):
    with LifecycleEnv(kafka_bootstrap, redis_url, db=1, name="lcs") as e:
        yield e


@pytest.fixture(scope="module")
def scenario(env):
    out = {}
    env.send("enrollments", *(enrollment(m) for m in EDGES), enrollment("ST-BONUS"),
             enrollment("ST-DOWN", "2025-01-01"), enrollment("ST-IDLE", "2025-01-01"))
    # ST-DOWN qualifies LOYAL in 2025 (valid 2026-04-01 .. 2027-03-31), then not again in 2026;
    # ST-IDLE too, with no activity at all in 2026 (found through the status index, not the activity one)
    env.send("postings", posting("D25", "ST-DOWN", "250000", bdate="2025-06-01"),
             posting("I25", "ST-IDLE", "0", nights=10, channel="TRAVEL_AGENCY", bdate="2025-06-01"))
    env.sync()
    out["close_2025"] = env.close_year(2025)
    for m, (stays, *_) in EDGES.items():
        for i, (amount, nights, channel) in enumerate(stays):
            env.send("postings", posting(f"{m}-{i}", m, amount, nights=nights, channel=channel, bdate="2026-05-10"))
    env.send("postings", posting("B26", "ST-BONUS", "250000", bdate="2026-07-01"),  # 5,000 -> LOYAL
             posting("D26", "ST-DOWN", "100000", bdate="2026-06-01"))  # 2,000 + 25 % bonus (LOYAL since April)
    env.sync()
    out["close_2026"] = env.close_year(2026)
    out["status_records"] = env.out("status")
    out["views"] = {m: env.view(m, today="2027-04-01") for m in [*EDGES, "ST-BONUS", "ST-DOWN"]}
    out["versions"] = {m: env.member(m).version for m in out["views"]}
    out["close_2026_again"] = env.close_year(2026)
    out["status_records_again"] = env.out("status")
    out["versions_again"] = {m: env.member(m).version for m in out["views"]}
    # the bonus switches with the status on 1 April
    for m in ("ST-BONUS", "ST-DOWN"):
        env.send("postings", posting(f"{m}-0331", m, "100000", bdate="2027-03-31"),
                 posting(f"{m}-0401", m, "100000", bdate="2027-04-01"))
    env.sync()
    return out


def _status_record(records, member):
    mine = [r for r in records if r["member_id"] == member and r["year_evaluated"] == 2026]
    assert len(mine) <= 1, mine
    return mine[0] if mine else None


@pytest.mark.parametrize("member", list(EDGES))
def test_threshold_edges_and_carry_forward(env, scenario, member):
    _, status, carried_points, carried_nights, by = EDGES[member]
    points, nights = QUALIFYING_2026[member]
    view = scenario["views"][member]
    assert view["qualifying"]["2026"] == {"points": points, "nights": nights, "carried_points": 0,
                                          "carried_nights": 0}
    assert view["years_closed"] == {"2026": status}
    assert view["status"] == status
    if carried_points or carried_nights:
        assert view["qualifying"]["2027"] == {"points": 0, "nights": 0, "carried_points": carried_points,
                                              "carried_nights": carried_nights}
    else:
        assert "2027" not in view["qualifying"]
    rec = _status_record(scenario["status_records"], member)
    if status == "REGULAR":
        assert rec is None and view["status_valid_until"] is None
        return
    assert view["status_valid_until"] == "2028-03-31"
    assert rec == {
        "event_id": f"{member}/status/2026", "member_id": member, "year_evaluated": 2026,
        "old_status": "REGULAR", "new_status": status, "valid_from": date(2027, 4, 1),
        "valid_until": date(2028, 3, 31), "qualifying_points": points, "qualifying_nights": nights,
        "carried_points": carried_points, "carried_nights": carried_nights, "qualified_by": by}
    # before 1 April 2027 the previous status (REGULAR) holds
    assert env.view(member, today="2027-03-31")["status"] == "REGULAR"


def test_vectors_23_24_examples(env, scenario):
    v23, v24 = scenario["views"]["ST-V23"], scenario["views"]["ST-V24"]
    assert (v23["status"], v23["status_valid_until"]) == ("EXCLUSIVE", "2028-03-31")
    assert v23["qualifying"]["2027"]["carried_points"] == 3_200 and v23["qualifying"]["2027"]["carried_nights"] == 0
    assert (v24["status"], v24["status_valid_until"]) == ("LOYAL", "2028-03-31")
    assert v24["qualifying"]["2027"]["carried_nights"] == 4 and v24["qualifying"]["2027"]["carried_points"] == 0


def test_downgrade_at_end_of_validity(env, scenario):
    assert scenario["close_2025"]["changed"] == 2
    idle = [(r["year_evaluated"], r["old_status"], r["new_status"], r["qualified_by"])
            for r in env.out("status", "ST-IDLE")]
    assert idle == [(2025, "REGULAR", "LOYAL", "NIGHTS"), (2026, "LOYAL", "REGULAR", "NONE")]
    assert env.view("ST-IDLE", today="2027-04-01")["status"] == "REGULAR"
    assert "2026" not in env.view("ST-IDLE")["qualifying"]
    everything = [r for r in env.out("status") if r["member_id"] == "ST-DOWN"]
    assert [(r["year_evaluated"], r["old_status"], r["new_status"], r["valid_from"], r["valid_until"],
             r["qualified_by"]) for r in everything] == [
        (2025, "REGULAR", "LOYAL", date(2026, 4, 1), date(2027, 3, 31), "POINTS"),
        (2026, "LOYAL", "REGULAR", date(2027, 4, 1), date(2028, 3, 31), "NONE")]
    assert env.view("ST-DOWN", today="2027-03-31")["status"] == "LOYAL"
    assert env.view("ST-DOWN", today="2027-03-31")["status_valid_until"] == "2027-03-31"
    view = scenario["views"]["ST-DOWN"]  # as of 2027-04-01
    assert (view["status"], view["status_valid_until"]) == ("REGULAR", None)
    assert view["qualifying"]["2026"]["points"] == 2_000  # the bonus does not qualify


def _earned(env, member, source):
    return sorted((e["type"], e["points"]) for e in env.ledger(member).values() if e["source_id"] == source)


def test_bonus_switches_on_1_april(env, scenario):
    assert _earned(env, "ST-DOWN", "P:D26") == [("BONUS", 500), ("EARN", 2000)]
    # ST-BONUS became LOYAL for 2027-04-01 .. 2028-03-31
    assert _earned(env, "ST-BONUS", "P:ST-BONUS-0331") == [("EARN", 2000)]
    assert _earned(env, "ST-BONUS", "P:ST-BONUS-0401") == [("BONUS", 500), ("EARN", 2000)]
    # ST-DOWN was LOYAL until 2027-03-31 only
    assert _earned(env, "ST-DOWN", "P:ST-DOWN-0331") == [("BONUS", 500), ("EARN", 2000)]
    assert _earned(env, "ST-DOWN", "P:ST-DOWN-0401") == [("EARN", 2000)]
    decisions = {d["source_id"]: d for d in env.out("decisions", "ST-BONUS")}
    assert (decisions["P:ST-BONUS-0401"]["base_points"], decisions["P:ST-BONUS-0401"]["bonus_points"]) == (2000, 500)
    assert decisions["P:ST-BONUS-0331"]["bonus_points"] == 0
    for m in ("ST-BONUS", "ST-DOWN"):
        env.check_invariant(m)


def test_close_year_twice_changes_nothing(env, scenario):
    first, again = scenario["close_2026"], scenario["close_2026_again"]
    changed = sum(1 for m, (_, st, *_) in EDGES.items() if st != "REGULAR") + 3  # + ST-BONUS, -DOWN, -IDLE
    assert first["changed"] == changed
    assert again["changed"] == 0 and again["points"] == 0
    assert scenario["versions_again"] == scenario["versions"]  # nothing written
    assert len(scenario["status_records_again"]) == len(scenario["status_records"])
    assert len({r["event_id"] for r in scenario["status_records"]}) == len(scenario["status_records"])
