"""`harmony topics create`, `harmony publish` and `harmony wait`: the topics and what is on them."""
from __future__ import annotations

import sys
import time
from pathlib import Path

from streams.cli.common import settings


def cmd_topics_create(args) -> int:
    from streams.kafka.admin import create_topics
    from streams.kafka.topics import Topics
    s = settings()
    created = create_topics(s.bootstrap, Topics.from_env(), partitions=args.partitions)
    topics = Topics.from_env().all()
    for t in topics:
        print(("created  " if t in created else "exists   ") + t)
    return 0


def cmd_publish(args) -> int:
    from streams.kafka.publishing import publish_file
    s = settings()
    sent, bad = publish_file(s, args.topic, Path(args.file))
    print(f"published {sent} records to {args.topic}" + (f"; {bad} bad lines not sent" if bad else ""))
    return 1 if bad else 0


def cmd_wait(args) -> int:
    from streams.kafka.lag import wait_until_caught_up
    from streams.runtime.worker import fx_reader_group
    s = settings()
    t = s.topics
    started = time.monotonic()
    try:
        wait_until_caught_up(s.bootstrap, s.group, [x for x in t.inputs if x != t.fx], args.timeout)
        remaining = max(args.timeout - (time.monotonic() - started), 1.0)
        wait_until_caught_up(s.bootstrap, fx_reader_group(s.group), [t.fx], remaining)
    except TimeoutError as exc:
        print(f"harmony wait: {exc}", file=sys.stderr)
        return 1
    print(f"caught up ({time.monotonic() - started:.1f} s)")
    return 0


def register(sub) -> None:
    """topics create, publish, wait"""
    t = sub.add_parser("topics", help="topic administration")
    tsub = t.add_subparsers(dest="topics_command", required=True)
    tc = tsub.add_parser("create", help="create every topic (idempotent)")
    tc.add_argument("--partitions", type=int, default=None)
    tc.set_defaults(func=cmd_topics_create)

    pub = sub.add_parser("publish", help="validate JSON lines and publish them Avro-encoded")
    pub.add_argument("topic")
    pub.add_argument("file")
    pub.set_defaults(func=cmd_publish)

    wt = sub.add_parser("wait", help="block until the worker has processed everything published so far")
    wt.add_argument("--timeout", type=float, default=60.0)
    wt.set_defaults(func=cmd_wait)
