"""Source records survive the compact storage form exactly (they drive idempotency and reversals)."""
from datetime import date
from decimal import Decimal

import orjson
from hypothesis import given
from hypothesis import strategies as st

from processors.outcomes import Entry
from processors.records import SourceRecord

lots = st.one_of(st.none(), st.dates(date(2020, 1, 1), date(2040, 12, 31)))
amounts = st.one_of(st.none(), st.decimals(min_value=-10**9, max_value=10**9, places=2, allow_nan=False))


@st.composite
def records(draw):
    lot = draw(lots)
    base = draw(st.integers(0, 10**6))
    bonus = draw(st.integers(0, 10**5))
    entries = []
    if draw(st.booleans()) and lot:
        entries.append(Entry("EARN", base, lot, base))
        if bonus:
            entries.append(Entry("BONUS", bonus, lot, base + bonus))
    elif draw(st.booleans()):
        entries.append(Entry("REVERSAL", -base, lot, -5))
    amount = draw(amounts)
    return SourceRecord(
        fingerprint=draw(st.text("0123456789abcdef", min_size=16, max_size=16)),
        outcome=draw(st.sampled_from(["EARNED", "EXCLUDED", "REJECTED", "APPROVED"])),
        reason=draw(st.one_of(st.none(), st.just("TAX"))), detail=draw(st.one_of(st.none(), st.just("corrects P:1"))),
        entries=entries, eligible_amount_jpy=draw(amounts),
        fx_rate=draw(st.one_of(st.none(), st.just(Decimal("152.3")))),
        base=draw(st.sampled_from([base, 0])), bonus=draw(st.sampled_from([bonus, 0])),
        reversed=draw(st.integers(0, 1000)), nights=draw(st.integers(-3, 3)),
        year=draw(st.one_of(st.none(), st.integers(2020, 2030))),
        lot=draw(st.sampled_from([lot, None])), amount=amount,
        rem_amount=draw(st.sampled_from([amount, Decimal("0"), None])), rem_base=draw(st.integers(0, 10)),
        rem_bonus=draw(st.integers(0, 10)), rem_nights=draw(st.integers(0, 2)), points=draw(st.integers(0, 10**5)),
        lots_used=[(date(2029, 1, 31), 300)] if draw(st.booleans()) else [],
        cancelled_by=draw(st.one_of(st.none(), st.just("R9"))),
    )


@given(records())
def test_round_trip_through_json(rec):
    assert SourceRecord.from_dict(orjson.loads(orjson.dumps(rec.to_dict()))) == rec


def test_typical_earn_record_is_small():
    lot = date(2029, 1, 31)
    rec = SourceRecord("0123456789abcdef", "EARNED", entries=[Entry("EARN", 700, lot, 700)],
                       eligible_amount_jpy=Decimal("35000"), base=700, nights=1, year=2026, lot=lot,
                       amount=Decimal("35000"), rem_amount=Decimal("35000"), rem_base=700, rem_nights=1)
    assert len(orjson.dumps(rec.to_dict())) <= 110
