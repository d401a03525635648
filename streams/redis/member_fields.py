"""The fields of a member's core hash ``{m:ID}``: their names and value formats, and the translation
between them and the aggregate (processors/member.py). The only module that knows both sides.

| field                | holds |
|----------------------|-------|
| ``v``                | version (the compare-and-set key) |
| ``n``                | save token (random per save) |
| ``en``               | ``enrolled_on|state`` |
| ``debt``             | the debt (points owed) |
| ``L:<expiry>``       | the points left in the lot expiring on that date |
| ``Q:<year>``         | qualifying counters ``points,nights,carried_points,carried_nights`` |
| ``S:<program year>`` | the status of that program year (absent: REGULAR) |
| ``C:<year>``         | the year closed: status attained, ``|<n>`` after n revisions by late postings |
| ``X:<lot>``          | how many expiry runs took points from the lot |
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from processors.changes import Changes
from processors.member import Member
from processors.model import Qualifying

VERSION = "v"
TOKEN = "n"
ENROLLMENT = "en"
DEBT = "debt"


@dataclass(frozen=True, slots=True)
class CoreWrite:
    """The fields a save sets and deletes in the core hash."""
    sets: dict[str, str | int]
    dels: list[str]


def member_from_fields(member_id: str, fields: Mapping[str, str]) -> Member:
    """A member from its core hash (no source records, no held inputs)."""
    m = Member(member_id)
    for f, v in fields.items():
        kind, _, arg = f.partition(":")
        if f == VERSION:
            m.version = int(v)
        elif f == ENROLLMENT:
            d, _, state = v.partition("|")
            m.enrolled_on, m.enrollment_state = date.fromisoformat(d), state
        elif f == DEBT:
            m.lots.debt = int(v)
        elif kind == "L":
            m.lots.by_expiry[date.fromisoformat(arg)] = int(v)
        elif kind == "Q":
            p, n, cp, cn = (int(x) for x in v.split(","))
            m.qualifying[int(arg)] = Qualifying(p, n, cp, cn)
        elif kind == "S":
            m.statuses[int(arg)] = v
        elif kind == "C":  # "STATUS" or "STATUS|<revisions announced>"
            status, _, rev = v.partition("|")
            m.closed[int(arg)] = status
            if rev:
                m.revisions[int(arg)] = int(rev)
        elif kind == "X":
            m.expired_count[date.fromisoformat(arg)] = int(v)
    return m


def core_write(m: Member, loaded: Mapping[str, str]) -> CoreWrite:
    """The fields to set and delete for what ``m.changes`` names, against the hash as ``loaded``."""
    c: Changes = m.changes
    sets: dict[str, str | int] = {}
    dels: list[str] = []
    if c.enrollment:
        assert m.enrolled_on is not None, "the enrollment changes only to an enrollment"
        sets[ENROLLMENT] = f"{m.enrolled_on.isoformat()}|{m.enrollment_state}"
    if c.lots:
        sets[DEBT] = m.lots.debt
        current = {f"L:{d.isoformat()}": p for d, p in m.lots.by_expiry.items() if p}
        sets.update(current)
        dels += [f for f in loaded if f.startswith("L:") and f not in current]
    for year in sorted(c.qualifying_years):
        q = m.qualifying[year]
        sets[f"Q:{year}"] = f"{q.points},{q.nights},{q.carried_points},{q.carried_nights}"
    for year in sorted(c.status_years):
        if year in m.statuses:
            sets[f"S:{year}"] = m.statuses[year]
        else:  # downgraded to REGULAR by a revision before it took effect
            dels.append(f"S:{year}")
    for year in sorted(c.closed_years):
        rev = m.revisions.get(year, 0)
        sets[f"C:{year}"] = f"{m.closed[year]}|{rev}" if rev else m.closed[year]
    for lot in sorted(c.expired_lots):
        sets[f"X:{lot.isoformat()}"] = m.expired_count[lot]
    return CoreWrite(sets, dels)


def core_after(loaded: Mapping[str, str], write: CoreWrite, version: int, token: str | None) -> dict[str, str | int]:
    """The whole core hash after ``write`` at ``version`` (with the save ``token`` when known)."""
    fields: dict[str, str | int] = dict(loaded)
    for f in write.dels:
        fields.pop(f, None)
    fields.update(write.sets)
    fields[VERSION] = version
    if token is not None:
        fields[TOKEN] = token
    return fields
