"""schemas.fastread, Codec.decode_fast and Codec.decode_domain: for every record type the generated
readers return exactly what fastavro returns (dict path) and what to_domain builds from it (domain
path), also for valid but unusual encodings (negative array block counts, multi-byte varints for
small numbers, decimals beyond their precision); every invalid body raises, and the Codec methods
raise nothing but DecodeError, whatever the bytes."""
from __future__ import annotations

import dataclasses
import json
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from io import BytesIO

import fastavro
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from processors.model import BillLine, FolioPosting, PosBill
from schemas import catalog, fastread, fastread_runtime
from schemas.codec import Codec, DecodeError
from schemas.fastread import CorruptData, UnsupportedSchema, compile_decoder
from streams.engine.events import DOMAIN_CLASSES, RECORD_CLASSES, to_domain
from tests.unit.test_codec import SAMPLES  # one valid record of each type

UTC = UTC
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SCHEMAS = catalog.load()
NAMES = sorted(SCHEMAS)
INPUTS = sorted(RECORD_CLASSES)  # the records with a domain event
LONG = (-(2**63), 2**63 - 1)
INT = (-(2**31), 2**31 - 1)
MS_RANGE = (-62135596800000, 253402300799999)  # 0001-01-01 .. 9999-12-31T23:59:59.999 (UTC)
PROPS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ------------------------------------------------------------------ values and bodies

def _instant(unit_us: int):
    lo, hi = MS_RANGE
    if unit_us == 1:
        lo, hi = lo * 1000, hi * 1000 + 999
    near = st.integers(1_700_000_000_000, 1_900_000_000_000) if unit_us == 1000 else st.nothing()
    return st.one_of(st.integers(lo, hi), near).map(lambda n: EPOCH + timedelta(microseconds=n * unit_us))


def strategy(t, named: dict):
    """Any valid value of Avro type ``t`` (fastavro-parsed): whole ranges, both signs."""
    def s(t):
        if isinstance(t, str) and t in named:
            t = named[t]
        if isinstance(t, list):
            return st.one_of(*[s(b) for b in t])
        if isinstance(t, str):
            t = {"type": t}
        typ, logical = t["type"], t.get("logicalType")
        if isinstance(typ, (dict, list)) or typ in named:
            return s(typ)
        if logical == "decimal":
            lim, scale = 10 ** t["precision"] - 1, t.get("scale", 0)
            return st.integers(-lim, lim).map(lambda n: Decimal(n).scaleb(-scale))
        if logical == "date":
            return st.dates()
        if logical == "timestamp-millis":
            return _instant(1000)
        if logical == "timestamp-micros":
            return _instant(1)
        if logical == "uuid":
            return st.uuids()
        if typ in ("record", "error"):
            return st.fixed_dictionaries({f["name"]: s(f["type"]) for f in t["fields"]})
        if typ == "enum":
            return st.sampled_from(t["symbols"])
        if typ == "array":
            return st.lists(s(t["items"]), max_size=5)
        if typ == "map":
            return st.dictionaries(st.text(max_size=6), s(t["values"]), max_size=3)
        if typ == "fixed":
            return st.binary(min_size=t["size"], max_size=t["size"])
        return {
            "null": st.none(), "boolean": st.booleans(), "string": st.text(max_size=30),
            "bytes": st.binary(max_size=30), "int": st.integers(*INT), "long": st.integers(*LONG),
            "float": st.floats(width=32, allow_nan=False), "double": st.floats(allow_nan=False),
        }[typ]
    return s(t)


VALID = {n: strategy(s.parsed, s.parsed["__named_schemas"]) for n, s in SCHEMAS.items()}


def body_of(parsed, record) -> bytes:
    buf = BytesIO()
    fastavro.schemaless_writer(buf, parsed, record)
    return buf.getvalue()


def fastavro_read(parsed, body: bytes):
    fo = BytesIO(body)
    rec = fastavro.schemaless_reader(fo, parsed, None)
    assert fo.tell() == len(body)
    return rec


def same(a, b) -> bool:
    """Equal, and decimals also with the same representation (exponent), recursively."""
    if isinstance(a, Decimal) or isinstance(b, Decimal):
        return type(a) is type(b) and a == b and str(a) == str(b) and a.as_tuple() == b.as_tuple()
    if dataclasses.is_dataclass(a) and not isinstance(a, type):
        return type(a) is type(b) and all(same(getattr(a, f.name), getattr(b, f.name))
                                          for f in dataclasses.fields(a))
    if isinstance(a, dict):
        return type(b) is dict and list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, datetime):
        return type(b) is datetime and a == b and a.utcoffset() == b.utcoffset()
    return type(a) is type(b) and a == b


# Avro by hand
def zz(n: int, pad: int = 0) -> bytes:
    """Varint of zigzag(n); ``pad`` extra (valid, non-canonical) continuation bytes."""
    z = (n << 1) ^ (n >> 63)
    out = bytearray()
    while z >= 0x80 or pad > 0:
        if z < 0x80:
            pad -= 1
        out.append(z & 0x7F | 0x80)
        z >>= 7
    out.append(z)
    return bytes(out)


