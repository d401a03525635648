"""Micro-benchmark of the codec's decoders (:mod:`schemas.fastread`): ``python -m bench.codec_read``.

Prints µs/record of fastavro, fastavro + to_domain, Codec.decode + to_domain, Codec.decode_fast and
Codec.decode_domain (also with every cache cold), over 1000 varied FolioPostings and PosBills.
Tooling, not the product: it lives here so that the codec imports nothing from ``streams/``.
"""
from __future__ import annotations

import random
import timeit
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from io import BytesIO

from fastavro import schemaless_reader, schemaless_writer

from schemas import catalog, fastread_runtime
from schemas.codec import Codec
from streams.engine.events import DOMAIN_CLASSES, to_domain


def _bench_bodies(count: int = 1000) -> dict[str, list[bytes]]:
    """Avro bodies of varied FolioPostings and PosBills (2-4 lines), as a stream carries them:
    increasing instants over 10 minutes, three business dates, amounts half from a few room
    rates, half all different."""
    rnd = random.Random(7)
    schemas = catalog.load()
    t0 = datetime(2026, 3, 1, tzinfo=UTC)
    cats = ["ROOM", "FOOD_BEVERAGE", "OTHER_SERVICE", "TAX", "SERVICE_CHARGE", "SHOPPING_ARCADE"]
    chans = ["RESERVATION_CENTER", "OFFICIAL_WEBSITE", "DIRECT", "TRAVEL_AGENCY", "OTHER"]

    def amount() -> Decimal:
        if rnd.random() < 0.5:
            return Decimal(rnd.choice([18000, 24000, 35000, 52000, 88000])).quantize(Decimal("0.0001"))
        return Decimal(rnd.randrange(100_0000, 200000_0000)).scaleb(-4)

    instants = iter(sorted(t0 + timedelta(milliseconds=rnd.randrange(600_000)) for _ in range(2 * count)))

    def when() -> datetime:
        return next(instants)

    out: dict[str, list[bytes]] = {"FolioPosting": [], "PosBill": []}
    for i in range(count):
        member = None if rnd.random() < 0.1 else f"OH{rnd.randrange(10**7):08d}"
        rec = dict(posting_id=f"PMS-TYO01-{i:08d}", hotel_code=rnd.choice(["OKURA-TOKYO", "OKURA-KYOTO"]),
                   reservation_id=f"R{rnd.randrange(10**6):07d}", member_id=member,
                   business_date=date(2026, 3, 1) + timedelta(days=rnd.randrange(3)), posted_at=when(),
                   category=rnd.choice(cats), amount=amount(), currency="JPY", nights=rnd.randrange(3),
                   booking_channel=rnd.choice(chans), rate_plan=rnd.choice([None, "BAR", "ADV21"]),
                   corrects_posting_id=None)
        buf = BytesIO()
        schemaless_writer(buf, schemas["FolioPosting"].parsed, rec)
        out["FolioPosting"].append(buf.getvalue())
        lines = [dict(kind=rnd.choice(["FOOD", "BEVERAGE", "TAX", "SERVICE_CHARGE", "OTHER"]), amount=amount())
                 for _ in range(rnd.randrange(2, 5))]
        bill = dict(bill_id=f"POS-{i:08d}", hotel_code="OKURA-TOKYO", outlet_code="ORCHID", outlet_type="RESTAURANT",
                    member_id=member, business_date=date(2026, 3, 1), closed_at=when(), currency="JPY", lines=lines,
                    paid_with_points_amount=Decimal("0.0000"), voids_bill_id=None)
        buf = BytesIO()
        schemaless_writer(buf, schemas["PosBill"].parsed, bill)
        out["PosBill"].append(buf.getvalue())
    return out


def main(repeat: int = 7, number: int = 20) -> None:
    """µs per record (1000 varied records of each type, best of ``repeat``)."""
    codec = Codec()
    schemas = catalog.load()
    cols = ["fastavro", "+to_domain", "decode+to_domain", "decode_fast", "decode_domain", "(steady)",
            "(cold caches)"]
    print(f"{'µs/record':14}" + "".join(f"{c:>18}" for c in cols))
    decode, fast, domain = codec.decode, codec.decode_fast, codec.decode_domain
    for name, items in _bench_bodies().items():
        parsed = schemas[name].parsed
        framed = [codec._so_header[name] + b for b in items]
        for b in framed:  # same results
            assert fast(b) == decode(b) and domain(b, DOMAIN_CLASSES) == (name, to_domain(*decode(b)))
        t = fastread_runtime._tables()
        caches = [t["dates"], t["dates3"], t["instants"], t["buckets"], *t["decimals"].values()]

        def fa(items=items, parsed=parsed):
            for b in items:
                schemaless_reader(BytesIO(b), parsed, None)

        def fa_dom(items=items, parsed=parsed, name=name):
            for b in items:
                to_domain(name, schemaless_reader(BytesIO(b), parsed, None))

        def dec_dom(framed=framed):
            for b in framed:
                to_domain(*decode(b))

        def dec_fast(framed=framed):
            for b in framed:
                fast(b)

        def dec_domain(framed=framed):
            for b in framed:
                domain(b, DOMAIN_CLASSES)

        # caches cleared once per pass: repeated values hit, unique amounts miss
        def steady(framed=framed, caches=caches):
            for c in caches:
                c.clear()
            for b in framed:
                domain(b, DOMAIN_CLASSES)

        def cold(framed=framed, caches=caches):  # worst case: every date, instant and amount a miss
            for b in framed:
                for c in caches:
                    c.clear()
                domain(b, DOMAIN_CLASSES)

        def clear_only(framed=framed, caches=caches):
            for _ in framed:
                for c in caches:
                    c.clear()

        row = [min(timeit.repeat(f, number=number, repeat=repeat)) / number / len(items) * 1e6
               for f in (fa, fa_dom, dec_dom, dec_fast, dec_domain, cold, clear_only)]
        row[5] -= row.pop()
        row.insert(5, min(timeit.repeat(steady, number=1, repeat=repeat * number)) / len(items) * 1e6)
        print(f"{name:14}" + "".join(f"{v:18.2f}" for v in row))


if __name__ == "__main__":
    main()
