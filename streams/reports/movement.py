"""Movement of the points liability, from the ledger topic (``points.ledger.v1``) up to a date.

Every entry is counted once: a replayed batch republishes entries with the same ``entry_id``
(at-least-once delivery), so entries are de-duplicated by id. In bounded memory: entries are first
spilled to ``buckets`` temporary files by a hash of their id (a compact line each), then each file
is de-duplicated and added up on its own; the number of buckets follows the topic's size
(``bucket_entries`` entries per bucket, default 200,000), so memory holds one bucket at a time plus
the totals, whatever the size of the ledger. A small ledger (one bucket) is not spilled.

Month and as-of date: the JST date of ``occurred_at`` (when the entry was booked). Hotel: the
entry's ``hotel_code`` ("-" for expiries). Earn-year of a lot: the business year whose points
expire on ``lot_expires_on`` under the program configuration (``expiry_date``).
"""
from __future__ import annotations

import math
import os
import tempfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from processors.model import JST
from streams.kafka.topic_reader import read

TYPES = ("EARN", "BONUS", "REVERSAL", "REDEEM", "REFUND", "EXPIRE", "ADJUST")
# columns of the report: (name, ledger types, sign shown)
COLUMNS = (("issued", ("EARN", "BONUS", "REVERSAL"), 1), ("redeemed", ("REDEEM", "REFUND"), -1),
           ("expired", ("EXPIRE",), -1), ("adjusted", ("ADJUST",), 1))
BUCKET_ENTRIES = 200_000


@dataclass
class Movement:
    through: date
    entries: int = 0            # distinct entries counted (up to the as-of date)
    duplicates: int = 0         # republished copies skipped
    later: int = 0              # entries after the as-of date (not counted)
    buckets: int = 1
    by_type: dict[str, int] = field(default_factory=dict)
    monthly: dict[tuple[str, str], int] = field(default_factory=dict)        # (YYYY-MM, type) -> points
    by_hotel: dict[tuple[str, str, str], int] = field(default_factory=dict)  # (hotel, YYYY-MM, type)
    by_lot: dict[tuple[str, str], int] = field(default_factory=dict)         # (lot date, type)

    @property
    def net(self) -> int:
        return sum(self.by_type.values())

    def add(self, etype: str, points: int, lot: str, hotel: str, day: str) -> None:
        month = day[:7]
        self.entries += 1
        self.by_type[etype] = self.by_type.get(etype, 0) + points
        self.monthly[(month, etype)] = self.monthly.get((month, etype), 0) + points
        k = (hotel, month, etype)
        self.by_hotel[k] = self.by_hotel.get(k, 0) + points
        if lot:
            self.by_lot[(lot, etype)] = self.by_lot.get((lot, etype), 0) + points


def _line(e: dict) -> str:
    lot = e["lot_expires_on"].isoformat() if e.get("lot_expires_on") else ""
    day = e["occurred_at"].astimezone(JST).date().isoformat()
    return "\t".join((e["entry_id"], e["type"], str(e["points"]), lot, e.get("hotel_code") or "-", day))


def _entries(bootstrap: str, topic: str, codec) -> Iterable[str]:
    for m in read(bootstrap, topic):
        if m.value() is None:
            continue
        name, rec = codec.decode(m.value())
        if name == "PointEntry":
            yield _line(rec)


def _size(bootstrap: str, topic: str) -> int:
    """Records in the topic, from the watermarks (an estimate on Tansu: enough to size the buckets)."""
    from confluent_kafka import TopicPartition

    from streams.kafka.clients import make_consumer
    from streams.kafka.topic_reader import partitions
    c = make_consumer("harmony-liability-size", bootstrap)
    try:
        total = 0
        for p in partitions(c, topic):
            low, high = c.get_watermark_offsets(TopicPartition(topic, p), timeout=10, cached=False)
            total += max(high - low, 0)
        return total
    finally:
        c.close()


def _count(mv: Movement, lines: Iterable[str]) -> None:
    seen: dict[str, str] = {}
    for line in lines:
        eid, rest = line.split("\t", 1)
        if eid in seen:
            mv.duplicates += 1
            continue
        seen[eid] = rest
    through = mv.through.isoformat()
    for rest in seen.values():
        etype, points, lot, hotel, day = rest.split("\t")
        if day > through:
            mv.later += 1
            continue
        mv.add(etype, int(points), lot, hotel, day)


def movement(bootstrap: str, topic: str, through: date, codec, bucket_entries: int = BUCKET_ENTRIES,
             workdir: str | None = None) -> Movement:
    mv = Movement(through)
    mv.buckets = max(1, math.ceil(_size(bootstrap, topic) / bucket_entries))
    if mv.buckets == 1:
        _count(mv, _entries(bootstrap, topic, codec))
        return mv
    with tempfile.TemporaryDirectory(prefix="harmony-liability-", dir=workdir) as tmp:
        files = [open(os.path.join(tmp, f"b{i:04d}.tsv"), "w", encoding="utf-8") for i in range(mv.buckets)]
        try:
            for line in _entries(bootstrap, topic, codec):
                files[zlib.crc32(line.split("\t", 1)[0].encode()) % mv.buckets].write(line + "\n")
        finally:
            for f in files:
                f.close()
        for f in files:
            with open(f.name, encoding="utf-8") as fh:
                _count(mv, (x.rstrip("\n") for x in fh))
            os.unlink(f.name)
    return mv


def earn_year_of(lot: date, cfg) -> int | None:
    """The business year whose points expire on ``lot`` (None when no year maps to it)."""
    from processors.validity import expiry_date
    for year in range(lot.year - 10, lot.year + 1):
        if expiry_date(date(year, 6, 30), cfg) == lot:
            return year
    return None


def as_dict(mv: Movement, cfg, as_of: date) -> dict:
    def cols(get) -> dict:
        row = {name: sign * sum(get(t) for t in types) for name, types, sign in COLUMNS}
        row["net"] = sum(get(t) for t in TYPES)
        return row

    months = sorted({m for m, _ in mv.monthly})
    hotels = sorted({(h, m) for h, m, _ in mv.by_hotel})
    lots = sorted({lot for lot, _ in mv.by_lot})
    breakage = []
    for lot in lots:
        issued = sum(mv.by_lot.get((lot, t), 0) for t in ("EARN", "BONUS", "REVERSAL"))
        expired = -mv.by_lot.get((lot, "EXPIRE"), 0)
        d = date.fromisoformat(lot)
        breakage.append({"earn_year": earn_year_of(d, cfg), "lot_expires_on": lot, "issued": issued,
                         "expired": expired, "breakage": round(expired / issued, 4) if issued > 0 else None,
                         "final": d < as_of})
    return {
        "through": mv.through.isoformat(), "entries": mv.entries, "duplicates_skipped": mv.duplicates,
        "entries_after_as_of": mv.later, "buckets": mv.buckets, "net_points": mv.net,
        "by_type": {t: mv.by_type.get(t, 0) for t in TYPES},
        "monthly": [{"month": m, **cols(lambda t, m=m: mv.monthly.get((m, t), 0))} for m in months],
        "by_hotel": [{"hotel": h, "month": m, **cols(lambda t, h=h, m=m: mv.by_hotel.get((h, m, t), 0))}
                     for h, m in hotels],
        "breakage": breakage,
    }
