"""`harmony bench` helper: the naive baseline — the same business logic written the straightforward way.

A faust-streaming agent handles one event at a time: decode it (schemas.codec), load the member
through streams.member_store.MemberStore (one pipelined round trip: the read script), apply the
processors.member.Member rules, save it (a second round trip: the compare-and-set script, the index
updates and a progress counter in one one-member pipeline), then send each output record on its own
with faust (``await topic.send(...)``). No batching anywhere; no sweeps, no jobs.

Run by `harmony bench` as ``python -m streams.bench_naive`` with the usual environment
(KAFKA_BOOTSTRAP_SERVERS, REDIS_URL, HARMONY_TOPIC_PREFIX, HARMONY_GROUP); FX rates are read to the
end of fx.rates.v1 before the agent starts. The bench follows progress through the Redis counter
``bench:naive:done`` (events handled).
"""
from __future__ import annotations

import logging
import os
import sys
import tempfile
import time
from datetime import datetime, timezone

from confluent_kafka import OFFSET_BEGINNING, KafkaError, TopicPartition

from processors.fx import FxTable
from processors.member import Context, Member
from processors.model import FolioPosting, Outcome, PosBill, Reason
from processors.outcomes import Decision
from schemas.codec import Codec, DecodeError

from .config_file import ConfigFile
from .events import InvalidEvent, fingerprint, has_member, to_domain
from .kafka import make_consumer
from .member_store import MemberStore
from .outputs import OutputBuilder, OutRecord
from .redis_client import connect
from .settings import Settings

log = logging.getLogger(__name__)
COUNTER = "bench:naive:done"


class NaiveHandler:
    """One event in, its output records out; two Redis round trips per member event."""

    def __init__(self, s: Settings):
        self.s = s
        t = s.topics
        self.codec = Codec(s.registry_url)
        self.redis = connect(s.redis_url)
        self.store = MemberStore(self.redis, lambda topic, raw: to_domain(*self.codec.decode(raw)))
        self.config = ConfigFile(s.config_path)
        self.fx = FxTable()
        self.out = OutputBuilder(t, self.codec)
        self.names = {t.postings: "FolioPosting", t.bills: "PosBill", t.enrollments: "MemberEnrollment",
                      t.redemptions: "RedemptionRequest"}
        self.kinds = {t.postings: "charge", t.bills: "charge", t.enrollments: "enroll", t.redemptions: "redeem"}

    def load_fx(self) -> None:
        """Every FX rate published so far (to the end of each partition)."""
        topic = self.s.topics.fx
        c = make_consumer(f"{self.s.group}.fx", self.s.bootstrap, **{"enable.partition.eof": True})
        try:
            parts = c.list_topics(topic, timeout=10).topics[topic].partitions
            c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in parts])
            pending, deadline = set(parts), time.monotonic() + 30
            while pending and time.monotonic() < deadline:
                for m in c.consume(1000, timeout=0.2):
                    if m.error():
                        if m.error().code() == KafkaError._PARTITION_EOF:
                            pending.discard(m.partition())
                        continue
                    self.fx.add(to_domain(*self.codec.decode(m.value())))
        finally:
            c.close()

    def handle(self, topic: str, partition: int, offset: int, key: bytes | None, value: bytes | None) -> list[OutRecord]:
        name = self.names.get(topic)
        try:
            if name is None or value is None:
                raise InvalidEvent(f"unexpected message on {topic}")
            got, record = self.codec.decode(value)
            if got != name:
                raise InvalidEvent(f"{topic} carries {name} records, got {got}")
            ev = to_domain(name, record)
        except (DecodeError, InvalidEvent) as exc:
            self.redis.incr(COUNTER)
            return [self.out.dead_letter(topic, partition, offset, key, value, f"{type(exc).__name__}: {exc}")]
        cfg = self.config()
        ctx = Context(cfg, self.fx, datetime.now(timezone.utc))
        kind = self.kinds[topic]
        if not has_member(ev.member_id):
            self.redis.incr(COUNTER)
            if kind == "charge":
                d = Decision(ev.source_id, topic, ev, Outcome.EXCLUDED.value, Reason.NO_MEMBER.value)
                return [self.out.decision(None, d, cfg.version)]
            if kind == "redeem":
                return [self.out.rejected_request(ev, "UNKNOWN_MEMBER")]
            return []
        fp = fingerprint(value)
        sids = _wanted(kind, ev)
        for _ in range(10):
            m = self.store.load(ev.member_id, sids)  # round trip 1
            if kind == "charge":
                m.handle_charge(ev, topic, value, fp, ctx)
            elif kind == "redeem":
                m.handle_redemption(ev, value, fp, ctx)
            else:
                m.handle_enrollment(ev, ctx)
            pipe = self.redis.pipeline(transaction=False)
            if m.changed:
                self.store.queue_save(pipe, m)
            self._index(pipe, m, cfg)
            pipe.incr(COUNTER)
            replies = pipe.execute()  # round trip 2
            if not m.changed or int(replies[0][0]):
                break
        else:
            raise RuntimeError(f"member {ev.member_id} kept changing")
        return self._outputs(m, ctx)

    def _index(self, pipe, m: Member, cfg) -> None:
        for kind, value in m.effects.index:
            if kind == "unknown":
                deadline = datetime.fromisoformat(value).timestamp() + cfg.unknown_member_grace_hours * 3600
                pipe.zadd("idx:unknown", {m.member_id: deadline}, lt=True)
            else:
                pipe.sadd(f"idx:{kind}:{value}", m.member_id)
                if kind == "lots":
                    pipe.sadd("idx:lotdates", value)

    def _outputs(self, m: Member, ctx: Context) -> list[OutRecord]:
        eff, version, out = m.effects, ctx.cfg.version, []
        out += [self.out.decision(m.member_id, d, version) for d in eff.decisions]
        out += [self.out.entry(m.member_id, mv, version) for mv in eff.moves]
        out += [self.out.redemption(m.member_id, r) for r in eff.redemptions]
        out += [self.out.status(m.member_id, sc) for sc in eff.status_changes]
        out += [self.out.dead_letter(dl.topic, -1, -1, m.member_id.encode(), dl.raw, dl.error)
                for dl in eff.dead_letters]
        if m.changed or eff.moves:
            out.append(self.out.balance(m, ctx.now))
        return out


