"""`harmony dlq list` and `harmony dlq replay` (streams/kafka/dead_letters.py does the work)."""
from __future__ import annotations

import sys
from datetime import UTC, datetime

from streams.kafka.dead_letters import DEFAULT_MAX_REPLAYS, by_reason, read_dead_letters, replay, replay_counts, select


def _age(ts: datetime | None, now: datetime) -> str:
    if ts is None:
        return "?"
    s = max(int((now - ts).total_seconds()), 0)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if s >= size:
            return f"{s // size}{unit}"
    return f"{s}s"


def _short(topic: str, prefix: str) -> str:
    return topic[len(prefix):] if prefix and topic.startswith(prefix) else topic


def _selected(args, s):
    from streams.cli.tail import parse_since, resolve_topic
    origin = resolve_topic(s.topics, args.origin) if args.origin else None
    letters = list(read_dead_letters(s.bootstrap, s.topics.dlq))
    return select(letters, origin=origin, reasons=args.reason or (), ids=getattr(args, "ids", None) or (),
                  since=parse_since(args.since) if args.since else None)


def cmd_list(args) -> int:
    from streams.redis.client import connect
    from streams.runtime.settings import Settings
    s = Settings()
    letters = _selected(args, s)
    redis = connect(s.redis_url)
    counts = replay_counts(redis, letters)
    now = datetime.now(UTC)
    rows = [("id", "origin", "at", "age", "replays", "error")]
    for d in letters:
        rows.append((d.id, _short(d.origin_topic, s.topics.prefix),
                     f"{d.origin_partition}:{d.origin_offset}" if d.origin_offset >= 0 else "held",
                     _age(d.timestamp, now), str(counts.get(d.content_id, 0)), d.error[:80]))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)) + "  " + r[5])
    print(f"\n{len(letters)} dead letters" + ("" if not letters else " by error: " + ", ".join(
        f"{reason} {n}" for reason, n in by_reason(letters).most_common())))
    return 0


def cmd_replay(args) -> int:
    from streams.kafka.clients import make_producer
    from streams.redis.client import connect
    from streams.runtime.settings import Settings
    s = Settings()
    if not (args.origin or args.reason or args.ids or args.all):
        print("harmony dlq replay: say what to replay: --origin, --reason, --ids, or --all", file=sys.stderr)
        return 2
    letters = _selected(args, s)
    producer = make_producer(s.bootstrap)
    redis = connect(s.redis_url)
    outcomes = replay(producer, redis, s.topics.dlq, letters, s.topics.inputs, dry_run=args.dry_run,
                      max_replays=args.max_replays)
    for o in outcomes:
        d = o.letter
        print(f"{o.action:<13} {d.id:<10} -> {_short(d.origin_topic, s.topics.prefix)}  key "
              f"{(d.key or b'').decode('utf-8', 'replace')}  {o.detail}  ({d.error[:60]})")
    n = sum(1 for o in outcomes if o.action in ("replayed", "would replay"))
    skipped = sum(1 for o in outcomes if o.action == "skipped")
    verb = "would replay" if args.dry_run else "replayed"
    print(f"{verb} {n} of {len(letters)} dead letters; {skipped} skipped")
    return 0


def register(sub) -> None:
    d = sub.add_parser("dlq", help="dead letters: list them, replay them to their origin topic")
    dsub = d.add_subparsers(dest="dlq_command", required=True)
    for name, func, text in (("list", cmd_list, "dead letters by origin and error"),
                             ("replay", cmd_replay, "re-publish dead letters to their origin topic")):
        p = dsub.add_parser(name, help=text)
        p.add_argument("--origin", default=None, help="origin topic (e.g. pms.folio-postings.v1)")
        p.add_argument("--reason", action="append", default=None,
                       help="first word of the error: UNKNOWN_MEMBER, CONFLICT, DecodeError, InvalidEvent (repeatable)")
        p.add_argument("--since", default=None, metavar="DATETIME", help="dead-lettered at or after (ISO; JST default)")
        if name == "replay":
            p.add_argument("--ids", nargs="+", default=None, metavar="ID", help="dead-letter ids from `dlq list`")
            p.add_argument("--all", action="store_true", help="every dead letter (with other filters: all of those)")
            p.add_argument("--dry-run", action="store_true", help="print what would be replayed, send nothing")
            p.add_argument("--max-replays", type=int, default=DEFAULT_MAX_REPLAYS,
                           help=f"skip records replayed this many times already (default {DEFAULT_MAX_REPLAYS})")
        p.set_defaults(func=func)
