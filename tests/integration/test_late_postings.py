"""Year Y stays open for late postings until its status takes effect (issue 9 item 1), through
Kafka + Redis with the worker's real clock (late November 2026: year 2026 is open until
2027-04-01, year 2025 became final on 2026-04-01).

The year-end run for 2026 happens first; then the night audits of 31 December arrive, a downward
correction, a charge held for its exchange rate is released: each re-evaluates 2026 at once and
the status topic says so with ``<member>/status/2026/r<n>``. A late 2025 posting counts but no
longer changes 2025's status. Closing 2028 before 2027 keeps the carry-forward. Running close-year
again, or redelivering a late posting, changes nothing and repeats the same ids.
"""
from __future__ import annotations

import pytest

from tests.harness import enrollment, fx_rate, posting
from tests.lifecycle_support import LifecycleEnv

UP, DOWN, HELD, FINAL, ORDER = "OHLP0001", "OHLP0002", "OHLP0003", "OHLP0004", "OHLP0005"


def room(pid: str, member: str, yen: int, bdate: str = "2026-12-31", **kw) -> dict:
    """DIRECT room posting: 20 points per ¥1,000."""
    return posting(pid, member, str(yen), bdate=bdate, **kw)


@pytest.fixture(scope="module")
def story(kafka_bootstrap, redis_url):
    with LifecycleEnv(kafka_bootstrap, redis_url, db=7, name="lp") as env:
        for m in (UP, DOWN, HELD, FINAL, ORDER):
            env.send("enrollments", enrollment(m, "2025-01-01"))
        env.sync()
        env.send("postings",
                 room("UP-1", UP, 200_000, "2026-06-01"),  # 4,000: REGULAR at the year-end run
                 room("DOWN-1", DOWN, 775_000, "2026-06-01"),  # 15,500: EXCLUSIVE, 500 carried
                 room("HELD-1", HELD, 200_000, "2026-06-01"),  # 4,000
                 posting("HELD-USD", HELD, "500.00", hotel="NIKKO-SAIPAN", currency="USD",
                         bdate="2026-12-30"),  # no USD rate yet: held
                 room("FINAL-1", FINAL, 200_000, "2025-06-01"),  # 4,000 in 2025
                 room("ORDER-1", ORDER, 910_000, "2027-05-01", nights=12),  # 18,200: 3,200 carried
                 room("ORDER-2", ORDER, 100_000, "2028-05-01"))  # 2,000 in 2028
        env.sync()
        out = {"close_2025": env.close_year(2025), "close_2026": env.close_year(2026)}
        out["status_at_close"] = {(r["event_id"]) for r in env.out("status")}
        # after the year-end run: the night audits of 31 December, a correction, a released hold
        env.send("postings",
                 room("UP-AUDIT", UP, 60_000),  # +1,200 -> 5,200: LOYAL
                 room("DOWN-FIX", DOWN, -50_000, nights=0, corrects="DOWN-1"),  # -1,000 -> 14,500: LOYAL
                 room("FINAL-LATE", FINAL, 60_000, "2025-12-31"))  # 2025 is final
        env.send("fx", fx_rate("USD", "2026-12-29", "150.00"))  # releases HELD-USD: ¥75,000 -> 1,500
        env.sync()
        out["status_after_late"] = env.out("status")
        out["close_2026_again"] = env.close_year(2026)
        env.send("postings", room("UP-AUDIT", UP, 60_000))  # redelivered
        env.sync()
        out["status_at_end"] = env.out("status")
        out["members"] = {m: env.member(m) for m in (UP, DOWN, HELD, FINAL)}
        # closing years out of order (on demand): 2028 before 2027
        out["close_2028"] = env.close_year(2028)
        out["close_2027"] = env.close_year(2027)
        out["order"] = env.member(ORDER)
        out["status_order"] = env.out("status", ORDER)
        yield out


def _changes(records, member):
    return [(r["event_id"], r["old_status"], r["new_status"], r["carried_points"]) for r in records
            if r["member_id"] == member]


def test_the_year_end_run_before_the_late_postings(story):
    assert story["status_at_close"] == {f"{DOWN}/status/2026"}


def test_a_late_night_audit_upgrades(story):
    assert _changes(story["status_after_late"], UP) == [(f"{UP}/status/2026/r1", "REGULAR", "LOYAL", 200)]
    m = story["members"][UP]
    assert m.statuses == {2027: "LOYAL"} and m.closed == {2026: "LOYAL"} and m.revisions == {2026: 1}
    assert m.qualifying[2027].carried_points == 200


def test_a_late_downward_correction_downgrades_before_the_status_takes_effect(story):
    assert _changes(story["status_after_late"], DOWN) == [
        (f"{DOWN}/status/2026", "REGULAR", "EXCLUSIVE", 500),
        (f"{DOWN}/status/2026/r1", "EXCLUSIVE", "LOYAL", 9_500)]
    m = story["members"][DOWN]
    assert m.statuses == {2027: "LOYAL"} and m.qualifying[2027].carried_points == 9_500


def test_a_released_fx_hold_counts_for_the_closed_year(story):
    assert _changes(story["status_after_late"], HELD) == [(f"{HELD}/status/2026/r1", "REGULAR", "LOYAL", 500)]
    assert story["members"][HELD].qualifying[2026].points == 5_500


def test_a_final_year_counts_the_posting_but_keeps_its_status(story):
    assert _changes(story["status_at_end"], FINAL) == []
    m = story["members"][FINAL]
    assert m.qualifying[2025].points == 5_200 and m.closed == {2025: "REGULAR"} and 2026 not in m.statuses


def test_closing_2028_before_2027_keeps_the_carry_forward(story):
    assert _changes(story["status_order"], ORDER) == [
        (f"{ORDER}/status/2027", "REGULAR", "EXCLUSIVE", 3_200),
        (f"{ORDER}/status/2028/r1", "REGULAR", "LOYAL", 200)]  # 2,000 + 3,200 carried
    m = story["order"]
    assert m.qualifying[2028].carried_points == 3_200 and m.qualifying[2029].carried_points == 200
    assert m.statuses == {2028: "EXCLUSIVE", 2029: "LOYAL"} and m.closed == {2027: "EXCLUSIVE", 2028: "LOYAL"}


def test_close_year_again_and_a_redelivery_change_nothing(story):
    assert story["close_2026_again"]["changed"] == 0
    ids = [r["event_id"] for r in story["status_at_end"]]
    new = story["status_at_end"][len(story["status_after_late"]):]
    # the redelivered audit posting repeats its StatusChange, same id and content; nothing else is new
    assert [r["event_id"] for r in new] == [f"{UP}/status/2026/r1"]
    assert new[0] == next(r for r in story["status_after_late"] if r["event_id"] == f"{UP}/status/2026/r1")
    assert len(set(ids)) == len(ids) - 1