def avro_str(s: str | bytes, pad: int = 0) -> bytes:
    b = s.encode() if isinstance(s, str) else s
    return zz(len(b), pad) + b


def avro_decimal(unscaled: int, size: int | None = None) -> bytes:
    size = max(1, (unscaled.bit_length() + 8) // 8) if size is None else size
    return avro_str(unscaled.to_bytes(size, "big", signed=True) if size else b"")


@pytest.fixture(scope="module")
def codec() -> Codec:
    return Codec()


@pytest.fixture(scope="module")
def readers():
    """name -> (dict reader, domain reader) of each schema."""
    return {n: (compile_decoder(s.parsed), compile_decoder(s.parsed, DOMAIN_CLASSES)) for n, s in SCHEMAS.items()}


def check_body(codec, readers, name: str, body: bytes):
    """A body fastavro reads: every path returns what fastavro (+ to_domain) returns."""
    s = SCHEMAS[name]
    ref = fastavro_read(s.parsed, body)
    as_dict, as_domain = readers[name]
    assert same(as_dict(body), ref)
    assert same(fastread.decoder(s)(body), ref)
    framed = b"\xc3\x01" + s.fingerprint + body
    assert codec.decode(framed) == (name, ref)
    got_name, got = codec.decode_fast(framed)
    assert got_name == name and same(got, ref)
    assert same(as_dict(b"xyz" + body, 3), ref)  # pos
    got_name, obj = codec.decode_domain(framed, DOMAIN_CLASSES)
    assert got_name == name
    if name in RECORD_CLASSES:
        expected = to_domain(name, ref)
        assert same(as_domain(body), expected)
        assert same(obj, expected) and type(obj) is RECORD_CLASSES[name]
        assert hash(obj) == hash(expected)
    else:  # no class: a dict (arrays as tuples)
        assert obj == {k: tuple(v) if isinstance(v, list) else v for k, v in ref.items()}


# ------------------------------------------------------------------ equal to fastavro / to_domain

def test_every_schema_compiles(readers):
    assert set(readers) == set(NAMES) and set(INPUTS) <= set(NAMES)
    for name in NAMES:
        src, _ = fastread.generated_source(SCHEMAS[name].parsed, DOMAIN_CLASSES)
        assert src.startswith("def decode(data, p=0):")


@pytest.mark.parametrize("name", NAMES)
@PROPS
@given(data=st.data())
def test_equals_fastavro_and_to_domain(codec, readers, name, data):
    record = data.draw(VALID[name], label=name)
    check_body(codec, readers, name, body_of(SCHEMAS[name].parsed, record))


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_domain_objects_are_the_real_dataclasses(readers, name, data):
    if name not in RECORD_CLASSES:
        return
    record = data.draw(VALID[name], label=name)
    obj = readers[name][1](body_of(SCHEMAS[name].parsed, record))
    cls = RECORD_CLASSES[name]
    assert type(obj) is cls and obj == cls(**{k: tuple(BillLine(**x) for x in v) if k == "lines" else v
                                              for k, v in record.items()})
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(obj, dataclasses.fields(cls)[0].name, "x")
    assert repr(obj) == repr(to_domain(name, fastavro_read(SCHEMAS[name].parsed, body_of(SCHEMAS[name].parsed,
                                                                                          record))))
    if name == "PosBill":
        assert type(obj.lines) is tuple and all(type(x) is BillLine for x in obj.lines)


def _posting_body(*, member=zz(1) + avro_str("OH1"), bdate=zz(20514), posted=zz(1772334245678),  # noqa: B008 - immutable bytes
                  category=zz(0), amount=avro_decimal(35000_0000), nights=zz(1), channel=zz(2),  # noqa: B008 - bytes
                  tail=zz(0) + zz(0), posting_id=avro_str("P-1")) -> bytes:  # noqa: B008 - immutable bytes
    return (posting_id + avro_str("OKURA-TOKYO") + avro_str("R1") + member + bdate + posted + category
            + amount + avro_str("JPY") + nights + channel + tail)


def _bill_body(lines: bytes, paid=avro_decimal(0)) -> bytes:  # noqa: B008 - immutable bytes
    return (avro_str("B-1") + avro_str("H") + avro_str("O") + zz(0) + zz(0) + zz(20514) + zz(1772334245678)
            + avro_str("JPY") + lines + paid + zz(0))


def _line(kind: int, unscaled: int) -> bytes:
    return zz(kind) + avro_decimal(unscaled)


UNUSUAL = {
    # arrays: several blocks, negative block counts followed by a byte size (ignored, like fastavro)
    "two blocks": ("PosBill", _bill_body(zz(1) + _line(0, 10000) + zz(2) + _line(1, -5) + _line(4, 7) + zz(0))),
    "negative block count": ("PosBill", _bill_body(zz(-2) + zz(8) + _line(0, 1) + _line(2, 2) + zz(0))),
    "negative then positive": ("PosBill", _bill_body(zz(-1) + zz(3) + _line(3, 1) + zz(1) + _line(1, 9) + zz(0))),
    "negative block, wrong size": ("PosBill", _bill_body(zz(-1) + zz(999) + _line(0, 1) + zz(0))),
    "empty lines": ("PosBill", _bill_body(zz(0))),
    "block count multi-byte": ("PosBill", _bill_body(zz(2, pad=2) + _line(0, 1) + _line(0, 2) + zz(0, pad=1))),
    "lots, negative block": ("MemberBalance", avro_str("M") + zz(5) + zz(0) + zz(1) + zz(1) + zz(20000)
                             + zz(-2) + zz(6) + zz(20001) + zz(5) + zz(20002) + zz(-7) + zz(0) + zz(3)
                             + zz(1772334245678)),
    # multi-byte (non-canonical) varints for small numbers: lengths, union and enum indexes, ints
    "padded string length": ("FolioPosting", _posting_body(posting_id=avro_str("P-1", pad=3))),
    "padded union index": ("FolioPosting", _posting_body(member=zz(1, pad=1) + avro_str("OH1"))),
    "padded null index": ("FolioPosting", _posting_body(member=zz(0, pad=2))),
    "padded enum index": ("FolioPosting", _posting_body(category=zz(5, pad=1), channel=zz(0, pad=8))),
    "padded int": ("FolioPosting", _posting_body(nights=zz(-3, pad=4))),
    "padded date": ("FolioPosting", _posting_body(bdate=zz(20514, pad=1))),
    "padded timestamp": ("FolioPosting", _posting_body(posted=zz(1772334245678, pad=1))),
    "2-byte date": ("FolioPosting", _posting_body(bdate=zz(100))),
    "1-byte date": ("FolioPosting", _posting_body(bdate=zz(-3))),
    "negative timestamp": ("FolioPosting", _posting_body(posted=zz(-1))),
    "timestamp 0": ("FolioPosting", _posting_body(posted=zz(0))),
    "timestamp 7 bytes": ("FolioPosting", _posting_body(posted=zz(2**41 + 12345))),
    "timestamp 6 bytes, last": ("FolioPosting", _posting_body(posted=zz(2**40 - 1))),
    "timestamp 6 bytes, first": ("FolioPosting", _posting_body(posted=zz(2**34))),
    "timestamp, max ms": ("FolioPosting", _posting_body(posted=zz(MS_RANGE[1]))),
    "timestamp, min ms": ("FolioPosting", _posting_body(posted=zz(MS_RANGE[0]))),
    "date, max": ("FolioPosting", _posting_body(bdate=zz((date.max - date(1970, 1, 1)).days))),
    "date, min": ("FolioPosting", _posting_body(bdate=zz((date.min - date(1970, 1, 1)).days))),
    "int beyond 32 bits": ("FolioPosting", _posting_body(nights=zz(2**40))),  # fastavro does not check
    "long, max": ("PointEntry", None),  # built below
    # decimals: fastavro's exact representation, also beyond the precision (rounded half-even)
    "decimal, empty bytes": ("FolioPosting", _posting_body(amount=avro_str(b""))),
    "decimal, padded bytes": ("FolioPosting", _posting_body(amount=avro_decimal(-5, size=9))),
    "decimal, 19 digits": ("FolioPosting", _posting_body(amount=avro_decimal(1234567890123456789))),
    "decimal, 30 digits": ("FolioPosting", _posting_body(amount=avro_decimal(10**29 + 12345))),
    "decimal, 30 digits, half-even": ("FolioPosting", _posting_body(amount=avro_decimal(-(10**29 + 5 * 10**11)))),
    "decimal, 18 nines": ("FolioPosting", _posting_body(amount=avro_decimal(-(10**18 - 1)))),
    "decimal, 40 bytes": ("FolioPosting", _posting_body(amount=avro_decimal(3**200))),
    "fx decimal beyond": ("FxRate", avro_str("USD") + zz(20514) + avro_decimal(987654321987654321987)),
    "string, unicode": ("FolioPosting", _posting_body(posting_id=avro_str("P-東京-🏨"))),
    "boolean byte 2": None,  # no boolean in our schemas: see the synthetic schema
}
UNUSUAL["long, max"] = ("PointEntry", body_of(SCHEMAS["PointEntry"].parsed, dict(
    entry_id="E", member_id="M", type="EARN", points=2**63 - 1, lot_expires_on=None, source_id="S", hotel_code=None,
    business_date=date(2026, 3, 1), occurred_at=EPOCH, balance_after=-(2**63), config_version="v")))
del UNUSUAL["boolean byte 2"]


@pytest.mark.parametrize("label", sorted(UNUSUAL))
def test_unusual_valid_encodings(codec, readers, label):
    name, body = UNUSUAL[label]
    check_body(codec, readers, name, body)


def test_decimal_representation_matches_fastavro():
    """Every unscaled value of 0..10 bytes (scale 4, precision 18): same Decimal, same str, same
    tuple as fastavro — including values beyond the precision, which fastavro rounds."""
    parsed = SCHEMAS["FxRate"].parsed
    read = compile_decoder(parsed)
    for _k, n in enumerate([0, 1, -1, 5, 10**6, -(10**12), 10**17, 10**18 - 1, 10**18, -(10**18) - 5,
                           123456789012345678901, 2**63, -(2**79), 10**24 + 5 * 10**6, 10**24 + 15 * 10**6]):
        for size in {None, 10, 12}:
            if size is not None and n.bit_length() >= size * 8:
                continue
            body = avro_str("USD") + zz(1) + avro_decimal(n, size)
            ref, got = fastavro_read(parsed, body)["jpy_per_unit"], read(body)["jpy_per_unit"]
            assert same(got, ref), (n, size, got, ref)
            assert same(read(body)["jpy_per_unit"], ref)  # from the cache too


# ------------------------------------------------------------------ a synthetic schema with every feature

SYNTHETIC = {
    "type": "record", "name": "All", "namespace": "test.fastread",
    "fields": [
        {"name": "b", "type": "boolean"},
        {"name": "i", "type": "int"},
        {"name": "l", "type": "long"},
        {"name": "f", "type": "float"},
        {"name": "d", "type": "double"},
        {"name": "by", "type": "bytes"},
        {"name": "s", "type": "string"},
        {"name": "n", "type": "null"},
        {"name": "fx", "type": {"type": "fixed", "name": "F4", "size": 4}},
        {"name": "fx0", "type": {"type": "fixed", "name": "F0", "size": 0}},
        {"name": "e", "type": {"type": "enum", "name": "Big", "symbols": [f"S{i}" for i in range(70)]}},
        {"name": "e2", "type": "Big"},
        {"name": "m", "type": {"type": "map", "values": ["null", "long", "string"]}},
        {"name": "a", "type": {"type": "array", "items": {"type": "record", "name": "Item", "fields": [
            {"name": "x", "type": "int"}, {"name": "tag", "type": ["null", "string", "F4"]}]}}},
        {"name": "an", "type": {"type": "array", "items": "null"}},
        {"name": "u", "type": ["string", "null", "long", "Item", {"type": "array", "items": "int"}]},
        {"name": "rec", "type": {"type": "record", "name": "Inner", "fields": [
            {"name": "when", "type": {"type": "long", "logicalType": "timestamp-micros"}},
            {"name": "day", "type": ["null", {"type": "int", "logicalType": "date"}]}]}},
        {"name": "uid", "type": {"type": "string", "logicalType": "uuid"}},
        {"name": "tm", "type": {"type": "int", "logicalType": "time-millis"}},
        {"name": "tu", "type": {"type": "long", "logicalType": "time-micros"}},
        {"name": "lts", "type": {"type": "long", "logicalType": "local-timestamp-millis"}},
        {"name": "fdec", "type": {"type": "fixed", "name": "D8", "size": 8, "logicalType": "decimal",
                                  "precision": 18, "scale": 3}},
        {"name": "dec0", "type": {"type": "bytes", "logicalType": "decimal", "precision": 5}},
        {"name": "odd", "type": {"type": "string", "logicalType": "no-such-logical-type"}},
        {"name": "items", "type": {"type": "array", "items": "Item"}},
    ],
}
SYN: dict = fastavro.parse_schema(SYNTHETIC, named_schemas={})  # type: ignore[assignment]  # a record: a dict
SYN_DICT, SYN_DOMAIN = compile_decoder(SYN), compile_decoder(SYN, {})


def _syn_strategy():
    named = SYN["__named_schemas"]
    base = strategy(SYN, named)

    def fix(r):
        r = dict(r)
        r["uid"] = uuid.UUID(int=r["uid"].int) if isinstance(r["uid"], uuid.UUID) else r["uid"]
        return r
    over = dict(
        tm=st.integers(0, 86_399_999).map(lambda ms: (datetime.min + timedelta(milliseconds=ms)).time()),
        tu=st.integers(0, 86_399_999_999).map(lambda us: (datetime.min + timedelta(microseconds=us)).time()),
        lts=st.integers(-62135596800000, 253402300799999).map(
            lambda ms: datetime(1970, 1, 1) + timedelta(milliseconds=ms)),
        fdec=st.integers(-(10**18 - 1), 10**18 - 1).map(lambda n: Decimal(n).scaleb(-3)),
        # a union value must pick its branch unambiguously for fastavro's writer
        u=st.one_of(st.text(max_size=5), st.none(), st.integers(*LONG),
                    st.fixed_dictionaries({"x": st.integers(*INT), "tag": st.none()}),
                    st.lists(st.integers(*INT), max_size=3)),
    )
    return st.builds(lambda r, **kw: fix({**r, **kw}), base, **over)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_syn_strategy())
