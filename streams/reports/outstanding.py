"""Points liability: what the programme owes (outstanding points) and its movement.

Outstanding part, from Redis: the expiry job's indexes — ``idx:lotdates`` (every lot date) and
``idx:lots:<date>`` (members holding points of that lot) — read ``chunk`` members at a time with one
pipelined HMGET per chunk (``L:<date>``, the status of the program year of the as-of date), then
a SCAN of the members' core hashes for the debt (negative balances: a correction after the points
were spent; no index lists them). Memory: the totals by (expiry date, status) and one chunk, never
all members. The yen value is points × ``yen_per_point`` (default: the PAY_BY_POINTS award of the
program configuration, 400 points per ¥500 → ¥1.25; ``--yen-per-point`` or
``HARMONY_YEN_PER_POINT`` overrides it).

Outstanding is Redis *now*, classified as of the as-of date: lots whose validity ended before it
but that the expiry job has not removed yet are reported as ``expired_pending``. Movement (issued,
redeemed, expired, adjusted per month and hotel; breakage per earn-year) is read from the ledger
topic up to the as-of date: streams/reports/movement.py.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from processors.status import program_year
from streams.redis.keys import MEMBER_SCAN, index_key, member_keys

CHUNK = 1000
STATUSES = ("REGULAR", "LOYAL", "EXCLUSIVE")


def yen_per_point(cfg=None, override: str | None = None) -> Decimal:
    """Override (option or HARMONY_YEN_PER_POINT), else the PAY_BY_POINTS award of ``cfg``, else 1.25."""
    text = override or os.environ.get("HARMONY_YEN_PER_POINT")
    if text:
        return Decimal(text)
    award = getattr(cfg, "awards", {}).get("PAY_BY_POINTS") if cfg is not None else None
    if award is not None and award.per_jpy:
        return Decimal(award.per_jpy) / Decimal(award.points)
    return Decimal("1.25")


@dataclass
class Outstanding:
    as_of: date
    by_expiry_status: dict[tuple[date, str], int] = field(default_factory=dict)
    members_by_expiry: dict[date, int] = field(default_factory=dict)
    members_by_status: dict[str, int] = field(default_factory=dict)
    debt: int = 0
    members_in_debt: int = 0
    index_entries_read: int = 0  # members read through the lot indexes (a member is in one set per lot)
    member_keys_scanned: int = 0

    @property
    def points(self) -> int:
        return sum(self.by_expiry_status.values())

    def by_expiry(self) -> dict[date, int]:
        out: dict[date, int] = {}
        for (d, _), p in self.by_expiry_status.items():
            out[d] = out.get(d, 0) + p
        return dict(sorted(out.items()))

    def by_status(self) -> dict[str, int]:
        out = {s: 0 for s in STATUSES}
        for (_, s), p in self.by_expiry_status.items():
            out[s] = out.get(s, 0) + p
        return out


def _s(v) -> str:
    return v.decode() if isinstance(v, bytes) else v


def outstanding(redis, as_of: date, chunk: int = CHUNK) -> Outstanding:
    out = Outstanding(as_of)
    py_field = f"S:{program_year(as_of)}"
    dates = sorted(date.fromisoformat(_s(x)) for x in redis.smembers(index_key("lotdates")))
    for i, d in enumerate(dates):
        key = index_key(f"lots:{d.isoformat()}")
        # this lot, the status, and the earlier lots: a member is counted (members by status) at its
        # soonest lot only — a handful of lot dates (one per earn-year), so the HMGET stays small
        fields = [f"L:{d.isoformat()}", py_field] + [f"L:{e.isoformat()}" for e in dates[:i]]
        cursor = 0
        while True:
            cursor, members = redis.sscan(key, cursor, count=chunk)
            members = sorted({_s(m) for m in members})
            if members:
                pipe = redis.pipeline(transaction=False)
                for mid in members:
                    pipe.hmget(member_keys(mid)[0], fields)
                for values in pipe.execute():
                    out.index_entries_read += 1
                    p = int(values[0]) if values[0] is not None else 0
                    if p <= 0:  # spent or expired since it was indexed
                        continue
                    st = _s(values[1]) if values[1] is not None else "REGULAR"
                    out.by_expiry_status[(d, st)] = out.by_expiry_status.get((d, st), 0) + p
                    out.members_by_expiry[d] = out.members_by_expiry.get(d, 0) + 1
                    if not any(v is not None and int(v) > 0 for v in values[2:]):
                        out.members_by_status[st] = out.members_by_status.get(st, 0) + 1
            if cursor == 0:
                break
    _debt(redis, out, chunk)
    return out


def _debt(redis, out: Outstanding, chunk: int) -> None:
    """Σ debt over every member (SCAN of the core hashes ``{m:ID}``, ``chunk`` keys at a time)."""
    batch: list[str] = []

    def flush() -> None:
        pipe = redis.pipeline(transaction=False)
        for k in batch:
            pipe.hget(k, "debt")
        for v in pipe.execute():
            d = int(v) if v is not None else 0
            if d > 0:
                out.debt += d
                out.members_in_debt += 1
        batch.clear()

    for k in redis.scan_iter(match=MEMBER_SCAN, count=chunk):
        out.member_keys_scanned += 1
        batch.append(_s(k))
        if len(batch) >= chunk:
            flush()
    if batch:
        flush()


def as_dict(o: Outstanding, yen: Decimal) -> dict[str, Any]:
    def y(p: int) -> str:
        return str((Decimal(p) * yen).quantize(Decimal("0.01")))
    by_exp = o.by_expiry()
    return {
        "points": o.points, "yen": y(o.points), "debt_points": o.debt, "members_in_debt": o.members_in_debt,
        "net_points": o.points - o.debt, "net_yen": y(o.points - o.debt),
        "expired_pending_points": sum(p for d, p in by_exp.items() if d < o.as_of),
        "by_expiry": [{"expires_on": d.isoformat(), "points": p, "yen": y(p), "members": o.members_by_expiry.get(d, 0),
                       "expired_pending": d < o.as_of} for d, p in by_exp.items()],
        "by_status": [{"status": s, "points": p, "yen": y(p), "members": o.members_by_status.get(s, 0)}
                      for s, p in o.by_status().items()],
        "by_expiry_status": [{"expires_on": d.isoformat(), "status": s, "points": p, "yen": y(p)}
                             for (d, s), p in sorted(o.by_expiry_status.items())],
    }
