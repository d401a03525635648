"""`harmony report liability --as-of DATE [--csv FILE] [--png DIR] [--json]`."""
from __future__ import annotations

import json
import sys
from datetime import date


def cmd_liability(args) -> int:
    from streams.reports import output as liability_output
    from streams.reports.liability import build
    from streams.runtime.settings import Settings
    as_of = date.fromisoformat(args.as_of) if args.as_of else date.today()
    report = build(Settings(), as_of, args.yen_per_point)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(liability_output.text(report), end="")
    if args.csv:
        for f in liability_output.write_csv(report, args.csv):
            print(f"wrote {f}", file=sys.stderr)
    if args.png:
        from streams.reports.charts import write_png
        for f in write_png(report, args.png):
            print(f"wrote {f}", file=sys.stderr)
    return 0


def register(sub) -> None:
    r = sub.add_parser("report", help="reports for finance and analytics")
    rsub = r.add_subparsers(dest="report_command", required=True)
    li = rsub.add_parser("liability", help="outstanding points and their movement (text, JSON, CSV, PNG)")
    li.add_argument("--as-of", dest="as_of", default=None, help="YYYY-MM-DD (JST); default today")
    li.add_argument("--csv", default=None, metavar="FILE",
                    help="outstanding by expiry and status to FILE; FILE-monthly/-hotels/-breakage.csv beside it")
    li.add_argument("--png", default=None, metavar="DIR", help="charts: liability-by-expiry.png, movement-monthly.png")
    li.add_argument("--json", action="store_true", help="the whole report as JSON (as GET /reports/liability)")
    li.add_argument("--yen-per-point", dest="yen_per_point", default=None,
                    help="yen value of a point (default: the PAY_BY_POINTS award, 400 points per ¥500 = 1.25)")
    li.set_defaults(func=cmd_liability)