def test_synthetic_schema_equals_fastavro(record):
    body = body_of(SYN, record)
    ref = fastavro_read(SYN, body)
    assert same(SYN_DICT(body), ref)
    dom = SYN_DOMAIN(body)  # domain mode without classes: dicts, arrays as tuples
    assert type(dom["a"]) is tuple and type(dom["an"]) is tuple and type(dom["items"]) is tuple
    assert list(dom["a"]) == ref["a"] and list(dom["items"]) == ref["items"]
    assert dom["u"] == (tuple(ref["u"]) if isinstance(ref["u"], list) else ref["u"])


@pytest.mark.parametrize("byte,value", [(0, False), (1, True), (2, True), (255, True)])
def test_boolean_like_fastavro(byte, value):
    parsed = fastavro.parse_schema({"type": "record", "name": "B", "fields": [{"name": "b", "type": "boolean"}]},
                                   named_schemas={})
    assert compile_decoder(parsed)(bytes([byte])) == {"b": value} == fastavro_read(parsed, bytes([byte]))


def test_domain_classes_fallback_to_keyword_call():
    """Classes that are not plain slots dataclasses are called like cls(**record); nested records
    without a class stay dicts; full names work too."""
    calls = []

    def make_bill(**kw):
        calls.append(kw)
        return ("bill", kw["bill_id"], kw["lines"])

    @dataclasses.dataclass(frozen=True)
    class Line:  # no slots
        kind: str
        amount: Decimal

    @dataclasses.dataclass(frozen=True, slots=True)
    class Checked:
        kind: str
        amount: Decimal

        def __post_init__(self):
            if self.amount < 0:
                raise ValueError("negative")

    body = _bill_body(zz(2) + _line(0, 10000) + _line(2, 5) + zz(0))  # FOOD, TAX
    parsed = SCHEMAS["PosBill"].parsed
    got = compile_decoder(parsed, {"com.oneharmony.v1.PosBill": make_bill, "BillLine": Line})(body)
    assert got == ("bill", "B-1", (Line("FOOD", Decimal("1.0000")), Line("TAX", Decimal("0.0005"))))
    assert list(calls[0]) == [f["name"] for f in parsed["fields"]]
    got = compile_decoder(parsed, {"PosBill": make_bill})(body)
    assert got[2] == ({"kind": "FOOD", "amount": Decimal("1.0000")}, {"kind": "TAX", "amount": Decimal("0.0005")})
    assert compile_decoder(parsed, {"BillLine": Checked})(body)["lines"][1] == Checked("TAX", Decimal("0.0005"))
    with pytest.raises(ValueError, match="negative"):
        compile_decoder(parsed, {"BillLine": Checked})(_bill_body(zz(1) + _line(0, -1) + zz(0)))
    assert "_set" not in fastread.generated_source(parsed, {"BillLine": Checked})[0]  # __post_init__: no shortcut
    assert "_set" in fastread.generated_source(parsed, {"BillLine": BillLine})[0]


