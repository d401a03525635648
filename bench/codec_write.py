"""Micro-benchmark of the codec's encoders (:mod:`schemas.fastwrite`): ``python -m bench.codec_write``.

Prints µs/record of Codec.encode, Codec.encode_trusted and the generated body encoder alone for a
ChargeDecision, a PointEntry and a MemberBalance. Tooling, not the product.
"""
from __future__ import annotations

import timeit
from datetime import UTC, date, datetime
from decimal import Decimal

from schemas.codec import Codec
from schemas.fastwrite import encoder


def _bench_records() -> dict[str, dict]:
    t0 = datetime(2026, 3, 1, 3, 4, 5, 678000, tzinfo=UTC)
    return {
        "ChargeDecision": dict(
            decision_id="P:PMS-TYO01-00012345", source_id="P:PMS-TYO01-00012345",
            source_topic="pms.folio-postings.v1", member_id="M00012345", hotel_code="TYO01",
            business_date=date(2026, 3, 1), outcome="EARNED", reason=None, detail=None,
            eligible_amount_jpy=Decimal("35000.0000"), fx_rate=Decimal("1.000000"),
            base_points=700, bonus_points=175, reversed_points=0, nights=1, config_version="2026.03.01-1",
            event_time=t0),
        "PointEntry": dict(
            entry_id="E:P:PMS-TYO01-00012345:EARN", member_id="M00012345", type="EARN", points=700,
            lot_expires_on=date(2029, 1, 31), source_id="P:PMS-TYO01-00012345", hotel_code="TYO01",
            business_date=date(2026, 3, 1), occurred_at=t0, balance_after=12875,
            config_version="2026.03.01-1"),
        "MemberBalance": dict(
            member_id="M00012345", balance=12875, debt=0, status="LOYAL", status_valid_until=date(2027, 3, 31),
            lots=[dict(expires_on=date(2027, 1, 31), points=4000), dict(expires_on=date(2028, 1, 31), points=8175),
                  dict(expires_on=date(2029, 1, 31), points=700)],
            version=1234567, updated_at=t0),
    }


def main(number: int = 100_000, repeat: int = 7) -> None:
    codec = Codec()
    print(f"{'record':16} {'encode µs':>10} {'trusted µs':>11} {'body only µs':>13}  speed-up")
    for name, rec in _bench_records().items():
        assert codec.encode_trusted(name, rec) == codec.encode(name, rec)
        body = encoder(codec.schema(name))
        times = []
        for stmt in (lambda name=name, rec=rec: codec.encode(name, rec),
                     lambda name=name, rec=rec: codec.encode_trusted(name, rec),
                     lambda body=body, rec=rec: body(rec)):
            times.append(min(timeit.repeat(stmt, number=number, repeat=repeat)) / number * 1e6)
        print(f"{name:16} {times[0]:10.2f} {times[1]:11.2f} {times[2]:13.2f}  {times[0] / times[1]:6.1f}x")


if __name__ == "__main__":
    main()
