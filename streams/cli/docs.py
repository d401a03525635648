"""`harmony docs schemas [--check]`: regenerate docs/schemas.md (streams/reports/schema_docs.py)."""
from __future__ import annotations

import sys


def cmd_docs_schemas(args) -> int:
    from streams.reports.schema_docs import PAGE, render, write
    if args.check:
        current = PAGE.exists() and PAGE.read_text(encoding="utf-8") == render()
        print(f"{PAGE}: {'current' if current else 'OUT OF DATE: run `harmony docs schemas`'}",
              file=sys.stdout if current else sys.stderr)
        return 0 if current else 1
    print(f"wrote {write()}")
    return 0


def register(sub) -> None:
    d = sub.add_parser("docs", help="generated documentation")
    dsub = d.add_subparsers(dest="docs_command", required=True)
    s = dsub.add_parser("schemas", help="write docs/schemas.md: every topic, key, record fields, example")
    s.add_argument("--check", action="store_true", help="exit 1 when docs/schemas.md is not current")
    s.set_defaults(func=cmd_docs_schemas)