def test_unsupported_schemas():
    recursive = fastavro.parse_schema({"type": "record", "name": "Node", "fields": [
        {"name": "v", "type": "int"}, {"name": "next", "type": ["null", "Node"]}]}, named_schemas={})
    with pytest.raises(UnsupportedSchema, match="recursive"):
        compile_decoder(recursive)
    with pytest.raises(UnsupportedSchema):
        compile_decoder(fastavro.parse_schema("string"))


def test_caches_are_bounded():
    read = compile_decoder(SCHEMAS["MemberEnrollment"].parsed)
    t = fastread_runtime._tables()
    for days in range(8000, 8000 + 3 * fastread_runtime._CACHE_MAX):
        body = avro_str("M") + zz(days) + zz(0)
        assert read(body)["enrolled_on"] == date(1970, 1, 1) + timedelta(days=days)
    assert len(t["dates3"]) <= fastread_runtime._CACHE_MAX and len(t["dates"]) <= fastread_runtime._CACHE_MAX
    big = avro_str("USD") + zz(1) + avro_decimal(3**300)
    compile_decoder(SCHEMAS["FxRate"].parsed)(big)
    assert all(len(k) <= 32 for c in t["decimals"].values() for k in c)


# ------------------------------------------------------------------ invalid bodies

def _errors():
    good = _posting_body()
    named = {
        "trailing byte": (good + b"\x00", "1 trailing bytes"),
        "trailing bytes": (good + b"\x00\x01\x02", "3 trailing bytes"),
        "enum index past the end": (_posting_body(category=zz(6)), "enum"),
        "enum index far past the end": (_posting_body(channel=zz(2**40)), "enum"),
        "negative enum index": (_posting_body(category=zz(-1)), "enum"),
        "negative enum index, multi-byte": (_posting_body(channel=zz(-1, pad=2)), "enum"),
        "union index 2": (_posting_body(member=zz(2) + avro_str("x")), "union branch index 2"),
        "union index -1": (_posting_body(member=zz(-1)), "union branch index -1"),
        "union index huge": (_posting_body(tail=zz(0) + zz(10**15)), "union"),
        "union index multi-byte, bad": (_posting_body(member=zz(3, pad=1)), "union"),
        "invalid utf-8": (_posting_body(posting_id=avro_str(b"P\xff")), "UTF-8"),
        "surrogate in utf-8": (_posting_body(posting_id=avro_str(b"\xed\xa0\x80")), "UTF-8"),
        "negative string length": (_posting_body(posting_id=zz(-1) + b"P-1"), "negative length"),
        "negative string length, multi-byte": (_posting_body(posting_id=zz(-300) + b"P-1"), "negative length"),
        "negative decimal length": (_posting_body(amount=zz(-2) + b"\x01\x02"), "negative length"),
        "string longer than the body": (_posting_body(tail=zz(1) + zz(50) + b"abc"), "truncated"),
        "string length huge": (_posting_body(tail=zz(1) + zz(2**62)), "truncated"),
        "varint of 11 bytes": (_posting_body(nights=b"\xff" * 10 + b"\x01"), "64 bits"),
        "varint of 10 bytes over 64 bits": (_posting_body(nights=b"\xff" * 9 + b"\x02"), "64 bits"),
        "date beyond Python": (_posting_body(bdate=zz(2**31 - 1)), "corrupt"),
        "date before year 1": (_posting_body(bdate=zz(-719163)), "corrupt"),
        "timestamp beyond Python": (_posting_body(posted=zz(2**62)), "corrupt"),
        "timestamp before year 1": (_posting_body(posted=zz(MS_RANGE[0] - 1)), "corrupt"),
        "empty body": (b"", "truncated"),
    }
    bill = {
        "block count beyond the bytes": (_bill_body(zz(1000) + _line(0, 1) + zz(0)), "truncated"),
        "negative block count beyond": (_bill_body(zz(-(2**40)) + zz(1) + _line(0, 1) + zz(0)), "truncated"),
        "lines without end": (_bill_body(zz(1) + _line(0, 1))[:-1], "truncated"),
        "line kind out of range": (_bill_body(zz(1) + _line(9, 1) + zz(0)), "enum"),
    }
    out = {k: ("FolioPosting", v[0], v[1]) for k, v in named.items()}
    out.update({k: ("PosBill", v[0], v[1]) for k, v in bill.items()})
    return out


