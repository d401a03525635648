"""The member as the API and `harmony member show` present it (interfaces.md)."""
from __future__ import annotations

from datetime import UTC, date, datetime

from processors.member import Member
from processors.model import JST
from processors.validity import jst_date
from streams.engine.outputs import current_status
from streams.redis.member_store import MemberStore


def member_json(store: MemberStore, member_id: str, today: date | None = None, ledger: int = 20) -> dict | None:
    """The member's state, or None when the engine has never seen the member."""
    if not store.exists(member_id):
        return None
    m: Member = store.load(member_id)
    today = today or jst_date(datetime.now(UTC))
    status, until = current_status(m, today)
    upcoming = {str(py): st for py, st in sorted(m.statuses.items()) if date(py, 4, 1) > today}
    return {
        "member_id": member_id,
        "enrolled_on": m.enrolled_on.isoformat() if m.enrolled_on else None,
        "enrollment_state": m.enrollment_state,
        "status": status,
        "status_valid_until": until.isoformat() if until else None,
        "upcoming_status": {py: {"status": st, "valid_from": f"{py}-04-01", "valid_until": f"{int(py) + 1}-03-31"}
                            for py, st in upcoming.items()},
        "balance": m.balance,
        "debt": m.lots.debt,
        "lots": [{"expires_on": d.isoformat(), "points": p} for d, p in sorted(m.lots.by_expiry.items()) if p],
        "qualifying": {str(y): {"points": q.points, "nights": q.nights, "carried_points": q.carried_points,
                                "carried_nights": q.carried_nights}
                       for y, q in sorted(m.qualifying.items())},
        "years_closed": {str(y): st for y, st in sorted(m.closed.items())},
        "held": [{"source_id": h.source_id, "reason": h.reason, "since": h.first_seen.isoformat()}
                 for h in sorted(m.held.values(), key=lambda h: h.first_seen)],
        "version": m.version,
        "last_entries": store.recent_ledger(member_id, 0, ledger),
    }


def member_text(view: dict) -> str:
    lines = [f"member {view['member_id']}  enrolled {view['enrolled_on']} ({view['enrollment_state']})",
             f"status   {view['status']}"
             + (f" until {view['status_valid_until']}" if view["status_valid_until"] else ""),
             f"balance  {view['balance']:,} points" + (f" (debt {view['debt']:,})" if view["debt"] else "")]
    for up in view["upcoming_status"].values():
        lines.append(f"next     {up['status']} from {up['valid_from']} to {up['valid_until']}")
    lines.append("lots")
    for lot in view["lots"]:
        lines.append(f"  expires {lot['expires_on']}  {lot['points']:>10,}")
    lines.append("qualifying      points  nights  carried pts  carried nights")
    for y, q in view["qualifying"].items():
        lines.append(f"  {y}  {q['points']:>12,}  {q['nights']:>6}  {q['carried_points']:>11,}"
                     f"  {q['carried_nights']:>14}")
    if view["held"]:
        lines.append("held")
        for h in view["held"]:
            lines.append(f"  {h['source_id']}  {h['reason']} since {h['since']}")
    lines.append("last ledger entries")
    for e in view["last_entries"]:
        at = datetime.fromisoformat(e["at"]).astimezone(JST).strftime("%Y-%m-%d %H:%M JST")
        lines.append(f"  {at}  {e['type']:<8} {e['points']:>+9,}  -> {e['balance_after']:>9,}  {e['source_id']}")
    return "\n".join(lines)
