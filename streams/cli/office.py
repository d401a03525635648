"""`harmony adjust`, `harmony claim` (file a request, wait for its outcome, print it) and
`harmony api-token` (make a token and the line of the token file holding its hash)."""
from __future__ import annotations

import getpass
import json
import os
import sys


def register(sub) -> None:
    a = sub.add_parser("adjust", help="credit or debit points by hand; waits for and prints the outcome")
    a.add_argument("member_id")
    a.add_argument("points", type=int, help="credit (e.g. 500) or debit (e.g. -500)")
    a.add_argument("--reason", required=True, help="GOODWILL, SERVICE_RECOVERY, MIGRATION, CORRECTION or OTHER")
    a.add_argument("--note", default=None)
    a.add_argument("--operator", default=None, help="who asks (default: $HARMONY_OPERATOR or the login name)")
    _request_options(a, "adjustment", cmd_adjust)
    c = sub.add_parser("claim", help="claim a charge published without member id; waits for and prints the outcome")
    c.add_argument("member_id")
    c.add_argument("source_id", help="posting_id or bill_id (optionally P:... / B:...)")
    _request_options(c, "claim", cmd_claim)
    t = sub.add_parser("api-token", help="make an API token; prints it once and the token-file entry (its hash)")
    t.add_argument("name")
    t.add_argument("--role", required=True, choices=["member-app", "office"])
    t.set_defaults(func=cmd_api_token)


def _request_options(parser, what: str, func) -> None:
    """The options of a request that waits for its outcome: its id, how long to wait, JSON output."""
    parser.add_argument("--id", dest="request_id", default=None, help=f"{what} id (idempotency key; generated)")
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--json", action="store_true")
    parser.set_defaults(func=func)


def _client():
    from streams.redis.client import connect
    from streams.runtime.settings import Settings
    from streams.web.office_requests import OfficeClient
    s = Settings()
    return OfficeClient(s, connect(s.redis_url))


def _print(out: dict | None, what: str, ident: str, as_json: bool) -> int:
    if out is None:
        print(f"harmony: {what} {ident} published, no outcome yet (is the worker running? see harmony wait)",
              file=sys.stderr)
        return 2
    if as_json:
        print(json.dumps(out, ensure_ascii=False))
    elif what == "adjustment":
        line = f"adjustment {ident}: {out['outcome']}"
        if out["outcome"] == "APPLIED":
            line += f" {out['points']:+,} points, balance {out['balance_after']:,}"
        else:
            line += f" {out['reason']} (nothing changed; balance {out['balance_after'] or 0:,})"
        print(line)
    else:
        line = f"claim {ident} of {out['source_id']}: {out['outcome']}"
        if out["reason"]:
            line += f" {out['reason']}"
        if out["outcome"] == "EARNED":
            line += f" {out['base_points'] + out['bonus_points']:,} points" + \
                (f" ({out['bonus_points']:,} bonus)" if out["bonus_points"] else "") + \
                (f", {out['nights']} night(s)" if out["nights"] else "")
        print(line)
    return 0 if out["outcome"] not in ("REJECTED",) else 1


def cmd_adjust(args) -> int:
    c = _client()
    operator = args.operator or os.environ.get("HARMONY_OPERATOR") or getpass.getuser()
    aid = c.adjust(args.member_id, args.points, args.reason, operator, args.note, args.request_id)
    return _print(c.wait(c.adjustment_outcome, args.member_id, aid, timeout=args.timeout), "adjustment", aid, args.json)


def cmd_claim(args) -> int:
    c = _client()
    cid = c.claim(args.member_id, args.source_id, args.request_id)
    return _print(c.wait(c.claim_outcome, args.member_id, cid, timeout=args.timeout), "claim", cid, args.json)


def cmd_api_token(args) -> int:
    from streams.web.auth import new_token, token_hash
    token = new_token()
    print(f"token (give it to {args.name}; it is not stored anywhere): {token}", file=sys.stderr)
    print(f'[[tokens]]\nname = "{args.name}"\nrole = "{args.role}"\nsha256 = "{token_hash(token)}"')
    return 0