ERRORS = _errors()


@pytest.mark.parametrize("label", sorted(ERRORS))
def test_invalid_bodies_raise(codec, readers, label):
    name, body, words = ERRORS[label]
    for read in readers[name]:
        with pytest.raises(Exception):  # noqa: B017 - the readers differ in what they raise (fastavro's own errors)
            read(body)
    framed = b"\xc3\x01" + SCHEMAS[name].fingerprint + body
    for decode in (codec.decode_fast, lambda d: codec.decode_domain(d, DOMAIN_CLASSES)):
        with pytest.raises(DecodeError) as e:
            decode(framed)
        assert str(e.value).startswith(f"{name}: ")
        assert words in str(e.value), str(e.value)
        assert not e.value.transient


def test_stricter_than_fastavro_only_where_fastavro_is_wrong(codec):
    """fastavro 1.13 reads a negative enum index as symbols[-n] and wraps varints over 64 bits:
    the fast paths refuse both (DecodeError -> DLQ); everything else fastavro refuses too."""
    neg = b"\xc3\x01" + SCHEMAS["FolioPosting"].fingerprint + _posting_body(channel=zz(-1))
    assert codec.decode(neg)[1]["booking_channel"] == "OTHER"  # fastavro: the last symbol
    with pytest.raises(DecodeError, match="enum"):
        codec.decode_fast(neg)
    for label, (name, body, _) in ERRORS.items():
        if "enum" in label and "negative" in label or "varint" in label:
            continue
        with pytest.raises(DecodeError):
            codec.decode(b"\xc3\x01" + SCHEMAS[name].fingerprint + body)


