"""Charges published without a member id, kept for missing-points claims (program-rules §4a).

Redis layout (global keys, one hash tag per charge so a charge and its claim marker share a slot):

| key              | type   | holds |
|------------------|--------|-------|
| ``kc:{P:ID}``    | string | the charge's Avro bytes, expiring at the end of the claim window (JST) |
| ``kc:{P:ID}:by`` | string | ``<member>|<claim id>`` of the claim that took it (same expiry) |

The marker is set (``SET NX``) after the claiming member was decided and before its save, and
only for a claim that takes the charge: two members claiming the same charge at once cannot both
earn it (the loser is decided again, ALREADY_CREDITED). A
memberless correction of a claimed charge is routed to the member who claimed it. Both keys are
also written to the changelog topic (``k|``/``c|`` records) so ``harmony rebuild`` restores them.
Memory per kept charge: see README ("Missing-points claims").
"""
from __future__ import annotations

import base64
from collections.abc import Callable, Iterable
from datetime import datetime
from time import time as time_now
from typing import Any

import orjson

from processors.corrections import corrected_id
from processors.office_model import KeptCharge
from streams.engine.events import fingerprint, window_end
from streams.redis.batch import Batch
from streams.redis.keys import charge_key


class KeptCharges:
    def __init__(self, redis, topics, decode: Callable[[bytes], Any]):
        self.redis = redis
        self.topics = topics
        self.decode = decode  # Avro bytes -> domain event

    def topic_of(self, sid: str) -> str:
        return self.topics.postings if sid.startswith("P:") else self.topics.bills

    # ------------------------------------------------------------------ memberless charges
    def owners_of_originals(self, events: Iterable[Any]) -> dict[str, str]:
        """For memberless corrections: original source id -> member who claimed the original."""
        originals = sorted({sid for sid in (corrected_id(ev) for ev in events) if sid})
        if not originals:
            return {}
        b = Batch(self.redis)
        for sid in originals:
            key = charge_key(sid) + ":by"
            b.add(key, lambda p, k=key: p.get(k))
        return {sid: v.decode().split("|", 1)[0] for sid, v in zip(originals, b.execute()) if v}

    def keep(self, charges: list[tuple[Any, bytes]], window_days: int, now: datetime) -> list[tuple[str, bytes]]:
        """Keep memberless charges (event, Avro bytes) until their claim window ends; returns the
        changelog records (key, value) to publish with the batch."""
        b = Batch(self.redis)
        out = []
        for ev, raw in charges:
            end = window_end(ev.business_date, window_days)
            if end <= now:
                continue
            key = charge_key(ev.source_id)
            # relative expiry: the engine's clock decides what is in the window, not Redis's
            ttl = int((end - now).total_seconds()) + 1
            b.add(key, lambda p, k=key, v=raw, t=ttl: p.set(k, v, ex=t))
            out.append((f"k|{ev.source_id}", orjson.dumps({"raw": base64.b64encode(raw).decode(),
                                                           "until": int(end.timestamp())})))
        if out:
            b.execute()
        return out

    # ------------------------------------------------------------------ claims
    def find(self, claims: list[tuple[str, Any, list[str]]]) -> dict[str, tuple[KeptCharge | None, bool]]:
        """For each (member, claim, candidate source ids): the kept charge (or None) and whether
        another claim holds it already (one pipelined round trip)."""
        b = Batch(self.redis)
        for _, _, sids in claims:
            for sid in sids:
                key = charge_key(sid)
                b.add(key, lambda p, k=key: p.get(k))
                b.add(key, lambda p, k=key + ":by": p.get(k))
        replies = iter(b.execute())
        out: dict[str, tuple[KeptCharge | None, bool]] = {}
        for mid, claim, sids in claims:
            found: tuple[KeptCharge | None, bool] = (None, False)
            for sid in sids:
                raw, by = next(replies), next(replies)
                if raw and found[0] is None:
                    owner = f"{mid}|{claim.claim_id}"
                    found = (KeptCharge(sid, self.topic_of(sid), raw, self.decode(raw), fingerprint(raw)),
                             bool(by) and by.decode() != owner)
            out[claim.claim_id] = found
        return out

    def reserve(self, mid: str, claim, sid: str) -> bool:
        """Mark the charge ``sid`` as taken by this claim (before the member's save); False when
        another claim took it meanwhile. Same expiry as the kept charge."""
        owner = f"{mid}|{claim.claim_id}"
        key = charge_key(sid)
        ttl = self.redis.pttl(key)
        if self.redis.set(key + ":by", owner, nx=True, px=ttl if ttl and ttl > 0 else None):
            return True
        by = self.redis.get(key + ":by")
        return by is not None and by.decode() == owner


def restore(batch: Batch, kind: str, rest: str, value: bytes | None) -> bool:
    """`harmony rebuild`: the changelog records of kept charges and claim markers."""
    if kind not in ("k", "c"):
        return False
    key = charge_key(rest) + ("" if kind == "k" else ":by")
    if value is None:
        batch.add(key, lambda p, k=key: p.delete(k))
    elif kind == "k":
        d = orjson.loads(value)
        if d["until"] > time_now():
            raw = base64.b64decode(d["raw"])
            batch.add(key, lambda p, k=key, v=raw, t=d["until"]: p.set(k, v, exat=t))
    else:
        batch.add(key, lambda p, k=key, v=value: p.set(k, v))
    return True

