"""Member state in Redis: load many members in one round trip, save them with compare-and-set.

Layout (every key of a member under the hash tag ``{m:ID}``, so it works on Redis Cluster):

| key            | type | holds |
|----------------|------|-------|
| ``{m:ID}``      | hash | the member's core fields (listed below the table) |
| ``{m:ID}:src``  | hash | source id → JSON SourceRecord (idempotency, reversals, replayed outputs) |
| ``{m:ID}:held`` | hash | source id → JSON held input (with its raw bytes, base64) |
| ``{m:ID}:led``  | list | the most recent ledger entries (JSON), for the API |

The fields of ``{m:ID}``: ``v`` version, ``n`` save token (random per save), ``en`` enrolled_on|state,
``debt``, ``L:<expiry>`` lot points, ``Q:<year>`` qualifying "points,nights,carried_points,carried_nights",
``S:<program year>`` status, ``C:<year>`` year closed (status attained, ``|<n>`` after n revisions by
late postings), ``X:<lot>`` expiry runs.
"""
from __future__ import annotations

import base64
import hashlib
import random
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from importlib import resources
from typing import Any

import orjson

from processors.member import Member
from processors.model import Qualifying
from processors.records import HeldEvent, SourceRecord
from streams.redis.batch import Batch
from streams.redis.kept_charges import KeptCharges
from streams.redis.keys import member_keys
from streams.redis.member_cache import MemberCache
from streams.redis.member_index import RedisMemberIndex, drop_released

LEDGER_KEEP = 100  # recent entries kept per member for the API; the full ledger is the topic


def _lua(name: str) -> str:
    return resources.files("streams.redis").joinpath("lua", name).read_text()


class Lua:
    """One Lua script, called by SHA with plain EVALSHA (no per-pipeline SCRIPT EXISTS round trip as
    redis-py's Script adds); loaded at start on every node, reloaded if Redis lost it."""

    def __init__(self, redis, source: str):
        self.redis = redis
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()

    def load(self) -> None:
        self.redis.script_load(self.source)

    def __call__(self, keys: list, args: list, client):
        return client.evalsha(self.sha, len(keys), *keys, *args)


class Scripts:
    """The Lua scripts of the store."""

    def __init__(self, redis):
        self.redis = redis
        self.read = Lua(redis, _lua("read_member.lua"))
        self.apply = Lua(redis, _lua("apply_member.lua"))
        self.position = Lua(redis, _lua("advance_position.lua"))
        self.load()
        Batch.on_noscript.append(self.load)

    def load(self) -> None:
        for script in (self.read, self.apply, self.position):
            script.load()