@pytest.mark.parametrize("name", NAMES)
def test_every_truncation_and_extension_raises(codec, readers, name):
    s = SCHEMAS[name]
    body = body_of(s.parsed, SAMPLES[name])
    framed = b"\xc3\x01" + s.fingerprint + body
    for cut in range(len(framed)):
        for decode in (codec.decode_fast, lambda d: codec.decode_domain(d, DOMAIN_CLASSES)):
            with pytest.raises(DecodeError):
                decode(framed[:cut])
    for read in readers[name]:
        for cut in range(len(body)):
            with pytest.raises(Exception):  # noqa: B017 - the readers differ in what they raise (fastavro's own errors)
                read(body[:cut])
        with pytest.raises(CorruptData, match="trailing"):
            read(body + b"\x00")


def test_framing_errors_like_decode(codec):
    good = codec.encode("FolioPosting", SAMPLES["FolioPosting"])
    cases = [b"", b'{"posting_id": "x"}', b"\xc3\x02" + good[2:], good[:6], b"\xc3\x01" + b"\x01" * 8 + good[10:],
             b"\x00\x00\x00\x00\x07" + good[10:], b"\x00\x00\x01", "text", None, 42]
    for data in cases:
        with pytest.raises(DecodeError) as want:
            codec.decode(data)
        for decode in (codec.decode_fast, lambda d: codec.decode_domain(d, DOMAIN_CLASSES)):
            with pytest.raises(DecodeError) as got:
                decode(data)
            assert str(got.value) == str(want.value)
    # bytes-like values are accepted like decode accepts them
    for data in (bytearray(good), memoryview(good)):
        assert codec.decode_fast(data) == codec.decode(data)
        assert codec.decode_domain(data, DOMAIN_CLASSES) == ("FolioPosting", to_domain(*codec.decode(good)))


