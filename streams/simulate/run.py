"""`harmony simulate`: generate the traffic, describe it, create the topics, publish (setup records
first, then the charges at the asked rate) and print what went where. The options are declared in
streams/cli/simulate.py."""
from __future__ import annotations

import itertools
import sys
import time
from collections import Counter
from datetime import date

from streams.simulate.generator import Generator
from streams.simulate.messages import Traffic
from streams.simulate.mix import ZIPF_EXPONENT
from streams.simulate.publish import publish

__all__ = ["main"]


def main(args) -> int:
    """`harmony simulate --events N --members M --rate R [--seed S] [--start D] [--days N] [--zipf S]`."""
    from streams.kafka.admin import create_topics
    from streams.kafka.clients import make_producer
    from streams.runtime.settings import Settings

    s = Settings()
    t0 = time.perf_counter()
    gen = Generator(args.members, args.events, seed=args.seed, start=date.fromisoformat(args.start),
                    days=args.days, zipf=getattr(args, "zipf", ZIPF_EXPONENT))
    charges_only = getattr(args, "charges_only", False)
    traffic = Traffic(fx=[] if charges_only else gen.fx_rates(),
                      enrollments=[] if charges_only else gen.enrollments(),
                      charges=gen.charges(args.events))
    encoded = time.perf_counter() - t0
    first, last = gen.start, gen.business_date()
    print(f"harmony simulate: {args.members:,} members, {args.events:,} charge events, seed {args.seed}, "
          f"business dates {first}..{last}; generated and encoded in {encoded:.1f} s")
    for line in gen.summary(traffic.charges):
        print("  " + line)
    if getattr(args, "dry_run", False):
        print("dry run: nothing sent")
        return 0
    if not getattr(args, "no_create_topics", False):
        create_topics(s.bootstrap, s.topics)
    producer = make_producer(s.bootstrap, **{"queue.buffering.max.messages": 500_000})
    setup = traffic.fx + traffic.enrollments
    try:
        took_setup = publish(producer, s.topics, setup) if setup else 0.0
        took = publish(producer, s.topics, traffic.charges, args.rate)
    except KeyboardInterrupt:
        producer.flush(10)
        print("interrupted", file=sys.stderr)
        return 130
    per_topic = Counter(getattr(s.topics, m.topic) for m in itertools.chain(setup, traffic.charges))
    print(f"sent to {s.bootstrap}" + (f" (topic prefix {s.topics.prefix!r})" if s.topics.prefix else "") + ":")
    for topic, n in sorted(per_topic.items()):
        print(f"  {topic:<40} {n:>10,}")
    if setup:
        print(f"  FX rates ({', '.join(gen.currencies)}) and enrollments first, in {took_setup:.1f} s")
    pace = f"offered {args.rate:,.0f}/s" if args.rate > 0 else "as fast as possible"
    print(f"{len(traffic.charges):,} charges in {took:.1f} s ({len(traffic.charges) / max(took, 1e-9):,.0f}/s, {pace})")
    return 0
