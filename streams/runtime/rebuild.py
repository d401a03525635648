"""`harmony rebuild`: member state back into an empty Redis, from Kafka.

Sources: the compacted changelog ``harmony.member-state.v1`` (every member's core hash, source
records and held inputs, plus the engine's input positions — published with each batch's
outputs, so it is always consistent with them) and ``points.ledger.v1`` (the recent-entries
list of each member for the API). Global indexes (year activity, statuses, lots by expiry,
held inputs) are derived from the state as it is loaded. Afterwards the worker resumes every
input partition from the positions restored here.
"""
from __future__ import annotations

import sys
import time
from collections import OrderedDict, defaultdict
from datetime import datetime

import orjson
from confluent_kafka import OFFSET_BEGINNING, KafkaError, TopicPartition

from schemas.codec import Codec
from streams.kafka.clients import make_consumer
from streams.kafka.lag import true_end_offsets
from streams.redis.batch import Batch
from streams.redis.client import connect
from streams.redis.kept_charges import restore as restore_kept
from streams.redis.keys import CLOSED_YEARS, FX_HISTORY, MEMBER_SCAN, index_key, member_keys, position_key
from streams.redis.member_store import LEDGER_KEEP

LOTDATES, HELD, UNKNOWN = index_key("lotdates"), index_key("held"), index_key("unknown")


class Progress:
    def __init__(self, label: str, total: int, out=sys.stderr):
        self.label, self.total, self.out = label, max(total, 1), out
        self.done = 0
        self._next = 0.0

    def add(self, n: int) -> None:
        self.done += n
        now = time.monotonic()
        if not self.out.isatty():  # no carriage returns into a file or a pipe: one line at the end
            return
        if now >= self._next or self.done >= self.total:
            self._next = now + 0.25
            pct = min(100, 100 * self.done // self.total)
            bar = "#" * (pct // 4) + "." * (25 - pct // 4)
            self.out.write(f"\r{self.label:<8} [{bar}] {pct:3d}%  {self.done:,}/{self.total:,}")
            self.out.flush()

    def close(self) -> None:
        if not self.out.isatty():
            self.out.write(f"{self.label:<8} {self.done:,}/{self.total:,}")
        self.out.write("\n")


def _read_all(bootstrap: str, topic: str, on_batch, label: str) -> int:
    ends = true_end_offsets(bootstrap, [topic])
    total = sum(ends.values())
    progress = Progress(label, total)
    c = make_consumer(f"harmony-rebuild-{time.time_ns()}", bootstrap, **{"enable.partition.eof": True})
    try:
        parts = [p for (t, p), end in ends.items() if end > 0]
        c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in parts])
        pending = set(parts)
        while pending:
            msgs = c.consume(5000, timeout=1.0)
            batch = []
            for m in msgs:
                if err := m.error():
                    if err.code() == KafkaError._PARTITION_EOF:
                        pending.discard(m.partition())
                    continue
                batch.append(m)
            if batch:
                on_batch(batch)
                progress.add(len(batch))
    finally:
        c.close()
        progress.close()
    return total


