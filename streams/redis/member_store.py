"""Member state in Redis: load many members in one round trip, save them with compare-and-set.

Layout (every key of a member under the hash tag ``{m:ID}``, so it works on Redis Cluster):

| key            | type | holds |
|----------------|------|-------|
| ``{m:ID}``      | hash | the member's core fields (listed below the table) |
| ``{m:ID}:src``  | hash | source id → JSON SourceRecord (idempotency, reversals, replayed outputs) |
| ``{m:ID}:held`` | hash | source id → JSON held input (with its raw bytes, base64) |
| ``{m:ID}:led``  | list | the most recent ledger entries (JSON), for the API |

The fields of ``{m:ID}`` and their translation from and to the aggregate: streams/redis/member_fields.py.
What the store knows of a loaded member beyond the domain (the hash as read, whether it came from
the cache, what its save wrote) is its ``StoredSnapshot`` (streams/redis/member_snapshot.py), returned by
``load_many`` beside the member and passed back to ``queue_save``/``remember``/``core_fields``.
"""
from __future__ import annotations

import base64
import hashlib
import random
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from importlib import resources
from typing import Any

import orjson

from processors.member import Member
from processors.model import original_source_id
from processors.records import HeldEvent, SourceRecord
from streams.engine.ports import LoadedMembers
from streams.redis.batch import Batch
from streams.redis.kept_charges import KeptCharges
from streams.redis.keys import member_keys
from streams.redis.member_cache import MemberCache
from streams.redis.member_fields import TOKEN, core_after, core_write, member_from_fields
from streams.redis.member_index import RedisMemberIndex, drop_released
from streams.redis.member_snapshot import StoredSnapshot

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
        self.load()
        Batch.on_noscript.append(self.load)

    def load(self) -> None:
        for script in (self.read, self.apply):
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
    def load_many(self, wants: Mapping[str, Iterable[str]], cacheable: Iterable[str] = ()) -> LoadedMembers:
        """Members by id, each with the source records named in ``wants[id]`` (if they exist), and
        the store's snapshot of each (``.snapshots``: pass it back to ``queue_save``).

        Members in ``cacheable`` (callers name those whose inputs need no existing source record:
        no corrections, voids or cancellations) come from the cache when it has them, without their
        source records: their save then checks that the ids it records are new (``queue_save``)."""
        members = LoadedMembers()
        if cacheable and self.cache.capacity:
            get = self.cache.get
            for mid in cacheable:
                fields = get(mid)
                if fields is not None:
                    members.add(member_from_fields(mid, fields), StoredSnapshot(fields, cached=True))
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
        loaded = [self._member(mid, reply, sids) for mid, reply, sids in zip(ids, replies, sid_lists)]
        self._load_originals_of_held([m for m, _ in loaded])
        for m, snapshot in loaded:
            members.add(m, snapshot)
        return members

    def remember(self, m: Member, snapshot: StoredSnapshot) -> None:
        """Keep ``m``'s core hash as it stands now (after its save, if any) in the cache; members with
        held inputs or released markers are not kept (their hash must be read)."""
        if not self.cache.capacity:
            return
        if m.held or m.released:
            self.cache.forget(m.member_id)
            return
        saved = m.saved_version
        if saved is None:
            fields = snapshot.fields
        else:
            fields = {f: str(v) for f, v in self.core_fields(m, saved, snapshot).items()}
        self.cache.put(m.member_id, fields)

    def _load_originals_of_held(self, members: list[Member]) -> None:
        """Held corrections need their originals' records too (rare: only members with held inputs).
        Read after the snapshot; the compare-and-set on the version makes the pair consistent."""
        missing = {}
        for m in members:
            need = [sid for sid in (original_source_id(h.event) for h in m.held.values()) if sid and sid not in m.src]
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

    def _member(self, mid: str, reply, sids: list[str]) -> tuple[Member, StoredSnapshot]:
        core_flat, records, held_flat = reply
        it = iter(core_flat)
        fields = {f.decode(): v.decode() for f, v in zip(it, it)}
        m = member_from_fields(mid, fields)
        for sid, raw in zip(sids, records):
            if raw:
                m.src[sid] = SourceRecord.from_dict(orjson.loads(raw))
        it = iter(held_flat)
        for raw_sid, blob in zip(it, it):
            h = orjson.loads(blob)
            raw = base64.b64decode(h["raw"])
            sid = raw_sid.decode()
            held = HeldEvent(sid, h["topic"], self.decode_held(h["topic"], raw), raw, h["fp"], h["reason"],
                             datetime.fromisoformat(h["first_seen"]), h.get("currency"), h.get("claim"))
            if held.reason == "RELEASED":
                m.released[sid] = held
                m.released_loaded.add(sid)
            else:
                m.held[sid] = held
        return m, StoredSnapshot(fields)

    # ------------------------------------------------------------------ save
    def save_many(self, members: Iterable[Member], snapshots: Mapping[str, StoredSnapshot]) -> set[str]:
        """Compare-and-set every member in one pipelined round trip; the ids refused. ``snapshots``
        are the ones ``load_many`` returned with the members (each records what its save writes)."""
        members = list(members)
        batch = Batch(self.redis)
        for m in members:
            self.queue_save(batch, m, snapshots[m.member_id])
        failed = set()
        for m, (ok, version) in zip(members, batch.execute()):
            if int(ok):
                m.saved_version = int(version)
            else:
                failed.add(m.member_id)
        return failed

    def drop_released(self, pairs: Iterable[tuple[str, str]]) -> None:
        drop_released(self.redis, pairs)

    def queue_save(self, batch: Batch, m: Member, snapshot: StoredSnapshot) -> None:
        """Queue the compare-and-set of ``m``'s changes on ``batch`` (one EVALSHA); ``snapshot`` is
        the one ``load_many`` returned with ``m`` (it records what this save writes)."""
        write = snapshot.written = core_write(m, snapshot.fields)
        snapshot.token = token = f"{self._tokens.getrandbits(64):016x}"
        # a cached snapshot has no source records: the ids it records must really be new
        fresh = list(m.new_src) if snapshot.cached else []
        args: list[Any] = [m.version, snapshot.fields.get(TOKEN, ""), token, self.ledger_keep, len(fresh), *fresh,
                           len(write.sets)]
        for f, v in write.sets.items():
            args += [f, v]
        args += [len(write.dels), *write.dels]
        args.append(len(m.new_src))
        encoded = snapshot.encoded_src = {}
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

    def core_fields(self, m: Member, version: int, snapshot: StoredSnapshot) -> dict[str, str | int]:
        """The member's whole core hash as it stands after a save at ``version`` (for the changelog):
        the fields loaded, with the changes of the last save applied."""
        write = snapshot.written or core_write(m, snapshot.fields)
        token = snapshot.token if m.saved_version == version else None
        return core_after(snapshot.fields, write, version, token)

    def held_blob(self, h: HeldEvent) -> bytes:
        blob = {"topic": h.topic, "fp": h.fingerprint, "reason": h.reason, "first_seen": h.first_seen.isoformat(),
                "currency": h.currency, "raw": base64.b64encode(h.raw).decode()}
        if h.claim_id is not None:  # a claimed charge: the claim whose ids its decisions carry
            blob["claim"] = h.claim_id
        return orjson.dumps(blob)

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
