"""What the office console shows about a member, computed from the store (no HTML here): the summary,
the next status and the distance to it, lots, qualifying years, held charges, and the ledger with the
decision behind each entry. Formatting as a Japanese office expects: ¥ with thousands separators,
dates 2026年3月14日（土）, times in JST."""
from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import orjson

from processors.model import JST
from processors.validity import jst_date
from streams.redis.keys import member_keys
from streams.redis.member_store import MemberStore
from streams.web.member_view import member_json

WEEKDAYS = "月火水木金土日"
STATUS_JA = {"REGULAR": "レギュラー", "LOYAL": "ロイヤル", "EXCLUSIVE": "エクスクルーシブ"}
PAGE = 20


def ja_date(value: str | date | None) -> str:
    if not value:
        return "—"
    d = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    return f"{d.year}年{d.month}月{d.day}日（{WEEKDAYS[d.weekday()]}）"


def ja_time(value: str | datetime | None) -> str:
    if not value:
        return "—"
    t = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    t = t.astimezone(JST)
    return f"{t.year}/{t.month:02d}/{t.day:02d} {t.hour:02d}:{t.minute:02d}"


def yen(value) -> str:
    if value is None:
        return "—"
    v = Decimal(str(value))
    return f"¥{v:,.0f}" if v == v.to_integral_value() else f"¥{v:,.2f}"


def pts(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


def next_status(view: dict, thresholds, today: date) -> dict:
    """The next status above the one in force and how far this year's counters are from it."""
    order = ["REGULAR", "LOYAL", "EXCLUSIVE"]
    q = view["qualifying"].get(str(today.year), {"points": 0, "nights": 0, "carried_points": 0, "carried_nights": 0})
    points, nights = q["points"] + q["carried_points"], q["nights"] + q["carried_nights"]
    by_status = {t.status: t for t in thresholds}
    current = view["status"]
    targets = [s for s in order[order.index(current) + 1:]] or ["EXCLUSIVE"]
    target = targets[0]
    t = by_status[target]
    return {"status": target, "status_ja": STATUS_JA[target], "year": today.year, "requalify": current == target,
            "points": points, "nights": nights, "points_needed": max(0, t.points - points),
            "nights_needed": max(0, t.nights - nights), "threshold_points": t.points, "threshold_nights": t.nights,
            "reached": points >= t.points or nights >= t.nights,
            "valid_from": date(today.year + 1, 4, 1), "valid_until": date(today.year + 2, 3, 31)}


def explain(sid: str, rec: dict | None) -> str:
    """One line on the decision behind a ledger entry (its source record)."""
    if rec is None:
        return "expiry run" if sid.startswith("X:") else "—"
    outcome, reason, detail = rec.get("o"), rec.get("r"), rec.get("dt")
    if sid.startswith("A:"):
        return f"adjustment {outcome}: {detail or reason or ''}"
    if sid.startswith("K:"):
        s = json.loads(detail or "{}")
        return f"claim {outcome}{' ' + reason if reason else ''} of {s.get('c', '?')}"
    if sid.startswith("R:"):
        used = ", ".join(f"{p:,} from {ja_date(lot)}" for lot, p in rec.get("lu", []))
        return f"redemption {outcome}" + (f" ({used})" if used else "") + (f" {reason}" if reason else "")
    parts = [outcome or ""]
    if reason:
        parts.append(reason)
    if rec.get("ea") is not None:
        parts.append(f"eligible {yen(rec['ea'])}")
    if rec.get("fx"):
        parts.append(f"at ¥{Decimal(rec['fx']):,.2f}")
    if rec.get("n"):
        parts.append(f"{rec['n']} night(s)")
    if detail:
        parts.append(detail)
    return " · ".join(p for p in parts if p)


def console_view(store: MemberStore, thresholds, member_id: str, page: int = 0,
                 today: date | None = None) -> dict | None:
    today = today or jst_date(datetime.now(UTC))
    view = member_json(store, member_id, today=today, ledger=0)
    if view is None:
        return None
    total = store.ledger_length(member_id)
    pages = max(1, -(-total // PAGE))
    page = min(max(page, 0), pages - 1)
    entries = store.recent_ledger(member_id, page * PAGE, PAGE)
    sids = list(dict.fromkeys(e["source_id"] for e in entries))
    held_sids = [h["source_id"] for h in view["held"]]
    raw = store.redis.hmget(member_keys(member_id)[1], sids) if sids else []
    records = {sid: orjson.loads(r) if r else None for sid, r in zip(sids, raw)}
    for e in entries:
        e["why"] = explain(e["source_id"], records.get(e["source_id"]))
    m = store.load(member_id)
    held = []
    for sid in held_sids:
        h = m.held.get(sid)
        ev = h.event if h else None
        held.append({"source_id": sid, "reason": h.reason if h else "?", "since": h.first_seen if h else None,
                     "hotel": getattr(ev, "hotel_code", ""), "business_date": getattr(ev, "business_date", None),
                     "amount": getattr(ev, "amount", None), "currency": getattr(ev, "currency", "")})
    return {"m": view, "status_ja": STATUS_JA.get(view["status"], view["status"]),
            "next": next_status(view, thresholds, today), "entries": entries, "page": page, "pages": pages,
            "total": total, "held": held, "today": today}
