"""schemas.jsonio: JSON lines (harmony publish) -> codec records, with path-named errors."""
from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from schemas.codec import Codec
from schemas.jsonio import RecordError, from_json, to_json

UTC = UTC

JSON_SAMPLES: dict[str, dict] = {
    "FolioPosting": {
        "posting_id": "P-1", "hotel_code": "TYO01", "reservation_id": "R-9", "member_id": "M0001",
        "business_date": "2026-03-01", "posted_at": "2026-03-01T21:15:00+09:00", "category": "ROOM",
        "amount": "35000", "currency": "JPY", "nights": 1, "booking_channel": "DIRECT",
        "rate_plan": None, "corrects_posting_id": None},
    "PosBill": {
        "bill_id": "B-1", "hotel_code": "HNL01", "outlet_code": "BAR1", "outlet_type": "BAR",
        "business_date": "2026-03-01", "closed_at": "2026-03-01T08:00:00Z", "currency": "USD",
        "lines": [{"kind": "FOOD", "amount": "12.34"}, {"kind": "BEVERAGE", "amount": 8},
                  {"kind": "TAX", "amount": 1.71}],
        "paid_with_points_amount": "0"},
    "FxRate": {"currency": "USD", "rate_date": "2026-02-27", "jpy_per_unit": "151.234567"},
    "MemberEnrollment": {"member_id": "M0001", "enrolled_on": "2025-01-01", "state": "ACTIVE"},
    "RedemptionRequest": {
        "request_id": "Q-1", "member_id": "M0001", "award": "SOMETHING_NEW", "quantity": 1,
        "requested_at": "2026-03-01T00:00:00.5+00:00"},
    "PointEntry": {
        "entry_id": "E-1", "member_id": "M0001", "type": "EARN", "points": 700,
        "lot_expires_on": "2029-01-31", "source_id": "P:P-1", "hotel_code": "TYO01",
        "business_date": "2026-03-01", "occurred_at": "2026-03-01T12:00:00Z", "balance_after": 700,
        "config_version": "v1"},
    "ChargeDecision": {
        "decision_id": "D-1", "source_id": "B:B-1", "source_topic": "pos.bills.v1", "member_id": None,
        "hotel_code": "TYO01", "business_date": "2026-03-01", "outcome": "EXCLUDED", "reason": "NO_MEMBER",
        "base_points": 0, "bonus_points": 0, "reversed_points": 0, "nights": 0,
        "config_version": "v1", "event_time": "2026-03-01T12:00:00Z"},
    "StatusChange": {
        "event_id": "S-1", "member_id": "M0001", "year_evaluated": 2026, "old_status": "LOYAL",
        "new_status": "REGULAR", "valid_from": "2027-04-01", "valid_until": "2028-03-31",
        "qualifying_points": 10, "qualifying_nights": 0, "carried_points": 0, "carried_nights": 0,
        "qualified_by": "NONE"},
    "RedemptionResult": {
        "request_id": "Q-1", "member_id": "M0001", "award": "SOMETHING_NEW", "outcome": "REJECTED",
        "reason": "UNKNOWN_AWARD", "points": 0, "lots_used": [], "balance_after": 700,
        "requested_at": "2026-03-01T00:00:00Z"},
    "MemberBalance": {
        "member_id": "M0001", "balance": 700, "debt": 0, "status": "REGULAR", "status_valid_until": None,
        "lots": [{"expires_on": "2029-01-31", "points": 700}], "version": 1,
        "updated_at": "2026-03-01T12:00:00Z"},
    "PointAdjustment": {
        "adjustment_id": "A-1", "member_id": "M0001", "points": 500, "reason": "GOODWILL", "operator": "tanaka",
        "requested_at": "2026-03-01T12:00:00+09:00"},
    "ChargeClaim": {"claim_id": "K-1", "member_id": "M0001", "source_id": "P-1",
                    "requested_at": "2026-03-01T12:00:00+09:00"},
    "AdjustmentResult": {
        "adjustment_id": "A-1", "member_id": "M0001", "outcome": "REJECTED", "reason": "ZERO_POINTS", "points": 0,
        "lots": [], "debt_change": 0, "balance_after": 700, "reason_code": "GOODWILL", "operator": "tanaka",
        "requested_at": "2026-03-01T03:00:00Z"},
}


def test_samples_cover_every_record():
    assert sorted(JSON_SAMPLES) == Codec().names()


def test_folio_posting_values():
    rec = from_json("FolioPosting", JSON_SAMPLES["FolioPosting"])
    assert rec["amount"] == Decimal("35000") and isinstance(rec["amount"], Decimal)
    assert rec["business_date"] == date(2026, 3, 1)
    assert rec["posted_at"] == datetime(2026, 3, 1, 12, 15, tzinfo=UTC)
    assert rec["posted_at"].utcoffset().total_seconds() == 0


def test_numbers_become_exact_decimals_and_omitted_nullables_null():
    bill = from_json("PosBill", JSON_SAMPLES["PosBill"])
    assert [line["amount"] for line in bill["lines"]] == [Decimal("12.34"), Decimal(8), Decimal("1.71")]
    assert bill["member_id"] is None and bill["voids_bill_id"] is None
    req = from_json("RedemptionRequest", JSON_SAMPLES["RedemptionRequest"])
    assert req["amount_jpy"] is None and req["award"] == "SOMETHING_NEW"
    assert req["requested_at"] == datetime(2026, 3, 1, 0, 0, 0, 500000, tzinfo=UTC)


