"""`harmony tail TOPIC`: any engine topic decoded to JSON lines (interfaces.md).

Start: ``--from-beginning``, else ``--since DATETIME`` (the first record at or after it, per
partition), else the end of the topic, following it (new records only, like kafka-console-consumer).
Without ``--follow`` a read from the beginning or a time stops at the end of every partition.
``--key K`` keeps the records with that key; ``--limit N`` stops after N printed records.
TOPIC is a binding name (the prefix of HARMONY_TOPIC_PREFIX is added) or a full name.
"""
from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from typing import IO

from processors.model import JST


def resolve_topic(topics, name: str) -> str:
    known = topics.all()
    if name in known:
        return name
    if topics.prefix + name in known:
        return topics.prefix + name
    raise SystemExit(f"harmony tail: unknown topic {name!r}; the engine's topics: "
                     + ", ".join(t[len(topics.prefix):] for t in known))


def parse_since(text: str) -> datetime:
    """ISO date or date-time; a date or a time without offset is JST."""
    t = datetime.fromisoformat(text)
    return t if t.tzinfo is not None else t.replace(tzinfo=JST)


def tail(settings, topic: str, *, from_beginning: bool = False, since: datetime | None = None,
         key: str | None = None, limit: int | None = None, follow: bool = False, out: IO | None = None,
         stop=None) -> int:
    """Print the records as JSON lines; returns how many were printed."""
    from schemas.codec import Codec
    from streams.kafka.topic_reader import read
    from streams.reports.record_view import describe
    out = out or sys.stdout
    codec = Codec(settings.registry_url)
    start: str | datetime = "beginning" if from_beginning else since if since is not None else "end"
    follow = follow or start == "end"
    want = key.encode() if key is not None else None
    since_ms = int(since.timestamp() * 1000) if since is not None and not from_beginning else None
    printed = 0
    if limit is not None and limit <= 0:
        return 0
    for m in read(settings.bootstrap, topic, start=start, follow=follow, stop=stop):
        if want is not None and m.key() != want:
            continue
        if since_ms is not None and m.timestamp()[1] < since_ms:  # brokers that answer the time lookup
            continue  # loosely (Tansu returns earlier offsets) still show nothing older
        out.write(json.dumps(describe(m, codec, settings.topics), ensure_ascii=False) + "\n")
        out.flush()
        printed += 1
        if limit is not None and printed >= limit:
            break
    return printed


def cmd_tail(args) -> int:
    from streams.runtime.settings import Settings
    s = Settings()
    topic = resolve_topic(s.topics, args.topic)
    since = parse_since(args.since) if args.since else None
    try:
        tail(s, topic, from_beginning=args.from_beginning, since=since, key=args.key, limit=args.limit,
             follow=args.follow)
    except LookupError as exc:
        print(f"harmony tail: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # `harmony tail ... | head`
        return 0
    return 0


def register(sub) -> None:
    t = sub.add_parser("tail", help="decode any of the engine's topics to JSON lines")
    t.add_argument("topic", help="e.g. points.ledger.v1, loyalty.dlq.v1 (prefix added when missing)")
    t.add_argument("--from-beginning", action="store_true", help="from the first record (default: the end, following)")
    t.add_argument("--since", default=None, metavar="DATETIME",
                   help="from the first record at or after this time (ISO; JST when no offset is given)")
    t.add_argument("--key", default=None, help="only records with this key (e.g. a member id)")
    t.add_argument("--limit", type=int, default=None, help="stop after N records")
    t.add_argument("--follow", action="store_true", help="keep waiting for new records at the end")
    t.set_defaults(func=cmd_tail)


__all__ = ["tail", "register", "resolve_topic", "parse_since", "timezone"]
