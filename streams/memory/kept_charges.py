"""The engine's ``KeptCharges`` port in memory: charges without member id kept for claims, and the
markers of the claims that took them (expiring like the Redis keys, by the engine's clock)."""
from __future__ import annotations

import base64
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

import orjson

from processors.corrections import corrected_id
from processors.office_model import KeptCharge
from streams.engine.events import fingerprint, window_end


class MemoryKeptCharges:
    def __init__(self, topics, decode: Callable[[bytes], Any]):
        self.topics = topics
        self.decode = decode
        self.charges: dict[str, tuple[bytes, datetime]] = {}  # source id -> (bytes, kept until)
        self.taken: dict[str, str] = {}  # source id -> "<member>|<claim id>"
        self.now: datetime | None = None  # the engine's clock at the last keep (expiry reference)

    def topic_of(self, sid: str) -> str:
        return self.topics.postings if sid.startswith("P:") else self.topics.bills

    def _live(self, sid: str) -> bytes | None:
        kept = self.charges.get(sid)
        if kept is None or (self.now is not None and kept[1] <= self.now):
            return None
        return kept[0]

    def owners_of_originals(self, events: Iterable[Any]) -> dict[str, str]:
        originals = {sid for sid in (corrected_id(ev) for ev in events) if sid}
        return {sid: self.taken[sid].split("|", 1)[0] for sid in originals if sid in self.taken}

    def keep(self, charges: list[tuple[Any, bytes]], window_days: int, now: datetime) -> list[tuple[str, bytes]]:
        self.now = now
        out = []
        for ev, raw in charges:
            end = window_end(ev.business_date, window_days)
            if end <= now:
                continue
            self.charges[ev.source_id] = (raw, end)
            out.append((f"k|{ev.source_id}", orjson.dumps({"raw": base64.b64encode(raw).decode(),
                                                           "until": int(end.timestamp())})))
        return out

    def find(self, claims: list[tuple[str, Any, list[str]]]) -> dict[str, tuple[KeptCharge | None, bool]]:
        out: dict[str, tuple[KeptCharge | None, bool]] = {}
        for mid, claim, sids in claims:
            found: tuple[KeptCharge | None, bool] = (None, False)
            for sid in sids:
                raw = self._live(sid)
                if raw and found[0] is None:
                    by = self.taken.get(sid)
                    found = (KeptCharge(sid, self.topic_of(sid), raw, self.decode(raw), fingerprint(raw)),
                             by is not None and by != f"{mid}|{claim.claim_id}")
            out[claim.claim_id] = found
        return out

    def reserve(self, mid: str, claim, sid: str) -> bool:
        owner = f"{mid}|{claim.claim_id}"
        return self.taken.setdefault(sid, owner) == owner
