"""Human-readable lines about what the generator produced, from its counters (``Generator.stats``)."""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from streams.simulate.messages import SimMessage
from streams.simulate.mix import OUTLETS, POSTING_CATEGORIES

__all__ = ["describe"]


def describe(st: Counter, members: int, charges: Iterable[SimMessage] = ()) -> list[str]:
    """The charge mix (categories, outlets, shares) and, given the ``charges``, how they fall on the
    ``members``."""
    total = st["postings"] + st["bills"]
    lines = []
    if total:
        def pct(k):
            return f"{100 * st[k] / total:.1f} %"
        lines.append(f"charges {total:,}: postings {st['postings']:,}, bills {st['bills']:,}; "
                     f"excluded by category {pct('excluded category (tax, service charge, arcade)')}, "
                     f"foreign currency {pct('foreign currency')}, no member {pct('no member (walk-in)')}, "
                     f"non-participating hotel {pct('non-participating hotel')}")
        cats = ", ".join(f"{c} {st['posting ' + c]:,}" for c, _ in POSTING_CATEGORIES)
        lines.append(f"postings by category: {cats}; corrections "
                     f"{st['posting corrections (full)'] + st['posting corrections (partial)']:,}")
        rooms = st["posting ROOM"] or 1
        lines.append(f"stays via travel agency {100 * st['ROOM via TRAVEL_AGENCY'] / rooms:.1f} % "
                     f"of ROOM postings; rate plan NO_POINTS {st['ROOM rate plan NO_POINTS']:,}, "
                     f"DYNAMIC_PACKAGE {st['ROOM rate plan DYNAMIC_PACKAGE']:,}")
        outs = ", ".join(f"{o} {st['bill ' + o]:,}" for o, _ in OUTLETS)
        lines.append(f"bills by outlet: {outs}; voids {st['bill voids']:,}; "
                     f"paid partly with points {st['bills paid partly with points']:,}; "
                     f"{st['bill lines excluded (tax, service charge)']:,} of {st['bill lines']:,} lines "
                     "are tax/service charge")
        per = Counter(m.member_id for m in charges if m.member_id)
        if per:
            top = ", ".join(f"{m} {c:,}" for m, c in per.most_common(3))
            lines.append(f"members with charges {len(per):,} of {members:,}; most active: {top}; "
                         f"median {sorted(per.values())[len(per) // 2]} charges")
    return lines
