"""schemas.fastwrite and Codec.encode_trusted: byte-for-byte equal to fastavro's schemaless_writer
(and to Codec.encode) for every record type, round trips through Codec.decode, and the values the
fast path must still refuse."""
from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from io import BytesIO
from typing import Any

import fastavro
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas import catalog, fastwrite, fastwrite_runtime
from schemas.codec import Codec, EncodeError
from schemas.fastwrite import UnsupportedSchema, compile_encoder

UTC = UTC
SCHEMAS = catalog.load()
NAMES = sorted(SCHEMAS)
LONG = (-(2**63), 2**63 - 1)
INT = (-(2**31), 2**31 - 1)

# aware datetimes in several zones (offsets, incl. non-whole hours), 1900-2100
_ZONES = st.sampled_from([UTC, timezone(timedelta(hours=9)), timezone(timedelta(hours=-5, minutes=-30)),
                          timezone(timedelta(hours=5, minutes=45)), timezone(timedelta(hours=-12))])


def _aware(ms_precision: bool = True):
    dts = st.datetimes(min_value=datetime(1900, 1, 2), max_value=datetime(2100, 12, 30), timezones=_ZONES)
    return dts.map(lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000)) if ms_precision else dts


def _decimal(precision: int, scale: int, exact_scale: bool = True):
    """Decimals that fit decimal(precision, scale): unscaled integers over the whole range (both
    signs, hypothesis favours the ends), with exactly ``scale`` places or (exact_scale False)
    also fewer or trailing-zero extra places, which the encoder must write as the same number."""
    lim = 10**precision - 1
    exact = st.integers(-lim, lim).map(lambda n: Decimal(f"{n}E-{scale}"))  # exact, any precision
    if exact_scale:
        return exact
    shorter = st.integers(-(lim // 10**scale), lim // 10**scale).map(Decimal)          # no places
    longer = exact.map(lambda d: Decimal(f"{d:f}" + ("0" * 3 if scale else ".000")))  # extra zeros
    return st.one_of(exact, shorter, longer)


def strategy(t, named: dict, *, exact_decimals: bool = True, ms: bool = True):
    """Values of Avro type ``t`` (fastavro-parsed) as the engine builds them."""
    def s(t):
        if isinstance(t, str) and t in named:
            t = named[t]
        if isinstance(t, list):
            return st.one_of(*[s(b) for b in t])
        if isinstance(t, str):
            t = {"type": t}
        typ, logical = t["type"], t.get("logicalType")
        if logical == "decimal":
            return _decimal(t["precision"], t.get("scale", 0), exact_decimals)
        if logical == "date":
            return st.dates(date(1900, 1, 1), date(2100, 12, 31))
        if logical in ("timestamp-millis", "timestamp-micros"):
            return _aware(ms)
        if logical == "uuid":
            return st.uuids().map(str)
        if typ == "record":
            return st.fixed_dictionaries({f["name"]: s(f["type"]) for f in t["fields"]})
        if typ == "enum":
            return st.sampled_from(t["symbols"])
        if typ == "array":
            return st.lists(s(t["items"]), max_size=4)
        if typ == "map":
            return st.dictionaries(st.text(max_size=8), s(t["values"]), max_size=3)
        if typ == "fixed":
            return st.binary(min_size=t["size"], max_size=t["size"])
        return {
            "null": st.none(), "boolean": st.booleans(), "string": st.text(max_size=40),
            "bytes": st.binary(max_size=40), "int": st.integers(*INT), "long": st.integers(*LONG),
            "float": st.floats(width=32, allow_nan=False), "double": st.floats(allow_nan=False),
        }[typ]
    return s(t)


def fastavro_body(parsed: dict, record: dict) -> bytes:
    buf = BytesIO()
    fastavro.schemaless_writer(buf, parsed, record)
    return buf.getvalue()


def _strategies(**kw):
    return {n: strategy(s.parsed, s.parsed["__named_schemas"], **kw) for n, s in SCHEMAS.items()}


VALID = _strategies()
LOOSE = _strategies(exact_decimals=False, ms=False)  # decimals with other exponents, µs datetimes
PROPS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def codec() -> Codec:
    return Codec()


def test_every_schema_file_is_covered_and_compiles():
    assert sorted(p.stem for p in catalog.SCHEMA_DIR.glob("*.avsc")) == NAMES
    for s in SCHEMAS.values():
        assert callable(fastwrite.encoder(s))


# ------------------------------------------------------------------ equal to fastavro, round trips

@pytest.mark.parametrize("name", NAMES)
@PROPS
@given(data=st.data())
def test_body_equals_fastavro_and_round_trips(codec, name, data):
    s = SCHEMAS[name]
    record = data.draw(VALID[name], label=name)
    body = fastwrite.encoder(s)(record)
    assert body == fastavro_body(s.parsed, record)
    out = codec.encode_trusted(name, record)
    assert out[:10] == b"\xc3\x01" + s.fingerprint
    assert out[10:] == body
    assert codec.decode(out) == (name, record)


@pytest.mark.parametrize("name", NAMES)
@PROPS
@given(data=st.data())
def test_encode_trusted_equals_encode(codec, name, data):
    """Also for decimals with fewer/more (zero) places and datetimes with microseconds, which
    Codec.encode quantizes / truncates: the trusted path writes the very same bytes."""
    record = data.draw(LOOSE[name], label=name)
    assert codec.encode_trusted(name, record) == codec.encode(name, record)
    assert codec.encode_trusted(name, record, subject="x-value") == codec.encode(name, record)


def test_confluent_header_same_as_encode():
    class Registry:
        url = "http://registry.invalid"

        def __init__(self):
            self.calls = []

        def register(self, subject, text):
            self.calls.append(subject)
            return 4242

    c = Codec()
    c.registry = Registry()
    record = _point_entry()
    out = c.encode_trusted("PointEntry", record, subject="points.ledger.v1-value")
    assert out[:5] == b"\x00" + (4242).to_bytes(4, "big")
    assert out == c.encode("PointEntry", record, subject="points.ledger.v1-value")
    assert c.registry.calls == ["points.ledger.v1-value"]  # registered once, header cached
    assert c.decode(out) == ("PointEntry", record)


def _charge(**kw) -> dict:
    rec = dict(decision_id="D-1", source_id="P:P-1", source_topic="pms.folio-postings.v1", member_id="M0001",
               hotel_code="TYO01", business_date=date(2026, 3, 1), outcome="EARNED", reason=None,
               detail="room ☃", eligible_amount_jpy=Decimal("35000.0000"), fx_rate=Decimal("151.234567"),
               base_points=700, bonus_points=175, reversed_points=0, nights=1, config_version="v7",
               event_time=datetime(2026, 3, 1, 3, 4, 5, 678000, tzinfo=UTC))
    rec.update(kw)
    return rec


def _point_entry(**kw) -> dict:
    rec = dict(entry_id="E-1", member_id="M0001", type="EARN", points=700, lot_expires_on=date(2029, 1, 31),
               source_id="P:P-1", hotel_code="TYO01", business_date=date(2026, 3, 1),
               occurred_at=datetime(2026, 3, 1, 3, 4, 5, 678000, tzinfo=UTC), balance_after=12,
               config_version="v7")
    rec.update(kw)
    return rec


@pytest.mark.parametrize("n", [
    0, 1, -1, 63, -64, 64, -65, 511, 512, 8191, -8192, 8192, -8193, 2**27 - 1, 2**27, -(2**27),
    2**41 - 1, 2**41, -(2**41), 2**55 - 1, 2**55, -(2**55), 2**62, 2**63 - 1, -(2**63)])
def test_long_varint_boundaries(n):
    s = SCHEMAS["PointEntry"]
    rec = _point_entry(points=n, balance_after=-n - 1 if n > -(2**63) else n)
    assert fastwrite.encoder(s)(rec) == fastavro_body(s.parsed, rec)


@pytest.mark.parametrize("when", [
    datetime(1970, 1, 1, tzinfo=UTC), datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=UTC), datetime(1970, 1, 2, 13, 17, 0, 0, tzinfo=UTC),
    datetime(1900, 1, 1, 0, 0, 0, 500, tzinfo=timezone(timedelta(hours=9))),
    datetime(2039, 9, 7, 15, 47, 35, 551999, tzinfo=UTC), datetime(2039, 9, 7, 15, 47, 35, 552000, tzinfo=UTC),
    datetime(9999, 12, 31, 14, 59, 59, 999999, tzinfo=timezone(timedelta(hours=-9)))])
def test_timestamp_exact_integer_arithmetic(when):
    s = SCHEMAS["PointEntry"]
    rec = _point_entry(occurred_at=when)
    assert fastwrite.encoder(s)(rec) == fastavro_body(s.parsed, rec)


@pytest.mark.parametrize("value", [
    "0", "-0", "0.0001", "-0.0001", "127", "0.0127", "0.0128", "-0.0128", "-0.0129", "3.2767", "3.2768",
    "-3.2768", "-3.2769", "99999999999999.9999", "-99999999999999.9999", "1E+13", "12.5", "-7"])
def test_decimal_two_complement_like_fastavro(codec, value):
    s = SCHEMAS["ChargeDecision"]
    rec = _charge()
    rec["eligible_amount_jpy"] = Decimal(value).quantize(Decimal("0.0001"))
    assert fastwrite.encoder(s)(rec) == fastavro_body(s.parsed, rec)
    rec["eligible_amount_jpy"] = Decimal(value)  # any exponent: the same number is written
    assert codec.encode_trusted("ChargeDecision", rec) == codec.encode("ChargeDecision", rec)


def test_dates_far_apart_and_cache_bound():
    s = SCHEMAS["PointEntry"]
    enc = fastwrite.encoder(s)
    d = date(1900, 1, 1)
    for i in range(0, 73_000, 7):  # more dates than the cache holds
        rec = _point_entry(lot_expires_on=d + timedelta(days=i), business_date=d + timedelta(days=i // 2))
        assert enc(rec) == fastavro_body(s.parsed, rec)
    assert rec["lot_expires_on"].year == 2099
    assert all(len(c) <= c.MAX for c in fastwrite_runtime._tables()["dates"].values())
    for extreme in (date(1, 1, 1), date(9999, 12, 31)):
        rec = _point_entry(lot_expires_on=extreme)
        assert enc(rec) == fastavro_body(s.parsed, rec)


def test_missing_nullable_fields_are_written_as_null(codec):
    rec = _point_entry()
    del rec["hotel_code"], rec["business_date"]
    assert codec.encode_trusted("PointEntry", rec) == codec.encode("PointEntry", rec)


# ------------------------------------------------------------------ what the fast path refuses

@pytest.mark.parametrize("value", ["1.00001", "-0.00005", "35000.12345", "1E-5"])
def test_over_scale_decimal_raises_instead_of_rounding(codec, value):
    rec = _charge()
    rec["eligible_amount_jpy"] = Decimal(value)  # scale 4
    with pytest.raises(ValueError, match="more than 4 decimal places"):
        fastwrite.encoder(SCHEMAS["ChargeDecision"])(rec)
    with pytest.raises(EncodeError, match="^eligible_amount_jpy: .* more than 4 decimal places"):
        codec.encode_trusted("ChargeDecision", rec)
    with pytest.raises(EncodeError):
        codec.encode("ChargeDecision", rec)


@pytest.mark.parametrize("value", ["100000000000000", "-100000000000000.0000", "1E+14", "NaN", "Infinity", "-Infinity"])
def test_decimal_over_precision_or_not_finite_raises(codec, value):
    rec = _charge()
    rec["eligible_amount_jpy"] = Decimal(value)  # decimal(18, 4): at most 14 integer digits
    with pytest.raises(ValueError):
        fastwrite.encoder(SCHEMAS["ChargeDecision"])(rec)
    with pytest.raises(EncodeError):
        codec.encode_trusted("ChargeDecision", rec)


def test_unknown_enum_symbol_raises(codec):
    rec = _point_entry(type="EARNED")
    with pytest.raises(ValueError, match="unknown symbol 'EARNED' for enum .*PointEntryType"):
        fastwrite.encoder(SCHEMAS["PointEntry"])(rec)
    with pytest.raises(EncodeError, match="type"):
        codec.encode_trusted("PointEntry", rec)


@pytest.mark.parametrize("field,value", [("points", 2**63), ("points", -(2**63) - 1), ("balance_after", 10**30)])
def test_long_out_of_range_raises(field, value):
    with pytest.raises(ValueError, match="out of range for an Avro long"):
        fastwrite.encoder(SCHEMAS["PointEntry"])(_point_entry(**{field: value}))


@pytest.mark.parametrize("value", [2**31, -(2**31) - 1])
def test_int_out_of_range_raises(value):
    rec = _charge()
    rec["nights"] = value
    with pytest.raises(ValueError, match="out of range for an Avro int"):
        fastwrite.encoder(SCHEMAS["ChargeDecision"])(rec)


def test_naive_datetime_and_wrong_types_raise(codec):
    with pytest.raises(TypeError):
        fastwrite.encoder(SCHEMAS["PointEntry"])(_point_entry(occurred_at=datetime(2026, 3, 1)))
    for bad in (dict(occurred_at=datetime(2026, 3, 1)), dict(points="7"), dict(member_id=None),
                dict(lot_expires_on="2026-03-01"), dict(type="EARNED"), dict(points=2**64)):
        with pytest.raises(EncodeError) as fast:
            codec.encode_trusted("PointEntry", _point_entry(**bad))
        with pytest.raises(EncodeError) as checked:
            codec.encode("PointEntry", _point_entry(**bad))
        assert (fast.value.field, fast.value.reason) == (checked.value.field, checked.value.reason)
        assert fast.value.field == next(iter(bad))
    rec = _point_entry()
    del rec["member_id"]
    with pytest.raises(EncodeError, match="member_id"):
        codec.encode_trusted("PointEntry", rec)
    with pytest.raises(EncodeError, match="unknown record type"):
        codec.encode_trusted("NoSuchRecord", rec)


# ------------------------------------------------------------------ Avro features beyond our .avsc files

EVERYTHING: dict[str, Any] = {
    "type": "record", "name": "Everything", "namespace": "test.fastwrite",
    "fields": [
        {"name": "b", "type": "boolean"},
        {"name": "f", "type": "float"},
        {"name": "d", "type": "double"},
        {"name": "raw", "type": "bytes"},
        {"name": "fx", "type": {"type": "fixed", "name": "Four", "size": 4}},
        {"name": "fx2", "type": "Four"},
        {"name": "nothing", "type": "null"},
        {"name": "tail_null", "type": ["string", "null"]},
        {"name": "only", "type": ["long"]},
        {"name": "nb", "type": ["null", "boolean"]},
        {"name": "nts", "type": ["null", {"type": "long", "logicalType": "timestamp-millis"}]},
        {"name": "tsu", "type": {"type": "long", "logicalType": "timestamp-micros"}},
        {"name": "u", "type": {"type": "string", "logicalType": "uuid"}},
        {"name": "odd", "type": {"type": "string", "logicalType": "no-such-logical-type"}},
        {"name": "ints", "type": {"type": "array", "items": "int"}},
        {"name": "nested", "type": {"type": "array", "items": {"type": "array", "items": ["null", "string"]}}},
        {"name": "m", "type": {"type": "map", "values": {
            "type": "record", "name": "Inner", "fields": [
                {"name": "e", "type": {"type": "enum", "name": "Colour", "symbols": ["RED", "GREEN", "BLUE"]}},
                {"name": "ne", "type": ["null", "Colour"]},
                {"name": "dec", "type": ["null", {"type": "bytes", "logicalType": "decimal", "precision": 30,
                                                  "scale": 10}]},
                {"name": "dec0", "type": {"type": "bytes", "logicalType": "decimal", "precision": 5}}]}}},
        {"name": "inner", "type": ["null", "Inner"]},
        {"name": "nd", "type": ["null", {"type": "int", "logicalType": "date"}]},
        {"name": "dflt_int", "type": "int", "default": 42},
        {"name": "dflt_str", "type": "string", "default": "ü"},
        {"name": "dflt_enum", "type": "Colour", "default": "BLUE"},
        {"name": "dflt_union", "type": ["string", "null"], "default": "x"},
        {"name": "dflt_date", "type": {"type": "int", "logicalType": "date"}, "default": 3},
        {"name": "dflt_arr", "type": {"type": "array", "items": "long"}, "default": [1, -2]},
        {"name": "dflt_null_last", "type": ["long", "null"], "default": 7},
    ],
}
_EVERY: dict = fastavro.parse_schema(EVERYTHING, named_schemas={})  # type: ignore[assignment]  # a record: a dict
_DEFAULTED = [f["name"] for f in EVERYTHING["fields"] if "default" in f]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(record=strategy(_EVERY, _EVERY["__named_schemas"], ms=False),
       missing=st.sets(st.sampled_from(_DEFAULTED)))
def test_other_avro_features_equal_fastavro(record, missing):
    for name in missing:
        del record[name]
    assert compile_encoder(_EVERY)(record) == fastavro_body(_EVERY, record)


@settings(max_examples=5, deadline=None)
@given(rec=strategy(_EVERY, _EVERY["__named_schemas"]))
def test_uuid_objects_and_long_strings(rec):
    enc = compile_encoder(_EVERY)
    rec["u"] = uuid.UUID(int=12345)
    rec["tail_null"] = "ö" * 5000  # length prefix beyond the tables
    rec["raw"] = b"\xff" * 70000
    assert enc(rec) == fastavro_body(_EVERY, rec)
    assert enc(rec, b"PREFIX") == b"PREFIX" + fastavro_body(_EVERY, rec)


@settings(max_examples=5, deadline=None)
@given(rec=strategy(_EVERY, _EVERY["__named_schemas"]))
def test_fixed_of_wrong_size_raises(rec):
    rec["fx"] = b"abc"
    with pytest.raises(ValueError, match="4 bytes"):
        compile_encoder(_EVERY)(rec)


@pytest.mark.parametrize("ftype", [
    ["null", "string", "long"],
    ["string", "long"],
    {"type": "fixed", "name": "F", "size": 8, "logicalType": "decimal", "precision": 10, "scale": 2},
    {"type": "int", "logicalType": "time-millis"},
    {"type": "long", "logicalType": "time-micros"},
    {"type": "long", "logicalType": "local-timestamp-millis"},
    {"type": "array", "items": "R"},  # recursive
])
def test_unsupported_schemas_fail_at_compile_time(ftype):
    schema = fastavro.parse_schema({"type": "record", "name": "R", "fields": [{"name": "x", "type": ftype}]},
                                   named_schemas={})
    with pytest.raises(UnsupportedSchema):
        compile_encoder(schema)


def test_generated_source_is_inspectable():
    src, ns = fastwrite.generated_source(SCHEMAS["PointEntry"].parsed)
    assert src.startswith("def encode(record, prefix=b''):") and "BytesIO" not in src
    assert fastwrite.encoder(SCHEMAS["PointEntry"]).source == src
