"""Memory per charge kept for missing-points claims: `python -m bench.measure_kept --charges 20000`.

Starts a private redis-server, keeps N memberless folio postings and N memberless POS bills through
``KeptCharges.keep`` (what the engine does for a charge without member id), and prints the Avro size,
the growth of Redis ``used_memory`` per charge and the average ``MEMORY USAGE`` of a key.
"""
from __future__ import annotations

import argparse
import tempfile
from datetime import datetime
from pathlib import Path

from processors.model import JST
from schemas.codec import Codec
from schemas.jsonio import from_json
from streams.devstack.redis import RedisServer
from streams.engine.events import DOMAIN_CLASSES
from streams.kafka.topics import Topics
from streams.redis.client import connect
from streams.redis.kept_charges import KeptCharges
from streams.redis.keys import KEPT_SCAN


def _posting(i: int) -> dict:
    return {"posting_id": f"RSV{i:08d}-{i % 7}", "hotel_code": "OKURA-TOKYO", "reservation_id": f"R{i:08d}",
            "member_id": None, "business_date": "2026-11-10", "posted_at": "2026-11-10T12:00:00+09:00",
            "category": "ROOM", "amount": str(10_000 + i % 90_000), "currency": "JPY", "nights": 1,
            "booking_channel": "DIRECT", "rate_plan": None, "corrects_posting_id": None}


def _bill(i: int) -> dict:
    return {"bill_id": f"BILL-TYO01-{i:09d}", "hotel_code": "OKURA-TOKYO", "outlet_code": "OUT1",
            "outlet_type": "RESTAURANT", "member_id": None, "business_date": "2026-11-10",
            "closed_at": "2026-11-10T20:00:00+09:00", "currency": "JPY",
            "lines": [{"kind": "FOOD", "amount": "12400"}, {"kind": "BEVERAGE", "amount": "3600"},
                      {"kind": "TAX", "amount": "1600"}, {"kind": "SERVICE_CHARGE", "amount": "1600"}],
            "paid_with_points_amount": "0", "voids_bill_id": None}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--charges", type=int, default=20_000)
    n = ap.parse_args(argv).charges
    codec = Codec()
    now = datetime(2026, 11, 20, tzinfo=JST)
    with RedisServer(workdir=Path(tempfile.mkdtemp(prefix="harmony-kept-"))) as srv:
        r = connect(srv.url)
        kept = KeptCharges(r, Topics(), lambda raw: codec.decode_domain(raw, DOMAIN_CLASSES)[1])
        for kind, name, build in (("posting", "FolioPosting", _posting), ("bill", "PosBill", _bill)):
            r.flushall()
            base = r.info("memory")["used_memory"]
            batch, size = [], 0
            for i in range(n):
                raw = codec.encode(name, from_json(name, build(i)))
                size += len(raw)
                batch.append((codec.decode_domain(raw, DOMAIN_CLASSES)[1], raw))
                if len(batch) == 2000 or i == n - 1:
                    kept.keep(batch, 180, now)
                    batch = []
            used = r.info("memory")["used_memory"] - base
            keys = [k for _, k in zip(range(1000), r.scan_iter(match=KEPT_SCAN, count=1000))]
            usage = sum(r.memory_usage(k) for k in keys) / len(keys)
            print(f"{kind}: {n:,} kept, Avro {size / n:.0f} B, used_memory +{used / n:.0f} B per charge, "
                  f"MEMORY USAGE {usage:.0f} B per key")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
