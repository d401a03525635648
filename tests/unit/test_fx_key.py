"""The key of fx.rates.v1 records: CURRENCY:RATE_DATE (interfaces.md); the old key is accepted."""
from datetime import date
from decimal import Decimal

import pytest

from processors.model import FxRate
from schemas.jsonio import from_json
from streams.kafka.fx_key import fx_key, key_problem
from streams.kafka.publishing import message_key

USD = FxRate("USD", date(2026, 3, 10), Decimal("152.30"))


def test_the_binding_key():
    assert fx_key("USD", date(2026, 3, 10)) == fx_key("USD", "2026-03-10") == "USD:2026-03-10"


@pytest.mark.parametrize("key", [b"USD:2026-03-10", b"USD", None])
def test_keys_that_agree(key):
    assert key_problem(key, USD) is None


@pytest.mark.parametrize("key", [b"USD:2026-03-11", b"EUR:2026-03-10", b"EUR", b"USD:2026-3-10", b"", b"\xff"])
def test_keys_that_disagree(key):
    problem = key_problem(key, USD)
    assert problem.startswith("KeyMismatch: FX key") and "expected 'USD:2026-03-10'" in problem


def test_harmony_publish_keys_rates_by_currency_and_day():
    record = from_json("FxRate", {"currency": "USD", "rate_date": "2026-03-10", "jpy_per_unit": "152.30"})
    assert message_key("FxRate", record) == b"USD:2026-03-10"
    assert message_key("MemberEnrollment", {"member_id": "OH1"}) == b"OH1"