def test_timestamps_truncated_to_milliseconds():
    obj = dict(JSON_SAMPLES["FolioPosting"], posted_at="2026-03-01T00:00:00.123456+00:00")
    assert from_json("FolioPosting", obj)["posted_at"].microsecond == 123000


@pytest.mark.parametrize("name", sorted(JSON_SAMPLES))
def test_json_to_avro_and_back(name):
    codec = Codec()
    rec = from_json(name, JSON_SAMPLES[name])
    decoded = codec.decode_as(name, codec.encode(name, rec))
    assert decoded == rec
    printed = to_json(name, decoded)
    json.dumps(printed)  # serialisable
    assert from_json(name, printed) == rec


def test_to_json_formats():
    codec = Codec()
    rec = codec.decode_as("PosBill", codec.encode("PosBill", from_json("PosBill", JSON_SAMPLES["PosBill"])))
    out = to_json("PosBill", rec)
    assert out["lines"][0]["amount"] == "12.3400"
    assert out["business_date"] == "2026-03-01"
    assert out["closed_at"] == "2026-03-01T08:00:00+00:00"
    assert to_json("FxRate", {"jpy_per_unit": Decimal("1E+2")})["jpy_per_unit"] == "100"


def _err(name, obj) -> RecordError:
    with pytest.raises(RecordError) as e:
        from_json(name, obj)
    return e.value


def _bill(**change):
    return {**JSON_SAMPLES["PosBill"], **change}


def _posting(**change):
    return {**JSON_SAMPLES["FolioPosting"], **change}


@pytest.mark.parametrize("obj,path,words", [
    (_bill(lines=[{"kind": "FOOD", "amount": "1"}, {"kind": "FOOD", "amount": "1.2.3"}]), "lines[1].amount",
     "not a decimal"),
    (_bill(lines=[{"kind": "FOOD", "amount": "1"}, {"kind": "FOOD", "amount": True}]), "lines[1].amount",
     "not a decimal"),
    (_bill(lines=[{"kind": "FOOD", "amount": None}]), "lines[0].amount", "must not be null"),
    (_bill(lines=[{"kind": "WINE", "amount": "1"}]), "lines[0].kind", "'WINE' is not one of FOOD"),
    (_bill(lines=[{"kind": "FOOD"}]), "lines[0].amount", "missing required field"),
    (_bill(lines=[{"kind": "FOOD", "amount": "1", "qty": 2}]), "lines[0].qty", "unknown field"),
    (_bill(lines={"kind": "FOOD"}), "lines", "expected an array"),
    (_bill(paid_with_points_amount="NaN"), "paid_with_points_amount", "not a decimal"),
    (_bill(paid_with_points_amount=float("inf")), "paid_with_points_amount", "not a decimal"),
    (_posting(amount="123456789012345678901234567890"), "amount", "does not fit decimal(18,4)"),
    (_posting(amount="0.00001"), "amount", "more than 4 decimal places"),
    (_posting(amount=""), "amount", "not a decimal"),
    (_posting(posted_at="2026-03-01T12:00:00"), "posted_at", "without UTC offset"),
    (_posting(posted_at="yesterday"), "posted_at", "not an ISO-8601 timestamp"),
    (_posting(posted_at=1767225600000), "posted_at", "not a timestamp"),
    (_posting(business_date="01/03/2026"), "business_date", "not a date (YYYY-MM-DD)"),
    (_posting(business_date="2026-02-30"), "business_date", "not a valid date"),
    (_posting(nights=1.0), "nights", "expected an integer"),
    (_posting(nights=True), "nights", "expected an integer"),
    (_posting(nights=2**31), "nights", "out of range"),
    (_posting(hotel_code=7), "hotel_code", "expected a string"),
    (_posting(hotel_code=None), "hotel_code", "must not be null"),
    (_posting(category="room"), "category", "'room' is not one of ROOM"),
    (_posting(member_id=12), "member_id", "expected a string"),
    (_posting(extra_field="x"), "extra_field", "unknown field"),
])
def test_errors_name_the_path(obj, path, words):
    e = _err("PosBill" if "bill_id" in obj else "FolioPosting", obj)
    assert e.path == path
    assert words in e.reason
    assert str(e).startswith(f"{path}: ")


def test_missing_required_top_level_field_and_non_object():
    obj = dict(JSON_SAMPLES["FolioPosting"])
    del obj["currency"]
    assert str(_err("FolioPosting", obj)) == "currency: missing required field"
    e = _err("FolioPosting", ["not", "an", "object"])
    assert e.path == "" and "expected an object" in e.reason
    assert "unknown record type" in _err("Nope", {}).reason


def test_float_money_is_converted_via_str():
    rec = from_json("FolioPosting", _posting(amount=0.1))
    assert rec["amount"] == Decimal("0.1")  # not 0.1000000000000000055511151231257827...
    assert from_json("FolioPosting", _posting(amount="  -12.5 "))["amount"] == Decimal("-12.5")
    assert from_json("FolioPosting", _posting(amount="1.50000"))["amount"] == Decimal("1.5")
