"""`harmony bench` ceiling phase: what one Python process can do at best, before any I/O.

Runs in the bench process on an idle machine (before the engine phase), on the first
``CEILING_EVENTS`` charges of the run, batch by batch like the worker, with every member in memory:

* **decode**: Avro bytes -> domain event (the generated readers) and the content fingerprint;
* **rules**: the member aggregate (``processors.member``) deciding each charge: eligibility, FX,
  points, bonus, lots, qualification, the source record it keeps;
* **outputs**: the records the worker must publish for them (decision, ledger entries, balance),
  Avro-encoded by the engine's own ``_emit``.

No Redis, no Kafka, no changelog: the sum is a floor for the engine's cost per event, whatever the
I/O design, so ``1 / sum`` is a ceiling for events/s per process on this machine. The collector is
tuned as in the worker (``streams.runtime.gc_tuning``).
"""
from __future__ import annotations

import gc
import time
from collections import defaultdict
from datetime import UTC, datetime

from bench.base import Bench
from streams.kafka.topics import Topics
from streams.runtime import gc_tuning
from streams.simulate.messages import SimMessage

CEILING_EVENTS = 50_000


def ceiling_phase(b: Bench, E: Topics, fx: list[SimMessage], enrollments: list[SimMessage],
                  charges: list[SimMessage]) -> None:
    from processors.fx import FxTable
    from processors.member import Context, Member
    from processors.outcomes import Effects
    from schemas.codec import Codec
    from streams.engine.batch import BatchResult, Engine
    from streams.engine.events import DOMAIN_CLASSES, fingerprint
    from streams.runtime.config_file import ConfigFile
    from streams.runtime.metrics import Metrics
    from streams.runtime.settings import Settings

    sample = charges[:CEILING_EVENTS]
    if not sample:
        return
    b.say(f"ceiling: decode, rules and outputs of {len(sample):,} charges in this process, members in memory ...")
    codec = Codec()
    rates = FxTable()
    for m in fx:
        rates.add(codec.decode_domain(m.value, DOMAIN_CLASSES)[1])
    cfg = ConfigFile(Settings().config_path)()
    ctx = Context(cfg, rates, datetime.now(UTC))
    engine = Engine(E, codec, None, lambda: cfg, rates, Metrics())  # type: ignore[arg-type]  # no store: decisions only
    members: dict[str, Member] = {}
    wanted = {m.member_id for m in sample}
    for m in enrollments:
        if m.member_id in wanted:
            e = codec.decode_domain(m.value, DOMAIN_CLASSES)[1]
            members[e.member_id] = Member(e.member_id)
            members[e.member_id].handle_enrollment(e, ctx)
    topic = {attr: getattr(E, attr) for attr in {m.topic for m in sample}}
    previous_gc = gc.get_threshold()
    gc.set_threshold(*gc_tuning.THRESHOLDS)  # as the worker does (the traffic is frozen already)
    decode_s = rules_s = out_s = 0.0
    records = 0
    size = b.result["config"]["batch_size"]
    for k in range(0, len(sample), size):
        batch = sample[k:k + size]
        t0 = time.perf_counter()
        decoded = [(m, codec.decode_domain(m.value, DOMAIN_CLASSES)[1], fingerprint(m.value)) for m in batch]
        t1 = time.perf_counter()
        by_member = defaultdict(list)
        for m, ev, fp in decoded:
            if ev.member_id:
                by_member[ev.member_id].append((m, ev, fp))
        touched = []
        for mid, items in by_member.items():
            mem = members.get(mid) or members.setdefault(mid, Member(mid))
            mem.effects = Effects()  # a new unit of work per batch, as after a load
            mem.changes.clear()
            mem.new_src.clear()
            mem.held_put.clear()
            mem.held_del.clear()
            for m, ev, fp in items:
                mem.handle_charge(ev, topic[m.topic], m.value, fp, ctx)
            touched.append(mem)
        t2 = time.perf_counter()
        result = BatchResult()
        for mem in touched:
            engine._emit(mem, ctx, result)
        records += len(result.records)
        t3 = time.perf_counter()
        decode_s, rules_s, out_s = decode_s + t1 - t0, rules_s + t2 - t1, out_s + t3 - t2
    gc.set_threshold(*previous_gc)
    n = len(sample)
    us = {"decode": decode_s / n * 1e6, "rules": rules_s / n * 1e6, "outputs": out_s / n * 1e6}
    total = sum(us.values())
    b.result["ceiling"] = {"events": n, "us_per_event": {k: round(v, 1) for k, v in us.items()},
                           "us_total": round(total, 1), "records_per_event": round(records / n, 2),
                           "events_per_s": round(1e6 / total)}
    b.say(f"ceiling: decode {us['decode']:.1f} + rules {us['rules']:.1f} + outputs {us['outputs']:.1f} "
          f"= {total:.1f} us/event -> at most {1e6 / total:,.0f} events/s per process before any I/O")