def test_record_without_a_class_on_the_domain_path(codec):
    data = codec.encode("FxRate", SAMPLES["FxRate"])
    assert codec.decode_domain(data, {"FolioPosting": FolioPosting}) == ("FxRate", SAMPLES["FxRate"])
    # several class mappings in turn: each has its own readers
    a, b = {"FxRate": lambda **kw: ("a", kw)}, {"FxRate": lambda **kw: ("b", kw)}
    for _ in range(2):
        assert codec.decode_domain(data, a)[1][0] == "a" and codec.decode_domain(data, b)[1][0] == "b"
        assert codec.decode_domain(data, DOMAIN_CLASSES)[1] == to_domain(*codec.decode(data))


# ------------------------------------------------------------------ fuzz: nothing but DecodeError

@pytest.fixture(scope="module")
def goods(codec):
    return {n: codec.encode(n, SAMPLES[n]) for n in NAMES}


def _outcome(fn, data):
    try:
        return "ok", fn(data)
    except DecodeError as e:
        return "error", e
    # any other exception fails the test


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                       HealthCheck.too_slow])
@given(st.sampled_from(NAMES), st.binary(max_size=120), st.integers(0, 200), st.integers(0, 255),
       st.integers(0, 200), st.sampled_from(["mutate", "insert", "delete", "junk body", "junk", "cut"]))
def test_fuzz_only_decode_errors(codec, goods, name, junk, pos, byte, cut, how):
    good = bytearray(goods[name])
    if how == "mutate" and pos < len(good):
        good[pos] = byte
    elif how == "insert":
        good[min(pos, len(good)):min(pos, len(good))] = bytes([byte])
    elif how == "delete" and pos < len(good):
        del good[pos]
    elif how == "junk body":
        good = good[:10] + junk
    elif how == "junk":
        good = bytearray(junk)
    elif how == "cut":
        good = good[:cut]
    data = bytes(good)
    fast = _outcome(codec.decode_fast, data)
    dom = _outcome(lambda d: codec.decode_domain(d, DOMAIN_CLASSES), data)
    ref = _outcome(codec.decode, data)
    assert fast[0] == dom[0]
    if fast[0] == "ok":  # accepted: fastavro accepts it too, with the same result
        assert ref[0] == "ok" and fast[1] == ref[1]
        rname, rec = ref[1]
        assert dom[1] == (rname, to_domain(rname, rec) if rname in RECORD_CLASSES else
                          {k: tuple(v) if isinstance(v, list) else v for k, v in rec.items()})
    elif ref[0] == "ok":  # refused where fastavro accepts: only its known wrong readings
        assert any(w in str(fast[1]) for w in ("enum", "union", "64 bits")), (fast[1], ref[1])


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(INPUTS), st.data())
def test_fuzz_valid_prefix_random_tail(name, data):
    """A valid body cut anywhere and continued with random bytes: the generated readers raise or
    agree with fastavro."""
    s = SCHEMAS[name]
    body = body_of(s.parsed, data.draw(VALID[name]))
    cut = data.draw(st.integers(0, len(body)))
    mutated = body[:cut] + data.draw(st.binary(max_size=40))
    try:
        ref = fastavro_read(s.parsed, mutated)
    except Exception:
        ref = None
    try:
        got = compile_decoder(s.parsed)(mutated)
    except (CorruptData, IndexError, UnicodeDecodeError, ValueError, OverflowError, ArithmeticError):
        got = None
    if got is not None:
        assert ref is not None and same(got, ref)


# ------------------------------------------------------------------ Confluent framing (registry path)

class FakeRegistry:
    url = "http://registry.invalid"

    def __init__(self):
        self.schemas: dict[int, str] = {}
        self.fetches: list[int] = []
        self.down = False

    def register(self, subject: str, text: str) -> int:
        for i, t in self.schemas.items():
            if t == text:
                return i
        i = 100 + len(self.schemas)
        self.schemas[i] = text
        return i

    def schema_by_id(self, schema_id: int):
        from schemas.errors import RegistryError
        self.fetches.append(schema_id)
        if self.down:
            raise RegistryError("registry unreachable", transient=True)
        return self.schemas.get(schema_id)


@pytest.fixture
def registry_codec():
    c = Codec("http://registry.invalid")
    c.registry = FakeRegistry()
    return c


def test_confluent_same_results(registry_codec):
    writer = Codec("http://registry.invalid")
    writer.registry = registry_codec.registry
    for name in NAMES:
        data = writer.encode(name, SAMPLES[name], subject=f"{name}-value")
        assert data[0] == 0
        reader = Codec("http://registry.invalid")
        reader.registry = registry_codec.registry
        for _ in range(2):
            assert reader.decode_fast(data) == reader.decode(data)
            got = reader.decode_domain(data, DOMAIN_CLASSES)
            ref = reader.decode(data)
            if name in RECORD_CLASSES:
                assert got == (name, to_domain(*ref))
        with pytest.raises(DecodeError, match="trailing"):
            reader.decode_fast(data + b"\x00")
        with pytest.raises(DecodeError, match="truncated"):
            reader.decode_domain(data[:-1], DOMAIN_CLASSES)


