"""The batch engine: a batch of input messages in, member state applied in Redis, output records out.

Independent of the Kafka client (the worker feeds it); one batch costs two pipelined Redis round
trips: load every member of the batch (one script call each), then compare-and-set each changed
member (one script call each). A member that changed meanwhile (another worker, a job) is reloaded
and decided again, so nothing is lost or applied twice.
"""
from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from processors.earning import assess_bill, assess_posting
from processors.fx import FxTable
from processors.member import Context, Member
from processors.model import FolioPosting, Reason, original_source_id
from processors.outcomes import Decision, Effects
from schemas.codec import Codec, DecodeError
from streams.engine import office
from streams.engine.events import DOMAIN_CLASSES, InvalidEvent, fingerprint, has_member
from streams.engine.outputs import OutputBuilder, OutRecord
from streams.kafka.topics import Topics
from streams.redis.batch import Batch
from streams.redis.member_snapshot import StoredSnapshot
from streams.redis.member_store import MemberStore, member_keys
from streams.runtime.metrics import Metrics

log = logging.getLogger(__name__)
MAX_CAS_ROUNDS = 10
CLOSED_YEARS = "jobs:closed-years"  # the years close-year has run for (set before it walks the members)


@dataclass(slots=True)
class Message:
    """The parts of a Kafka message the engine reads."""
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: list | None = None  # the message's headers (a replayed dead letter carries harmony.replay.*)


@dataclass(slots=True)
class Item:
    kind: str  # enroll, charge, redeem
    event: Any
    topic: str
    raw: bytes
    fp: str
    kept: Any = None  # a claim: (KeptCharge | None, claimed by another claim)


@dataclass
class BatchResult:
    records: list[OutRecord] = field(default_factory=list)
    positions: dict[tuple[str, int], int] = field(default_factory=dict)  # next offset per partition
    members: int = 0
    cas_retries: int = 0
    outcomes: Counter = field(default_factory=Counter)  # (outcome, reason) -> decisions
    released: list[tuple[str, str]] = field(default_factory=list)  # (member, source id) markers to drop
    # content fingerprint -> (topic, partition, offset, key) of the batch's member inputs: the origin
    # headers of a dead letter the member aggregate raises (a CONFLICT)
    origins: dict[str, tuple[str, int, int, bytes | None]] = field(default_factory=dict)


