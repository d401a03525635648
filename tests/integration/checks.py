"""Reading the engine's results back for assertions: member state from Redis, outputs from Kafka."""
from __future__ import annotations

from collections import defaultdict

from schemas.codec import Codec
from streams.engine.events import to_domain
from streams.redis.client import connect
from streams.redis.member_store import MemberStore
from streams.web.member_view import member_json
from tests.harness import decoded, read_topic
from tests.oracle import normalize_view


def store_for(redis_url: str) -> MemberStore:
    codec = Codec()

    def decode_held(topic, raw):
        name, record = codec.decode(raw)
        return to_domain(name, record)
    return MemberStore(connect(redis_url), decode_held)  # a cluster client for a cluster node


def views(store: MemberStore, members) -> dict[str, dict | None]:
    return {m: member_json(store, m) for m in members}


def comparable(view: dict | None) -> dict:
    if view is None:  # never seen: nothing earned
        return {"balance": 0, "debt": 0, "lots": [], "qualifying": {}}
    return normalize_view(view)


def ledger(bootstrap: str, topic: str) -> tuple[dict[str, dict], list[str]]:
    """(entries by entry_id, problems): a replayed entry must be identical to the first copy."""
    by_id: dict[str, dict] = {}
    problems = []
    for e in decoded(bootstrap, topic):
        first = by_id.setdefault(e["entry_id"], e)
        if first != e:
            problems.append(f"entry {e['entry_id']} published with different content: {first} vs {e}")
    return by_id, problems


def ledger_sums(entries: dict[str, dict]) -> tuple[dict[str, int], dict[str, int]]:
    """Σ points per member and per source id."""
    per_member: dict[str, int] = defaultdict(int)
    per_source: dict[str, int] = defaultdict(int)
    for e in entries.values():
        per_member[e["member_id"]] += e["points"]
        per_source[e["source_id"]] += e["points"]
    return dict(per_member), dict(per_source)


def decisions_by_source(bootstrap: str, topic: str) -> dict[str, list[dict]]:
    """Decisions per source id, in topic order (all decisions of one source share a key, so a partition)."""
    out: dict[str, list[dict]] = defaultdict(list)
    codec = Codec()
    for m in read_topic(bootstrap, topic):
        d = codec.decode(m.value())[1]
        d["_key"] = m.key().decode() if m.key() is not None else None
        out[d["source_id"]].append(d)
    return dict(out)


def final_decision_problems(by_source: dict[str, list[dict]], source_ids, *, replayed: bool = False) -> list[str]:
    """Every input has exactly one final decision (identical copies allowed after a replay), and HELD
    decisions only before it."""
    problems = []
    for sid in source_ids:
        ds = by_source.get(sid, [])
        finals = [d for d in ds if d["outcome"] != "HELD"]
        distinct = {tuple(sorted((k, str(v)) for k, v in d.items())) for d in finals}
        if not finals:
            problems.append(f"{sid}: no final decision ({[d['outcome'] for d in ds]})")
        elif (len(distinct) if replayed else len(finals)) != 1:
            diff = {k: [d.get(k) for d in finals] for k in finals[0] if len({str(d.get(k)) for d in finals}) > 1}
            problems.append(f"{sid}: {len(finals)} final decisions: {[(d['outcome'], d['reason']) for d in finals]}"
                            f" differing in {diff}")
        else:
            first_final = next(i for i, d in enumerate(ds) if d["outcome"] != "HELD")
            if any(d["outcome"] == "HELD" for d in ds[first_final:]) and not replayed:
                problems.append(f"{sid}: HELD after the final decision")
    return problems


def decision_id_problems(by_source: dict[str, list[dict]]) -> list[str]:
    """A decision id names one decision: every copy published under it has the same content."""
    seen: dict[str, dict] = {}
    problems = []
    for ds in by_source.values():
        for d in ds:
            first = seen.setdefault(d["decision_id"], d)
            if first != d:
                problems.append(f"decision id {d['decision_id']}: {first['outcome']}/{first['reason']} and "
                                f"{d['outcome']}/{d['reason']}")
    return problems
