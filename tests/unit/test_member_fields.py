"""The translation between the member aggregate and its core hash (streams/redis/member_fields.py), and
the one answer to "which source does this correction point at" (original_source_id).

The round trip drives a member through the rules unit of work by unit of work, as the engine does,
applies each unit's ``Member.changes`` to a stored hash the way the save script does (set, then
delete), and reads the member back from that hash: it must be the member the rules left.
"""
from __future__ import annotations

from datetime import date

from processors.changes import Changes
from processors.corrections import corrected_id
from processors.member import Member
from processors.model import MemberEnrollment, Qualifying, original_source_id
from streams.redis.member_fields import core_after, core_write, member_from_fields
from tests.unit.test_member_aggregate import CFG, CTX, L29, bill, charge, posting, step


def state(m: Member) -> tuple:
    return (m.enrolled_on, m.enrollment_state, {d: p for d, p in m.lots.by_expiry.items() if p}, m.lots.debt,
            m.qualifying, m.statuses, m.closed, m.revisions, m.expired_count)


def save(m: Member, stored: dict[str, str], version: int) -> dict[str, str]:
    """What apply_member.lua leaves in the core hash, as strings (Redis stores strings)."""
    after = core_after(stored, core_write(m, stored), version, f"token{version}")
    step(m)
    return {f: str(v) for f, v in after.items()}


def test_original_source_id_of_each_event():
    assert original_source_id(posting("p2", "-100", corrects="p1")) == "P:p1"
    assert posting("p2", "-100", corrects="p1").original_source_id == "P:p1"
    assert original_source_id(posting("p2", "100", corrects="p1")) == "P:p1"  # points at it, earns upward
    assert original_source_id(posting("p1", "100")) is None
    assert original_source_id(bill("b2", "-100", voids="b1")) == "B:b1"
    assert original_source_id(bill("b1", "100")) is None
    assert original_source_id(MemberEnrollment("M1", date(2026, 1, 1), "ACTIVE")) is None
    assert original_source_id(None) is None


def test_decided_as_a_correction_only_downward():
    assert corrected_id(posting("p2", "-100", corrects="p1")) == "P:p1"
    assert corrected_id(posting("p2", "0", corrects="p1")) == "P:p1"  # nights only
    assert corrected_id(posting("p2", "100", corrects="p1")) is None  # an upward correction earns
    assert corrected_id(posting("p2", "NaN", corrects="p1")) is None  # REJECTED by the assessment
    assert corrected_id(posting("p1", "-100")) is None
    assert corrected_id(bill("b2", "0", voids="b1")) == "B:b1"


def test_changes_round_trip_through_the_core_hash():
    m = Member("M1")
    m.handle_enrollment(MemberEnrollment("M1", date(2026, 1, 1), "ACTIVE"), CTX)
    assert m.changes == Changes(enrollment=True)
    stored = save(m, {}, 1)
    assert stored["en"] == "2026-01-01|ACTIVE" and stored["v"] == "1" and stored["n"] == "token1"
    assert state(member_from_fields("M1", stored)) == state(m)

    charge(m, posting("P1", "1000000", "2026-03-14", nights=3))
    assert m.changes == Changes(lots=True, qualifying_years={2026})
    stored = save(m, stored, 2)
    assert state(member_from_fields("M1", stored)) == state(m)

    assert m.close_year(2026, CFG, date(2027, 1, 1)) is not None  # upgraded: status and carry-forward
    assert m.changes.closed_years == {2026} and m.changes.status_years == {2027}
    stored = save(m, stored, 3)
    assert state(member_from_fields("M1", stored)) == state(m)

    assert m.expire(date(2029, 2, 1)) > 0  # the lot of March 2026 expires: its field goes
    assert m.changes.lots and m.changes.expired_lots == {L29}
    stored = save(m, stored, 4)
    assert not any(f.startswith("L:") for f in stored) and stored[f"X:{L29.isoformat()}"] == "1"
    assert state(member_from_fields("M1", stored)) == state(m)
    assert member_from_fields("M1", stored).version == 4


def test_a_status_withdrawn_before_it_took_effect_is_deleted():
    loaded = {"v": "7", "n": "t", "S:2027": "LOYAL", "C:2026": "LOYAL", "Q:2027": "0,0,200,0"}
    m = member_from_fields("M1", loaded)
    assert m.statuses == {2027: "LOYAL"} and m.qualifying[2027] == Qualifying(0, 0, 200, 0)
    del m.statuses[2027]
    m.closed[2026], m.revisions[2026] = "REGULAR", 1
    m.qualifying[2027].carried_points = 0
    m.changes.status_years.add(2027)
    m.changes.closed_years.add(2026)
    m.changes.qualifying_years.add(2027)
    write = core_write(m, loaded)
    assert write.dels == ["S:2027"]
    assert write.sets == {"Q:2027": "0,0,0,0", "C:2026": "REGULAR|1"}
    after = core_after(loaded, write, 8, None)
    assert after == {"v": 8, "n": "t", "C:2026": "REGULAR|1", "Q:2027": "0,0,0,0"}  # no token: the old one stays


def test_nothing_changed_writes_nothing():
    m = member_from_fields("M1", {"v": "3", "en": "2026-01-01|ACTIVE", "debt": "0", "L:2029-01-31": "50"})
    assert not m.changes and not m.changed
    write = core_write(m, {})
    assert write.sets == {} and write.dels == []
    assert m.balance == 50