class Engine:
    def __init__(self, topics: Topics, codec: Codec, store: MemberStore, config_source: Callable,
                 fx: FxTable, metrics: Metrics, clock: Callable[[], datetime] | None = None,
                 changelog: bool = True):
        self.topics = topics
        self.codec = codec
        self.store = store
        self.config_source = config_source  # () -> ProgramConfig (hot-reloaded)
        self.fx = fx
        self.metrics = metrics
        self.clock = clock or (lambda: datetime.now(UTC))
        self.out = OutputBuilder(topics, codec)
        self.record_names = {topics.postings: "FolioPosting", topics.bills: "PosBill", topics.fx: "FxRate",
                             topics.enrollments: "MemberEnrollment", topics.redemptions: "RedemptionRequest",
                             topics.adjustments: "PointAdjustment", topics.claims: "ChargeClaim"}
        self.changelog = changelog  # publish member state to the changelog topic (rebuild after losing Redis)
        self.kinds = {topics.postings: "charge", topics.bills: "charge", topics.enrollments: "enroll",
                      topics.redemptions: "redeem", topics.adjustments: "adjust", topics.claims: "claim"}
        self._kept = None  # charges without member id kept for claims (streams/redis/kept_charges.py), on first use

    @property
    def kept(self):
        if self._kept is None:
            self._kept = office.kept_charges(self)
        return self._kept

    def context(self) -> Context:
        return Context(self.config_source(), self.fx, self.clock(), self.closed_years())

    def closed_years(self) -> frozenset[int]:
        """The years the year-end job has run for (one small set, read once per batch): a late posting
        for such a year evaluates it for its member (processors/year_end.py)."""
        return frozenset(int(y) for y in self.store.redis.smembers(CLOSED_YEARS))

    # ------------------------------------------------------------------ input
    def decode(self, msg: Message, result: BatchResult):
        """The domain event of a message, or None when it went to the dead-letter topic."""
        name = self.record_names.get(msg.topic)
        try:
            if name is None:
                raise InvalidEvent(f"not an input topic of the engine: {msg.topic}")
            if msg.value is None:
                raise InvalidEvent("empty message (no value)")
            record_name, event = self.codec.decode_domain(msg.value, DOMAIN_CLASSES)  # = to_domain(*decode(...))
            if record_name != name:
                raise InvalidEvent(f"{msg.topic} carries {name} records, got {record_name}")
            return event
        except (DecodeError, InvalidEvent) as exc:
            result.records.append(self.out.dead_letter(msg.topic, msg.partition, msg.offset, msg.key, msg.value,
                                                       f"{type(exc).__name__}: {exc}", msg.headers))
            self.metrics.inc("harmony_dead_letters_total", topic=msg.topic)
            return None

    def process(self, messages: Iterable[Message]) -> BatchResult:
        """Apply a batch of input messages; returns the records to publish and the positions reached."""
        result = BatchResult()
        by_member: dict[str, list[Item]] = defaultdict(list)
        enrollments: dict[str, list[Item]] = defaultdict(list)
        ctx = self.context()
        fx_changed: set[str] = set()
        topics_in: Counter = Counter()
        memberless: list[tuple[str, Any, str, Message]] = []
        for msg in messages:
            result.positions[(msg.topic, msg.partition)] = msg.offset + 1
            topics_in[msg.topic] += 1
            if msg.topic == self.topics.fx and msg.value is None:
                continue  # a tombstone on the compacted FX topic
            event = self.decode(msg, result)
            if event is None or msg.value is None:  # (decode dead-letters a value-less record: None)
                continue
            kind = self.kinds.get(msg.topic)
            if kind is None:  # FX rates
                if self.fx.add(event):
                    fx_changed.add(event.currency)
                continue
            if not has_member(event.member_id):
                memberless.append((kind, event, msg.topic, msg))
                continue
            item = Item(kind, event, msg.topic, msg.value, fingerprint(msg.value))
            result.origins.setdefault(item.fp, (msg.topic, msg.partition, msg.offset, msg.key))
            (enrollments if kind == "enroll" else by_member)[event.member_id].append(item)
        office.route_memberless(self, memberless, by_member, ctx, result)
        office.find_claims(self, by_member)
        members = {mid: enrollments.get(mid, []) + by_member.get(mid, []) for mid in {*enrollments, *by_member}}
        cache = self.store.cache
        hits, misses = cache.hits, cache.misses
        self.run(members, ctx, result, cached=True)
        if cache.hits > hits:
            self.metrics.inc("harmony_member_cache_hits_total", cache.hits - hits)
        if cache.misses > misses:
            self.metrics.inc("harmony_member_cache_misses_total", cache.misses - misses)
        if fx_changed:
            self.release_fx(fx_changed, result)
        for topic, n in topics_in.items():
            self.metrics.inc("harmony_events_in_total", n, topic=topic)
        for (outcome, reason), n in result.outcomes.items():
            self.metrics.inc("harmony_decisions_total", n, outcome=outcome, reason=reason)
        result.outcomes.clear()
        return result

    def _memberless(self, kind: str, event, topic: str, ctx: Context, result: BatchResult,
                    msg: Message | None = None) -> None:
        if kind == "charge":
            # the rules' order of checks: invalid input (REJECTED) and non-participating hotel come first
            a = (assess_posting if isinstance(event, FolioPosting) else assess_bill)(event, ctx.cfg, self.fx)
            d = Decision(event.source_id, topic, event, a.outcome.value,
                         a.reason.value if a.reason is not None else Reason.NO_MEMBER.value)
            result.outcomes[(d.outcome, d.reason)] += 1
            result.records.append(self.out.decision(None, d, ctx.cfg.version))
        elif kind == "redeem":
            result.records.append(self.out.rejected_request(event, "UNKNOWN_MEMBER"))
        elif kind in ("adjust", "claim"):
            office.memberless_request(self, kind, event, topic, ctx, result)
        else:
            part, off, key, raw = (msg.partition, msg.offset, msg.key, msg.value) if msg else (-1, -1, None, b"")
            result.records.append(self.out.dead_letter(topic, part, off, key, raw,
                                                       "InvalidEvent: enrollment without member_id"))

    # ------------------------------------------------------------------ members
    def run(self, items: dict[str, list[Item]], ctx: Context, result: BatchResult,
            job: Callable[..., None] | None = None,  # job(member); loop values bound as defaults
            publish_first: Callable[[BatchResult], None] | None = None,
            cached: bool = False) -> dict[str, Member]:
        """Handle each member's items in order (and ``job``), then compare-and-set; repeat for conflicts.

        With ``cached`` (input batches) the first round takes the snapshots of the store's member
        cache where it can, and every member is remembered afterwards; a refused compare-and-set
        forgets the member and reloads it from Redis.

        With ``publish_first`` (the jobs) the outputs of the changed members are published before
        their compare-and-set: a job whose state change is saved can no longer find anything to
        do, so its records must already be out (a crash in between repeats the same records, with
        the same ids, on the next run). Input batches publish afterwards instead: their offsets
        make them replay, and a replay re-publishes from the stored records."""
        cached = cached and self.store.cache.capacity > 0
        pending = dict(items)
        done: dict[str, Member] = {}
        snapshots: dict[str, StoredSnapshot] = {}  # the store's, passed back to it
        rounds = 0
        while pending:
            rounds += 1
            if rounds > MAX_CAS_ROUNDS:
                raise RuntimeError(f"members kept changing under the engine: {sorted(pending)[:5]}")
            wants = {mid: _wanted(its) for mid, its in pending.items()}
            if cached and rounds == 1:
                loaded = self.store.load_many(wants, [mid for mid, its in pending.items()
                                                      if not any(_needs_original(it) for it in its)])
            else:
                loaded = self.store.load_many(wants)
            snapshots.update(loaded.snapshots)
            for mid, its in pending.items():
                m = loaded[mid]
                if m.released_loaded:
                    m.replay_released()
                for it in its:
                    if it.kind == "charge":
                        m.handle_charge(it.event, it.topic, it.raw, it.fp, ctx)
                    elif it.kind == "redeem":
                        m.handle_redemption(it.event, it.raw, it.fp, ctx, it.topic)
                    elif it.kind == "adjust":
                        m.handle_adjustment(it.event, it.raw, it.fp, ctx, it.topic)
                    elif it.kind == "claim":
                        m.handle_claim(it.event, it.raw, it.fp, ctx, it.topic, *(it.kept or (None, False)))
                    else:
                        m.handle_enrollment(it.event, ctx)
                if job is not None:
                    job(m)
            changed = [m for m in loaded.values() if m.changed]
            lost = office.reserve_claims(self, changed, pending, result) if changed else set()
            if lost:  # a claim lost its charge to another claim: decide these members again
                changed = [m for m in changed if m.member_id not in lost]
            if changed and publish_first is not None:
                early = BatchResult()
                for m in changed:
                    m.saved_version = m.version + 1  # what the compare-and-set will write
                    self._emit(m, ctx, early)
                    if self.changelog:
                        self._changelog(m, snapshots[m.member_id], items.get(m.member_id, ()), early)
                publish_first(early)
            if changed:
                batch = Batch(self.store.redis)
                for m in changed:
                    self.store.queue_save(batch, m, snapshots[m.member_id])
                replies = batch.execute()
                failed = set()
                for m, (ok, version) in zip(changed, replies):
                    if int(ok):
                        m.saved_version = int(version)
                    else:
                        failed.add(m.member_id)
            else:
                failed = set()
            failed |= lost
            result.cas_retries += len(failed)
            if cached:
                for mid in failed:
                    self.store.cache.forget(mid)
            for mid, m in loaded.items():
                if mid not in failed:
                    done[mid] = m
            pending = {mid: pending[mid] for mid in failed}
        self._index(done.values())
        if cached:
            for m in done.values():
                self.store.remember(m, snapshots[m.member_id])
        for mid, m in done.items():
            result.released += [(mid, sid) for sid in m.released]
            if publish_first is not None and m.changed:
                continue  # published before it was saved
            self._emit(m, ctx, result)
            if self.changelog:
                self._changelog(m, snapshots[mid], items.get(mid, ()), result)
        result.members += len(done)
        return done

    def _index(self, members: Iterable[Member]) -> None:
        """Global indexes (their own keys, outside the members' slots): idempotent adds."""
        adds: dict[str, set[str]] = defaultdict(set)
        deadlines: dict[str, float] = {}
        held_first: dict[str, float] = {}
        grace = self.config_source().unknown_member_grace_hours * 3600
        for m in members:
            for kind, value in m.effects.index:
                if kind == "released":
                    adds["idx:released"].add(m.member_id)
                elif kind == "held":  # sorted set: members that had inputs held, by first hold
                    ts = datetime.fromisoformat(value).timestamp()
                    held_first[m.member_id] = min(ts, held_first.get(m.member_id, ts))
                elif kind == "unknown":
                    deadline = datetime.fromisoformat(value).timestamp() + grace
                    deadlines[m.member_id] = min(deadline, deadlines.get(m.member_id, deadline))
                else:
                    adds[f"idx:{kind}:{value}"].add(m.member_id)
                    if kind == "lots":
                        adds["idx:lotdates"].add(value)
        if not adds and not deadlines and not held_first:
            return
        batch = Batch(self.store.redis)
        for key, values in adds.items():
            batch.add(key, lambda p, k=key, v=list(values): p.sadd(k, *v))
        if deadlines:
            batch.add("idx:unknown", lambda p: p.zadd("idx:unknown", deadlines, lt=True))
        if held_first:
            batch.add("idx:held", lambda p: p.zadd("idx:held", held_first, lt=True))
        batch.execute()

    def _emit(self, m: Member, ctx: Context, result: BatchResult) -> None:
        eff: Effects = m.effects
        version = ctx.cfg.version
        for d in eff.decisions:
            result.outcomes[(d.outcome, d.reason or "")] += 1
            result.records.append(self.out.decision(m.member_id, d, version))
        for mv in eff.moves:
            result.records.append(self.out.entry(m.member_id, mv, version))
        for r in eff.redemptions:
            self.metrics.inc("harmony_redemptions_total", outcome=r.outcome, reason=r.reason or "")
            result.records.append(self.out.redemption(m.member_id, r))
        for s in eff.status_changes:
            result.records.append(self.out.status(m.member_id, s))
        for a in eff.adjustments:
            self.metrics.inc("harmony_adjustments_total", outcome=a.outcome, reason=a.reason or "")
            result.records.append(office.adjustment_record(self, m.member_id, a))
        for dl in eff.dead_letters:
            self.metrics.inc("harmony_dead_letters_total", topic=dl.topic)
            # origin of an input of this batch (a CONFLICT); a held input released later has none
            topic, part, off, key = result.origins.get(fingerprint(dl.raw), (dl.topic, -1, -1, m.member_id.encode()))
            result.records.append(self.out.dead_letter(topic, part, off, key, dl.raw, dl.error))
        if m.changed or eff.moves:
            result.records.append(self.out.balance(m, ctx.now))

    def _changelog(self, m: Member, snapshot: StoredSnapshot, items, result: BatchResult) -> None:
        """Member state records for the compacted changelog topic (`harmony rebuild` reads it).
        Published for replays too, so a crash between the Redis update and the publish heals."""
        if not (m.changed or items):
            return
        mid = m.member_id
        version = m.saved_version if m.saved_version is not None else m.version
        out = result.records
        out.append(self.out.state("m|" + mid, orjson.dumps(self.store.core_fields(m, version, snapshot))))
        sids = set(m.new_src)
        sids.update(s for s in _wanted(list(items)) if s in m.src)
        for sid in sids:
            blob = snapshot.encoded_src.get(sid) or orjson.dumps(m.src[sid].to_dict())
            out.append(self.out.state(f"s|{mid}|{sid}", blob))
        for sid in m.held_put:
            out.append(self.out.state(f"h|{mid}|{sid}", self.store.held_blob(m.held_entry(sid))))
        for sid in m.held_del:
            out.append(self.out.state(f"h|{mid}|{sid}", None))

    def clean_released(self, result: BatchResult) -> None:
        """After the batch's outputs are delivered: drop the RELEASED markers they covered."""
        if not result.released:
            return
        batch = Batch(self.store.redis)
        for mid, sid in result.released:
            key = member_keys(mid)[2]
            batch.add(key, lambda p, k=key, s=sid: p.hdel(k, s))
        members = list({mid for mid, _ in result.released})
        batch.add("idx:released", lambda p: p.srem("idx:released", *members))
        batch.execute()
        result.released.clear()

    def release_markers(self, result: BatchResult | None = None) -> BatchResult:
        """Members whose released inputs may not have been published (a crash): publish again."""
        result = result or BatchResult()
        members = [m.decode() for m in self.store.redis.smembers("idx:released")]
        if members:
            done = self.run({mid: [] for mid in members}, self.context(), result)
            empty = [mid for mid, m in done.items() if not m.released]
            if empty:
                self.store.redis.srem("idx:released", *empty)
        return result

    # ------------------------------------------------------------------ releases of held inputs
    def release_fx(self, currencies: Iterable[str], result: BatchResult | None = None) -> BatchResult:
        """Retry the inputs held for an FX rate of these currencies."""
        result = result or BatchResult()
        for cur in currencies:
            key = f"idx:fxwait:{cur}"
            members = [m.decode() for m in self.store.redis.smembers(key)]
            if not members:
                continue
            ctx = self.context()
            done = self.run({mid: [] for mid in members}, ctx, result,
                            job=lambda m, ctx=ctx, cur=cur: m.retry_held(ctx, lambda h: h.currency == cur))
            still = [mid for mid, m in done.items()
                     if any(held.currency == cur for held in m.held.values())]
            gone = set(members) - set(still)
            if gone:
                self.store.redis.srem(key, *gone)
        return result

    def release_unknown(self, result: BatchResult | None = None) -> BatchResult:
        """Reject (UNKNOWN_MEMBER) inputs whose member did not enroll within the grace period."""
        result = result or BatchResult()
        ctx = self.context()
        due = [m.decode() for m in self.store.redis.zrangebyscore("idx:unknown", "-inf", ctx.now.timestamp())]
        if due:
            done = self.run({mid: [] for mid in due}, ctx, result,
                            job=lambda m: m.retry_held(ctx, lambda h: h.reason == "AWAITING_ENROLLMENT"))
            grace = ctx.cfg.unknown_member_grace_hours * 3600
            redis = self.store.redis
            for mid, m in done.items():
                waiting = [h.first_seen for h in m.held.values() if h.reason == "AWAITING_ENROLLMENT"]
                if waiting:
                    redis.zadd("idx:unknown", {mid: min(waiting).timestamp() + grace}, xx=True)
                else:
                    redis.zrem("idx:unknown", mid)
        return result


def _needs_original(it: Item) -> bool:
    """Whether an input needs the record of an earlier one (a correction, void or cancellation)."""
    ev = it.event
    if it.kind == "charge":
        return original_source_id(ev) is not None
    return (it.kind == "redeem" and bool(ev.cancels_request_id)) or it.kind == "claim"


def _wanted(items: list[Item]) -> list[str]:
    sids = []
    for it in items:
        ev = it.event
        if it.kind == "charge":
            sids.append(ev.source_id)
            original = original_source_id(ev)
            if original is not None:
                sids.append(original)
        elif it.kind == "redeem":
            sids.append(ev.source_id)
            if ev.cancels_request_id:
                sids.append("R:" + ev.cancels_request_id)
        elif it.kind in ("adjust", "claim"):
            sids += office.wanted(it.kind, ev)
    return sids
