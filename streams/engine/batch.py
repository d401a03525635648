"""The batch engine: a batch of input messages in, member state applied in the store, output records out.

Independent of the Kafka client (the worker feeds it) and of Redis: it talks to the ports of
streams/engine/ports.py. A batch loads every member of the batch at once (``load_many``: one
pipelined Redis round trip), then compare-and-sets the changed members at once (``save_many``: one
more). A member that changed meanwhile (another worker, a job) is reloaded and decided again, so
nothing is lost or applied twice.
"""
from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

import orjson

from processors.earning import assess_bill, assess_posting
from processors.fx import FxTable
from processors.member import Context, Member
from processors.model import FolioPosting, Reason
from processors.outcomes import Decision, Effects
from schemas.codec import Codec, DecodeError
from streams.engine import office, releases
from streams.engine.events import DOMAIN_CLASSES, InvalidEvent, fingerprint, has_member
from streams.engine.messages import BatchResult, Item, Message, needs_original, wanted
from streams.engine.outputs import OutputBuilder
from streams.engine.ports import KeptCharges, MemberStore, Metrics, Snapshot

log = logging.getLogger(__name__)
MAX_CAS_ROUNDS = 10
__all__ = ["BatchResult", "Engine", "Item", "Message"]  # the batch's types live in streams.engine.messages


class Engine:
    def __init__(self, topics: Any, codec: Codec, store: MemberStore, config_source: Callable,
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
        self._kept: KeptCharges | None = None  # charges without member id kept for claims, on first use

    @property
    def kept(self) -> KeptCharges:
        if self._kept is None:
            self._kept = office.kept_charges(self)
        return self._kept

    def context(self) -> Context:
        return Context(self.config_source(), self.fx, self.clock(), self.closed_years())

    def closed_years(self) -> frozenset[int]:
        """The years the year-end job has run for (one small set, read once per batch): a late posting
        for such a year evaluates it for its member (processors/year_end.py)."""
        return self.store.index.closed_years()

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
        snapshots: dict[str, Any] = {}  # the store's bookkeeping of each member, handed back to it
        rounds = 0
        while pending:
            rounds += 1
            if rounds > MAX_CAS_ROUNDS:
                raise RuntimeError(f"members kept changing under the engine: {sorted(pending)[:5]}")
            wants = {mid: wanted(its) for mid, its in pending.items()}
            if cached and rounds == 1:
                loaded = self.store.load_many(wants, [mid for mid, its in pending.items()
                                                      if not any(needs_original(it) for it in its)])
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
            failed = self.store.save_many(changed, snapshots) if changed else set()
            failed |= lost
            result.cas_retries += len(failed)
            if cached:
                for mid in failed:
                    self.store.cache.forget(mid)
            for mid, m in loaded.items():
                if mid not in failed:
                    done[mid] = m
            pending = {mid: pending[mid] for mid in failed}
        releases.write_index(self, done.values())
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

    def _changelog(self, m: Member, snapshot: Snapshot, items, result: BatchResult) -> None:
        """Member state records for the compacted changelog topic (`harmony rebuild` reads it).
        Published for replays too, so a crash between the Redis update and the publish heals."""
        if not (m.changed or items):
            return
        mid = m.member_id
        version = m.saved_version if m.saved_version is not None else m.version
        out = result.records
        out.append(self.out.state("m|" + mid, orjson.dumps(self.store.core_fields(m, version, snapshot))))
        sids = set(m.new_src)
        sids.update(s for s in wanted(list(items)) if s in m.src)
        for sid in sids:
            blob = snapshot.encoded_src.get(sid) or orjson.dumps(m.src[sid].to_dict())
            out.append(self.out.state(f"s|{mid}|{sid}", blob))
        for sid in m.held_put:
            out.append(self.out.state(f"h|{mid}|{sid}", self.store.held_blob(m.held_entry(sid))))
        for sid in m.held_del:
            out.append(self.out.state(f"h|{mid}|{sid}", None))

    # ------------------------------------------------------------------ releases (streams/engine/releases.py)
    def clean_released(self, result: BatchResult) -> None:
        releases.clean_released(self, result)

    def release_markers(self, result: BatchResult | None = None) -> BatchResult:
        return releases.release_markers(self, result)

    def release_fx(self, currencies: Iterable[str], result: BatchResult | None = None) -> BatchResult:
        return releases.release_fx(self, currencies, result)

    def release_unknown(self, result: BatchResult | None = None) -> BatchResult:
        return releases.release_unknown(self, result)