def test_confluent_evolved_writer_is_resolved_by_fastavro(registry_codec):
    raw = json.loads(json.dumps(SCHEMAS["MemberEnrollment"].raw))
    raw["fields"][2]["type"]["symbols"].append("SUSPENDED")
    raw["fields"].append({"name": "note", "type": ["null", "string"], "default": None})
    sid = registry_codec.registry.register("x", json.dumps(raw))
    parsed = fastavro.parse_schema(raw, named_schemas={})
    rec = dict(member_id="M1", enrolled_on=date(2026, 1, 1), state="ACTIVE", note="hi")
    data = b"\x00" + sid.to_bytes(4, "big") + body_of(parsed, rec)
    want = ("MemberEnrollment", dict(member_id="M1", enrolled_on=date(2026, 1, 1), state="ACTIVE"))
    assert registry_codec.decode_fast(data) == registry_codec.decode(data) == want
    assert registry_codec.decode_domain(data, DOMAIN_CLASSES) == ("MemberEnrollment", to_domain(*want))
    bad = b"\x00" + sid.to_bytes(4, "big") + body_of(parsed, dict(rec, state="SUSPENDED"))
    for decode in (registry_codec.decode_fast, lambda d: registry_codec.decode_domain(d, DOMAIN_CLASSES)):
        with pytest.raises(DecodeError, match="unknown enum symbol"):
            decode(bad)
        with pytest.raises(DecodeError, match="trailing"):
            decode(data + b"\x01")


def test_confluent_foreign_and_unsupported_writer_schemas(registry_codec):
    """A writer schema that is not one of ours is read with itself (generated reader), one fastread
    cannot compile (recursive) with fastavro — both exactly like decode."""
    node = {"type": "record", "name": "Node", "namespace": "x", "fields": [
        {"name": "v", "type": "int"}, {"name": "next", "type": ["null", "Node"]}]}
    flat = {"type": "record", "name": "Flat", "namespace": "x", "fields": [{"name": "v", "type": "string"}]}
    for schema, rec in ((node, {"v": 1, "next": {"v": 2, "next": None}}), (flat, {"v": "hi"})):
        sid = registry_codec.registry.register("x", json.dumps(schema))
        data = b"\x00" + sid.to_bytes(4, "big") + body_of(fastavro.parse_schema(schema, named_schemas={}), rec)
        assert registry_codec.decode_fast(data) == registry_codec.decode(data) == (f"x.{schema['name']}", rec)
        assert registry_codec.decode_domain(data, DOMAIN_CLASSES) == (f"x.{schema['name']}", rec)
        with pytest.raises(DecodeError):
            registry_codec.decode_fast(data[:-1])


def test_confluent_unknown_id_and_unreachable_registry(registry_codec):
    body = body_of(SCHEMAS["FxRate"].parsed, dict(currency="USD", rate_date=date(2026, 1, 1),
                                                  jpy_per_unit=Decimal("1.000000")))
    data = b"\x00" + (4242).to_bytes(4, "big") + body
    for decode in (registry_codec.decode_fast, lambda d: registry_codec.decode_domain(d, DOMAIN_CLASSES)):
        with pytest.raises(DecodeError, match="unknown schema id 4242") as e:
            decode(data)
        assert not e.value.transient
    registry_codec.registry.down = True
    with pytest.raises(DecodeError) as e:
        registry_codec.decode_fast(b"\x00" + (7).to_bytes(4, "big") + body)
    assert e.value.transient
    with pytest.raises(DecodeError, match="SCHEMA_REGISTRY_URL"):
        Codec().decode_fast(data)


# ------------------------------------------------------------------ the engine's use

def test_domain_classes_cover_every_input_record():
    fast_setters = fastread_runtime._fast_setters
    assert set(RECORD_CLASSES) <= set(DOMAIN_CLASSES) and DOMAIN_CLASSES["BillLine"] is BillLine
    for name, cls in RECORD_CLASSES.items():
        fields = [f["name"] for f in SCHEMAS[name].parsed["fields"]]
        assert [f.name for f in dataclasses.fields(cls)] == fields, name
        assert fast_setters(cls, fields) is not None, name  # the fast construction applies
    assert fast_setters(BillLine, ["kind", "amount"]) is not None
    assert fast_setters(PosBill, ["bill_id"]) is None and fast_setters(dict, []) is None

    @dataclasses.dataclass(frozen=True, slots=True)
    class WithInitVar:
        a: int
        b: dataclasses.InitVar[int] = 0

    @dataclasses.dataclass(frozen=True, slots=True)
    class OwnInit:
        a: int

    def own_init(self, a):
        object.__setattr__(self, "a", a * 2)
    OwnInit.__init__ = own_init
    assert fast_setters(WithInitVar, ["a"]) is None and fast_setters(OwnInit, ["a"]) is None
    # the shortcut sets fields by name: a different Avro field order still builds the same object
    setters = fast_setters(BillLine, ["amount", "kind"])
    line = object.__new__(BillLine)
    setters[0](line, Decimal("1.5"))
    setters[1](line, "FOOD")
    assert line == BillLine("FOOD", Decimal("1.5")) and hash(line) == hash(BillLine("FOOD", Decimal("1.5")))