def rebuild(settings, force: bool = False, grace_hours: int = 72) -> dict:
    redis = connect(settings.redis_url)
    if not force and next(iter(redis.scan_iter(match=MEMBER_SCAN, count=1000)), None) is not None:
        raise SystemExit("harmony rebuild: Redis already holds member state (use --force to overwrite)")
    stats: defaultdict[str, float] = defaultdict(int)  # counts, and the seconds

    def load_state(msgs) -> None:
        b = Batch(redis)
        for m in msgs:
            kind, _, rest = m.key().decode().partition("|")
            value = m.value()
            if kind == "m":
                core = member_keys(rest)[0]
                fields = orjson.loads(value)
                b.add(core, lambda p, k=core: p.delete(k))
                b.add(core, lambda p, k=core, f=fields: p.hset(k, mapping=f))
                _index(b, rest, fields)
                stats["members"] += 1
            elif kind == "s":
                mid, _, sid = rest.partition("|")
                key = member_keys(mid)[1]
                b.add(key, (lambda p, k=key, s=sid: p.hdel(k, s)) if value is None else
                      (lambda p, k=key, s=sid, v=value: p.hset(k, s, v)))
                stats["source records"] += 1
            elif kind == "h":
                mid, _, sid = rest.partition("|")
                key = member_keys(mid)[2]
                if value is None:
                    b.add(key, lambda p, k=key, s=sid: p.hdel(k, s))
                else:
                    b.add(key, lambda p, k=key, s=sid, v=value: p.hset(k, s, v))
                    _held_index(b, mid, orjson.loads(value), grace_hours)
                stats["held inputs"] += 1
            elif kind == "f" and value is not None:  # the FX history (streams/runtime/fx_reader.py)
                b.add(FX_HISTORY, lambda p, f=rest, v=value: p.hset(FX_HISTORY, f, v))
                stats["fx rates"] += 1
            elif restore_kept(b, kind, rest, value):
                stats["kept charges and claims"] += 1
            elif kind == "p":
                group, topic, partition = rest.split("|")
                key = position_key(group, topic, partition)
                b.add(key, lambda p, k=key, v=int(value): p.set(k, v))
                stats["positions"] += 1
        b.execute()

    started = time.monotonic()
    _read_all(settings.bootstrap, settings.topics.state, load_state, "state")
    codec = Codec(settings.registry_url)
    windows: dict[str, OrderedDict] = defaultdict(OrderedDict)

    def load_ledger(msgs) -> None:
        for m in msgs:
            _, e = codec.decode(m.value())
            w = windows[e["member_id"]]
            if e["entry_id"] in w:
                continue  # a replayed entry (same id): kept once
            w[e["entry_id"]] = orjson.dumps([e["type"], e["points"], e["lot_expires_on"], e["balance_after"],
                                             e["source_id"], e["occurred_at"]])
            if len(w) > LEDGER_KEEP:
                w.popitem(last=False)

    _read_all(settings.bootstrap, settings.topics.ledger, load_ledger, "ledger")
    b = Batch(redis)
    for mid, w in windows.items():
        key = member_keys(mid)[3]
        b.add(key, lambda p, k=key: p.delete(k))
        values = list(w.values())
        b.add(key, lambda p, k=key, v=values: p.rpush(k, *v))
    if len(b):
        b.execute()
    stats["ledger lists"] = len(windows)
    stats["seconds"] = round(time.monotonic() - started, 2)
    return dict(stats)


def _index(b: Batch, mid: str, fields: dict) -> None:
    for f in fields:
        kind, _, arg = f.partition(":")
        name = {"Q": "active", "S": "status", "L": "lots"}.get(kind)
        key = index_key(f"{name}:{arg}") if name else None
        if key:
            b.add(key, lambda p, k=key: p.sadd(k, mid))
        if kind == "L":
            b.add(LOTDATES, lambda p, a=arg: p.sadd(LOTDATES, a))
        elif kind == "C":
            b.add(CLOSED_YEARS, lambda p, a=arg: p.sadd(CLOSED_YEARS, a))


def _held_index(b: Batch, mid: str, h: dict, grace_hours: int) -> None:
    if h.get("reason") != "RELEASED" and h.get("first_seen"):  # idx:held (held-input metrics)
        first = datetime.fromisoformat(h["first_seen"]).timestamp()
        b.add(HELD, lambda p: p.zadd(HELD, {mid: first}, lt=True))
    if h.get("reason") == "AWAITING_FX_RATE" and h.get("currency"):
        key = index_key(f"fxwait:{h['currency']}")
        b.add(key, lambda p, k=key: p.sadd(k, mid))
    elif h.get("reason") == "AWAITING_ENROLLMENT":
        deadline = datetime.fromisoformat(h["first_seen"]).timestamp() + grace_hours * 3600
        b.add(UNKNOWN, lambda p: p.zadd(UNKNOWN, {mid: deadline}, lt=True))
