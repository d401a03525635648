"""`harmony member show`, `harmony close-year`, `harmony expire` and `harmony rebuild`: member state."""
from __future__ import annotations

import json
import sys

from streams.cli.common import now as _now
from streams.cli.common import settings


def _engine():
    from streams.runtime.bootstrap import build_engine
    return build_engine(settings())


def _jobs():
    from streams.runtime.bootstrap import build_jobs
    return build_jobs(settings())


def cmd_member_show(args) -> int:
    from streams.web.member_view import member_json, member_text
    view = member_json(_engine().store, args.member_id, ledger=args.entries)
    if view is None:
        print(f"unknown member {args.member_id}", file=sys.stderr)
        return 1
    print(json.dumps(view, indent=2) if args.json else member_text(view))
    return 0


def cmd_close_year(args) -> int:
    from streams.runtime.app import run_job
    jobs = _jobs()
    try:
        report = run_job(jobs, {"job": "close-year", "year": args.year})
    finally:
        jobs.close()
    print(json.dumps(report))
    return 0


def cmd_expire(args) -> int:
    from processors.validity import jst_date
    from streams.runtime.app import run_job
    as_of = args.as_of or jst_date(_now()).isoformat()  # the JST date, whatever the host's zone
    jobs = _jobs()
    try:
        report = run_job(jobs, {"job": "expire", "as_of": as_of})
    finally:
        jobs.close()
    print(json.dumps(report))
    return 0


def cmd_rebuild(args) -> int:
    from streams.runtime.config_file import load_config
    from streams.runtime.rebuild import rebuild
    s = settings()
    stats = rebuild(s, force=args.force, grace_hours=load_config(s.config_path).unknown_member_grace_hours)
    print(json.dumps(stats))
    return 0


def register(sub) -> None:
    """member show, close-year, expire, rebuild"""
    m = sub.add_parser("member", help="member state")
    msub = m.add_subparsers(dest="member_command", required=True)
    ms = msub.add_parser("show", help="balance, status, lots, qualifying counters, last entries")
    ms.add_argument("member_id")
    ms.add_argument("--json", action="store_true")
    ms.add_argument("--entries", type=int, default=20)
    ms.set_defaults(func=cmd_member_show)

    cy = sub.add_parser("close-year", help="year-end status evaluation of YEAR, now")
    cy.add_argument("year", type=int)
    cy.set_defaults(func=cmd_close_year)

    ex = sub.add_parser("expire", help="point expiry as of DATE, now")
    ex.add_argument("--as-of", dest="as_of", default=None, help="YYYY-MM-DD (JST); default today in JST")
    ex.set_defaults(func=cmd_expire)

    rb = sub.add_parser("rebuild", help="rebuild member state in an empty Redis from Kafka (changelog + ledger)")
    rb.add_argument("--force", action="store_true", help="overwrite a Redis that already holds member state")
    rb.set_defaults(func=cmd_rebuild)