class MemberStore:
    """The engine's ``MemberStore`` port (streams/engine/ports.py) on Redis."""

    def __init__(self, redis, decode_held: Callable[[str, bytes], Any], ledger_keep: int = LEDGER_KEEP,
                 cache_size: int = 0):
        self.redis = redis
        self.scripts = Scripts(redis)
        self.decode_held = decode_held  # (topic, raw bytes) -> domain event
        self.ledger_keep = ledger_keep
        self.cache = MemberCache(cache_size)  # used only by load_many(cacheable=...) callers
        self._tokens = random.Random()  # seeded from the OS: save tokens differ between processes
        self.index = RedisMemberIndex(redis)

    def kept_charges(self, topics, decode: Callable[[bytes], Any]) -> KeptCharges:
        return KeptCharges(self.redis, topics, decode)

    # ------------------------------------------------------------------ load
    def load_many(self, wants: Mapping[str, Iterable[str]], cacheable: Iterable[str] = ()) -> dict[str, Member]:
        """Members by id, each with the source records named in ``wants[id]`` (if they exist).

        Members in ``cacheable`` (callers name those whose inputs need no existing source record:
        no corrections, voids or cancellations) come from the cache when it has them, without their
        source records: their save then checks that the ids it records are new (``queue_save``)."""
        members: dict[str, Member] = {}
        if cacheable and self.cache.capacity:
            get = self.cache.get
            for mid in cacheable:
                fields = get(mid)
                if fields is not None:
                    m = members[mid] = self._from_fields(mid, fields)
                    m._cached = True  # type: ignore[attr-defined]
            if members:
                wants = {mid: sids for mid, sids in wants.items() if mid not in members}
        ids = list(wants)
        if not ids:
            return members
        batch = Batch(self.redis)
        sid_lists = []
        read = self.scripts.read
        for mid in ids:
            sids = list(dict.fromkeys(wants[mid]))
            sid_lists.append(sids)
            core, src, held, _ = member_keys(mid)
            batch.add(core, lambda p, k=[core, src, held], a=sids: read(keys=k, args=a, client=p))
        replies = batch.execute()
        loaded = {mid: self._member(mid, reply, sids) for mid, reply, sids in zip(ids, replies, sid_lists)}
        self._load_originals_of_held(loaded.values())
        members.update(loaded)
        return members

    def remember(self, m: Member) -> None:
        """Keep ``m``'s core hash as it stands now (after its save, if any) in the cache; members with
        held inputs or released markers are not kept (their hash must be read)."""
        if not self.cache.capacity:
            return
        if m.held or m.released:
            self.cache.forget(m.member_id)
            return
        saved = m.saved_version
        if saved is None:
            fields = getattr(m, "_loaded_fields", None)
            if fields is None:
                return
        else:
            fields = {f: str(v) for f, v in self.core_fields(m, saved).items()}
        self.cache.put(m.member_id, fields)

    def _load_originals_of_held(self, members) -> None:
        """Held corrections need their originals' records too (rare: only members with held inputs).
        Read after the snapshot; the compare-and-set on the version makes the pair consistent."""
        missing = {}
        for m in members:
            need = [sid for sid in (_original_of(h.event) for h in m.held.values()) if sid and sid not in m.src]
            need += [sid for sid in m.released_loaded if sid not in m.src]
            if need:
                missing[m.member_id] = need
        if not missing:
            return
        batch = Batch(self.redis)
        for mid, sids in missing.items():
            key = member_keys(mid)[1]
            batch.add(key, lambda p, k=key, a=sids: p.hmget(k, a))
        for (mid, sids), values in zip(missing.items(), batch.execute()):
            m = next(x for x in members if x.member_id == mid)
            for sid, raw in zip(sids, values):
                if raw:
                    m.src[sid] = SourceRecord.from_dict(orjson.loads(raw))

    def load(self, member_id: str, sids: Iterable[str] = ()) -> Member:
        return self.load_many({member_id: sids})[member_id]

    def _member(self, mid: str, reply, sids: list[str]) -> Member:
        core_flat, records, held_flat = reply
        it = iter(core_flat)
        m = self._from_fields(mid, {f.decode(): v.decode() for f, v in zip(it, it)})
        for sid, raw in zip(sids, records):
            if raw:
                m.src[sid] = SourceRecord.from_dict(orjson.loads(raw))
        it = iter(held_flat)
        for raw_sid, blob in zip(it, it):
            h = orjson.loads(blob)
            raw = base64.b64decode(h["raw"])
            sid = raw_sid.decode()
            held = HeldEvent(sid, h["topic"], self.decode_held(h["topic"], raw), raw, h["fp"], h["reason"],
                             datetime.fromisoformat(h["first_seen"]), h.get("currency"))
            if held.reason == "RELEASED":
                m.released[sid] = held
                m.released_loaded.add(sid)
            else:
                m.held[sid] = held
        return m

    @staticmethod
    def _from_fields(mid: str, loaded_fields: dict[str, str]) -> Member:
        """A member from its core hash (no source records, no held inputs)."""
        m = Member(mid)
        for f, v in loaded_fields.items():
            kind, _, arg = f.partition(":")
            if f == "v":
                m.version = int(v)
            elif f == "en":
                d, _, state = v.partition("|")
                m.enrolled_on, m.enrollment_state = date.fromisoformat(d), state
            elif f == "debt":
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
        m._loaded_fields = loaded_fields  # type: ignore[attr-defined]
        return m

    # ------------------------------------------------------------------ save
    def save_many(self, members: Iterable[Member]) -> set[str]:
        """Compare-and-set every member in one pipelined round trip; the ids refused."""
        members = list(members)
        batch = Batch(self.redis)
        for m in members:
            self.queue_save(batch, m)
        failed = set()
        for m, (ok, version) in zip(members, batch.execute()):
            if int(ok):
                m.saved_version = int(version)
            else:
                failed.add(m.member_id)
        return failed

    def drop_released(self, pairs: Iterable[tuple[str, str]]) -> None:
        drop_released(self.redis, pairs)

    def queue_save(self, batch: Batch, m: Member) -> None:
        """Queue the compare-and-set of ``m``'s changes on ``batch`` (one EVALSHA)."""
        sets, dels = m._core_saved = self._core_changes(m)  # type: ignore[attr-defined]
        loaded = getattr(m, "_loaded_fields", None) or {}
        m._token = token = f"{self._tokens.getrandbits(64):016x}"  # type: ignore[attr-defined]
        # a cached snapshot has no source records: the ids it records must really be new
        fresh = list(m.new_src) if getattr(m, "_cached", False) else []
        args: list[Any] = [m.version, loaded.get("n", ""), token, self.ledger_keep, len(fresh), *fresh,
                           len(sets) // 2, *sets, len(dels), *dels]
        args.append(len(m.new_src))
        encoded = m.encoded_src = {}
        for sid in m.new_src:
            encoded[sid] = blob = orjson.dumps(m.src[sid].to_dict())
            args += [sid, blob]
        args.append(len(m.held_put))
        for sid in m.held_put:
            args += [sid, self.held_blob(m.held_entry(sid))]
        args.append(len(m.held_del))
        args += list(m.held_del)
        args.append(len(m.effects.moves))
        for mv in m.effects.moves:
            e = mv.entry
            args.append(orjson.dumps([e.type, e.points, e.lot, e.balance_after, mv.source_id, mv.occurred_at]))
        keys = list(member_keys(m.member_id))
        apply = self.scripts.apply
        batch.add(keys[0], lambda p: apply(keys=keys, args=args, client=p))

    def core_fields(self, m: Member, version: int) -> dict[str, str | int]:
        """The member's whole core hash as it stands after a save at ``version`` (for the changelog):
        the fields loaded, with the changes of the last save applied."""
        fields: dict[str, str | int] = dict(getattr(m, "_loaded_fields", {}))
        sets, dels = getattr(m, "_core_saved", None) or self._core_changes(m)
        for f in dels:
            fields.pop(f, None)
        fields.update(zip(sets[::2], sets[1::2]))
        fields["v"] = version
        token = getattr(m, "_token", None)
        if token is not None and m.saved_version == version:
            fields["n"] = token
        return fields

    def held_blob(self, h: HeldEvent) -> bytes:
        return orjson.dumps({"topic": h.topic, "fp": h.fingerprint, "reason": h.reason,
                             "first_seen": h.first_seen.isoformat(), "currency": h.currency,
                             "raw": base64.b64encode(h.raw).decode()})

    def _core_changes(self, m: Member) -> tuple[list, list]:
        loaded: set[str] = getattr(m, "_loaded_fields", set())
        sets: list[Any] = []
        dels: list[str] = []
        for key in m.dirty:
            kind, _, arg = key.partition(":")
            if key == "en":
                assert m.enrolled_on is not None, "en is dirty only once the member is enrolled"
                sets += ["en", f"{m.enrolled_on.isoformat()}|{m.enrollment_state}"]
            elif key == "lots":
                sets += ["debt", m.lots.debt]
                current = {f"L:{d.isoformat()}": p for d, p in m.lots.by_expiry.items() if p}
                for f, p in current.items():
                    sets += [f, p]
                dels += [f for f in loaded if f.startswith("L:") and f not in current]
            elif kind == "Q":
                q = m.qualifying[int(arg)]
                sets += [key, f"{q.points},{q.nights},{q.carried_points},{q.carried_nights}"]
            elif kind == "S":
                if int(arg) in m.statuses:
                    sets += [key, m.statuses[int(arg)]]
                else:  # downgraded to REGULAR by a revision before it took effect
                    dels.append(key)
            elif kind == "C":
                rev = m.revisions.get(int(arg), 0)
                sets += [key, f"{m.closed[int(arg)]}|{rev}" if rev else m.closed[int(arg)]]
            elif kind == "X":
                sets += [key, m.expired_count[date.fromisoformat(arg)]]
        return sets, dels

    # ------------------------------------------------------------------ reads for the API / CLI
    def recent_ledger(self, member_id: str, start: int = 0, count: int = 50) -> list[dict]:
        """Ledger entries newest first, paged."""
        key = member_keys(member_id)[3]
        raw = self.redis.lrange(key, -(start + count), -(start + 1)) if count > 0 else []
        out = []
        for x in reversed(raw):
            type_, points, lot, balance_after, source_id, at = orjson.loads(x)
            out.append({"id": f"{member_id}/{source_id}/{type_}", "type": type_, "points": points, "lot": lot,
                        "balance_after": balance_after, "source_id": source_id, "at": at})
        return out

    def ledger_length(self, member_id: str) -> int:
        return self.redis.llen(member_keys(member_id)[3])

    def exists(self, member_id: str) -> bool:
        return bool(self.redis.exists(member_keys(member_id)[0]))


def _original_of(event) -> str | None:
    if getattr(event, "corrects_posting_id", None):
        return "P:" + event.corrects_posting_id
    if getattr(event, "voids_bill_id", None):
        return "B:" + event.voids_bill_id
    return None
