"""The engine's index writes and the releases that walk those indexes: held inputs retried when an
FX rate arrives, inputs of members who never enrolled rejected after the grace period, RELEASED
markers published again after a crash and dropped once their outputs are delivered.

Talks to the store's ``MemberIndex`` port only (logical index names, see streams/engine/ports.py).
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from processors.member import Member
from streams.engine.messages import BatchResult

if TYPE_CHECKING:
    from streams.engine.batch import Engine

RELEASED = "released"  # members with RELEASED markers (outputs maybe not published yet)
UNKNOWN = "unknown"  # members with inputs awaiting enrollment, by deadline (first seen + grace)
HELD = "held"  # members with held inputs, by first hold (held-input metrics)
LOT_DATES = "lotdates"  # every lot expiry date some member holds points of


def fx_waiting(currency: str) -> str:
    return f"fxwait:{currency}"


def lots_of(expiry: str) -> str:
    return f"lots:{expiry}"


def index_writes(members: Iterable[Member], grace_seconds: float
                 ) -> tuple[dict[str, set[str]], dict[str, dict[str, float]]]:
    """The index entries the members' effects ask for: (set name -> members or values, scored
    index name -> member -> earliest score)."""
    adds: dict[str, set[str]] = defaultdict(set)
    earliest: dict[str, dict[str, float]] = {}
    for m in members:
        for kind, value in m.effects.index:
            if kind == "released":
                adds[RELEASED].add(m.member_id)
            elif kind in (HELD, UNKNOWN):  # held: by first hold; unknown: by deadline
                score = datetime.fromisoformat(value).timestamp() + (grace_seconds if kind == UNKNOWN else 0)
                scores = earliest.setdefault(kind, {})
                scores[m.member_id] = min(score, scores.get(m.member_id, score))
            else:
                adds[f"{kind}:{value}"].add(m.member_id)
                if kind == "lots":
                    adds[LOT_DATES].add(value)
    return adds, earliest


def write_index(engine: Engine, members: Iterable[Member]) -> None:
    """Global indexes (their own keys, outside the members' state): idempotent adds."""
    adds, earliest = index_writes(members, engine.config_source().unknown_member_grace_hours * 3600)
    if adds or earliest:
        engine.store.index.add(adds, earliest)


def clean_released(engine: Engine, result: BatchResult) -> None:
    """After the batch's outputs are delivered: drop the RELEASED markers they covered."""
    if result.released:
        engine.store.drop_released(result.released)
        result.released.clear()


def release_markers(engine: Engine, result: BatchResult | None = None) -> BatchResult:
    """Members whose released inputs may not have been published (a crash): publish again."""
    result = result or BatchResult()
    index = engine.store.index
    members = index.members(RELEASED)
    if members:
        done = engine.run({mid: [] for mid in members}, engine.context(), result)
        empty = [mid for mid, m in done.items() if not m.released]
        if empty:
            index.remove(RELEASED, empty)
    return result


def release_fx(engine: Engine, currencies: Iterable[str], result: BatchResult | None = None) -> BatchResult:
    """Retry the inputs held for an FX rate of these currencies."""
    result = result or BatchResult()
    index = engine.store.index
    for cur in currencies:
        members = index.members(fx_waiting(cur))
        if not members:
            continue
        ctx = engine.context()
        done = engine.run({mid: [] for mid in members}, ctx, result,
                          job=lambda m, ctx=ctx, cur=cur: m.retry_held(ctx, lambda h: h.currency == cur))
        still = [mid for mid, m in done.items()
                 if any(held.currency == cur for held in m.held.values())]
        gone = set(members) - set(still)
        if gone:
            index.remove(fx_waiting(cur), gone)
    return result


def release_unknown(engine: Engine, result: BatchResult | None = None) -> BatchResult:
    """Reject (UNKNOWN_MEMBER) inputs whose member did not enroll within the grace period."""
    result = result or BatchResult()
    ctx = engine.context()
    index = engine.store.index
    due = index.due(UNKNOWN, ctx.now.timestamp())
    if due:
        done = engine.run({mid: [] for mid in due}, ctx, result,
                          job=lambda m: m.retry_held(ctx, lambda h: h.reason == "AWAITING_ENROLLMENT"))
        grace = ctx.cfg.unknown_member_grace_hours * 3600
        for mid, m in done.items():
            waiting = [h.first_seen for h in m.held.values() if h.reason == "AWAITING_ENROLLMENT"]
            index.reschedule(UNKNOWN, mid, min(waiting).timestamp() + grace if waiting else None)
    return result