def _wanted(kind: str, ev) -> list[str]:
    sids = [ev.source_id]
    if kind == "charge":
        if isinstance(ev, FolioPosting) and ev.corrects_posting_id:
            sids.append("P:" + ev.corrects_posting_id)
        elif isinstance(ev, PosBill) and ev.voids_bill_id:
            sids.append("B:" + ev.voids_bill_id)
    elif kind == "redeem" and ev.cancels_request_id:
        sids.append("R:" + ev.cancels_request_id)
    elif kind == "enroll":
        return []
    return sids


def create_app(s: Settings, handler: NaiveHandler):
    import faust

    from .app import faust_broker

    t = s.topics
    app = faust.App(
        s.group, broker=faust_broker(s.bootstrap), store="memory://", web_enabled=False,
        datadir=tempfile.mkdtemp(prefix="harmony-bench-naive-"), broker_session_timeout=6,
        broker_heartbeat_interval=2, consumer_auto_offset_reset="earliest", topic_partitions=1,
    )
    raw = {"key_type": bytes, "value_type": bytes, "key_serializer": "raw", "value_serializer": "raw"}
    inputs = app.topic(t.postings, t.bills, t.enrollments, t.redemptions, **raw)
    outputs = {name: app.topic(name, **raw) for name in t.outputs}

    @app.agent(inputs)
    async def naive(stream):
        async for event in stream.events():
            msg = event.message
            for r in handler.handle(msg.topic, msg.partition, msg.offset, msg.key, msg.value):
                await outputs[r.topic].send(key=r.key, value=r.value, headers=r.headers)

    return app


def main() -> int:
    import faust

    logging.basicConfig(level=os.environ.get("HARMONY_LOGLEVEL", "WARNING").upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    s = Settings()
    handler = NaiveHandler(s)
    handler.load_fx()
    app = create_app(s, handler)
    faust.Worker(app, loglevel=os.environ.get("HARMONY_LOGLEVEL", "warning").lower(), quiet=True).execute_from_commandline()
    return 0


if __name__ == "__main__":
    sys.exit(main())
