"""schemas/*.avsc and schemas.codec: round trips, both wire formats, every DecodeError case."""
from __future__ import annotations

import json
import subprocess
import sys
import threading
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BytesIO
from pathlib import Path

import fastavro
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas import catalog
from schemas.codec import Codec, DecodeError, EncodeError, RegistryError

ROOT = Path(__file__).resolve().parents[2]
UTC = UTC
T0 = datetime(2026, 3, 1, 3, 4, 5, 678000, tzinfo=UTC)

SAMPLES: dict[str, dict] = {
    "FolioPosting": dict(
        posting_id="P-1", hotel_code="TYO01", reservation_id="R-9", member_id="M0001", nights=1,
        business_date=date(2026, 3, 1), posted_at=T0, category="ROOM", amount=Decimal("35000.0000"),
        currency="JPY", booking_channel="OFFICIAL_WEBSITE", rate_plan="BAR", corrects_posting_id=None),
    "PosBill": dict(
        bill_id="B-1", hotel_code="TYO01", outlet_code="SKYBAR", outlet_type="BAR", member_id=None,
        business_date=date(2026, 3, 1), closed_at=T0, currency="USD",
        lines=[dict(kind="FOOD", amount=Decimal("12.3400")), dict(kind="TAX", amount=Decimal("-1.0000"))],
        paid_with_points_amount=Decimal("0.0000"), voids_bill_id="B-0"),
    "FxRate": dict(currency="USD", rate_date=date(2026, 2, 27), jpy_per_unit=Decimal("151.234567")),
    "MemberEnrollment": dict(member_id="M0001", enrolled_on=date(2025, 12, 31), state="CLOSED"),
    "RedemptionRequest": dict(
        request_id="Q-1", member_id="M0001", award="NOT_AN_AWARD_YET", quantity=2,
        amount_jpy=Decimal("1500.0000"), hotel_code=None, booking_channel="TRAVEL_AGENCY",
        requested_at=T0, cancels_request_id=None),
    "PointEntry": dict(
        entry_id="E-1", member_id="M0001", type="REVERSAL", points=-700,
        lot_expires_on=date(2029, 1, 31), source_id="P:P-2", hotel_code="TYO01",
        business_date=date(2026, 3, 1), occurred_at=T0, balance_after=-12, config_version="v7"),
    "ChargeDecision": dict(
        decision_id="D-1", source_id="P:P-1", source_topic="pms.folio-postings.v1", member_id="M0001",
        hotel_code="TYO01", business_date=date(2026, 3, 1), outcome="EARNED", reason=None,
        detail="room", eligible_amount_jpy=Decimal("35000.0000"), fx_rate=Decimal("1.000000"),
        base_points=700, bonus_points=175, reversed_points=0, nights=1, config_version="v7", event_time=T0),
    "StatusChange": dict(
        event_id="S-1", member_id="M0001", year_evaluated=2026, old_status="REGULAR",
        new_status="EXCLUSIVE", valid_from=date(2027, 4, 1), valid_until=date(2028, 3, 31),
        qualifying_points=18200, qualifying_nights=12, carried_points=3200, carried_nights=0, qualified_by="POINTS"),
    "RedemptionResult": dict(
        request_id="Q-1", member_id="M0001", award="BREAKFAST_ADULT", outcome="APPROVED", reason=None,
        points=4000, lots_used=[dict(expires_on=date(2028, 1, 31), points=3000),
                                dict(expires_on=date(2029, 1, 31), points=1000)],
        balance_after=100, requested_at=T0),
    "MemberBalance": dict(
        member_id="M0001", balance=5100, debt=0, status="LOYAL", status_valid_until=date(2027, 3, 31),
        lots=[dict(expires_on=date(2029, 1, 31), points=5100)], version=42, updated_at=T0),
    "PointAdjustment": dict(
        adjustment_id="A-1", member_id="M0001", points=-500, reason="GOODWILL", note=None, operator="tanaka",
        requested_at=T0),
    "ChargeClaim": dict(claim_id="K-1", member_id="M0001", source_id="P-1", requested_at=T0),
    "AdjustmentResult": dict(
        adjustment_id="A-1", member_id="M0001", outcome="APPLIED", reason=None, points=-500,
        lots=[dict(expires_on=date(2029, 1, 31), points=-500)], debt_change=0, balance_after=100,
        reason_code="GOODWILL", operator="tanaka", requested_at=T0),
}

# Changing one of these breaks every reader holding the old schema: bump the record (v2) instead.
GOLDEN_FINGERPRINTS = {
    "ChargeDecision": "cfba861e45e1ea15", "FolioPosting": "fa4bcc897ad01eae", "FxRate": "36a30b15c2251f0c",
    "MemberBalance": "3db810e995a2419f", "MemberEnrollment": "609daac17019305d",
    # PointEntry gained the ADJUST type (interfaces.md: membership-office adjustments), 750a18fdc63aff48 before
    "PointEntry": "770087d2e4d12690", "PointAdjustment": "a93fb0d2996d0c99", "ChargeClaim": "041037f5c7799889",
    "AdjustmentResult": "afc98ef6610ef609", "PosBill": "dfdf7ab03783e5e0", "RedemptionRequest": "f118f635bf8c017f",
    "RedemptionResult": "20854d3bbac81d91", "StatusChange": "be37eeca0daed362"}


@pytest.fixture(scope="module")
def codec() -> Codec:
    return Codec()


def _enc(codec, name, rec=None):
    return codec.encode(name, SAMPLES[name] if rec is None else rec)


# ------------------------------------------------------------------ the .avsc files

def test_every_record_has_a_schema_file():
    assert sorted(p.stem for p in (ROOT / "schemas").glob("*.avsc")) == sorted(SAMPLES)
    assert Codec().names() == sorted(SAMPLES)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_schema_file_standalone_namespace_and_docs(name):
    path = ROOT / "schemas" / f"{name}.avsc"
    raw = json.loads(path.read_text())
    assert raw["namespace"] == "com.oneharmony.v1" and raw["name"] == name
    # an outside reader loads the file on its own
    parsed = fastavro.schema.load_schema(str(path), _write_hint=False)
    assert parsed["name"] == f"com.oneharmony.v1.{name}"

    missing: list[str] = []

    def walk(t, where):
        if isinstance(t, list):
            for b in t:
                walk(b, where)
        elif isinstance(t, dict):
            if t.get("type") in ("record", "enum") and not t.get("doc"):
                missing.append(f"{where} ({t['name']})")
            for f in t.get("fields", []):
                if not f.get("doc"):
                    missing.append(f"{where}.{f['name']}")
                if "null" in (f["type"] if isinstance(f["type"], list) else []):
                    assert f["type"][0] == "null" and f.get("default", "x") is None, f["name"]
                walk(f["type"], f"{where}.{f['name']}")
            if t.get("type") == "array":
                walk(t["items"], where + "[]")
    walk(raw, name)
    assert not missing, f"fields/types without doc: {missing}"


def _field_type(name, field):
    t = next(f["type"] for f in catalog.load()[name].raw["fields"] if f["name"] == field)
    return [b for b in t if b != "null"][0] if isinstance(t, list) else t


@pytest.mark.parametrize("name,field,scale", [
    ("FolioPosting", "amount", 4), ("PosBill", "paid_with_points_amount", 4),
    ("RedemptionRequest", "amount_jpy", 4), ("ChargeDecision", "eligible_amount_jpy", 4),
    ("FxRate", "jpy_per_unit", 6), ("ChargeDecision", "fx_rate", 6)])
def test_decimal_types(name, field, scale):
    assert _field_type(name, field) == {"type": "bytes", "logicalType": "decimal", "precision": 18, "scale": scale}


def test_other_field_types():
    assert _field_type("FolioPosting", "business_date") == {"type": "int", "logicalType": "date"}
    assert _field_type("FolioPosting", "posted_at") == {"type": "long", "logicalType": "timestamp-millis"}
    assert _field_type("RedemptionRequest", "award") == "string"  # unknown awards reach the rules
    pwp = next(f for f in catalog.load()["PosBill"].raw["fields"] if f["name"] == "paid_with_points_amount")
    assert not isinstance(pwp["type"], list) and "default" not in pwp  # required


def test_shared_named_types_are_identical_everywhere():
    def find(t, name):
        if isinstance(t, list):
            return [d for x in t for d in find(x, name)]
        if not isinstance(t, dict):
            return []
        here = [t] if t.get("name") == name and t.get("type") in ("enum", "record") else []
        return here + [d for v in t.values() for d in find(v, name)]
    for shared in ("MemberStatus", "LotAmount"):
        defs = [d for s in catalog.load().values() for d in find(s.raw, shared)]
        assert len(defs) == 2 and defs[0] == defs[1], shared


# ------------------------------------------------------------------ fingerprints, single-object

def test_rabin_fingerprint_matches_avro_spec_vectors():
    # apache/avro share/test/data/schema-tests.txt: "int" -> 8247732601305521295 (0x7275d51a3f395c8f)
    assert catalog.rabin_fingerprint('"int"') == (8247732601305521295).to_bytes(8, "little")
    assert catalog.rabin_fingerprint('"int"').hex() == "8f5c393f1ad57572"
    assert catalog.rabin_fingerprint('"null"') == (7195948357588979594).to_bytes(8, "little")


def test_fingerprints_stable(codec):
    assert {n: codec.fingerprint(n).hex() for n in codec.names()} == GOLDEN_FINGERPRINTS
    for n in codec.names():
        s = codec.schema(n)
        assert fastavro.schema.fingerprint(s.canonical, "CRC-64-AVRO") == s.fingerprint.hex()


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_round_trip_single_object(codec, name):
    data = _enc(codec, name)
    assert data[:2] == b"\xc3\x01"
    assert data[2:10] == codec.fingerprint(name)
    got_name, rec = codec.decode(data)
    assert got_name == name
    assert rec == SAMPLES[name]
    assert codec.decode_as(name, data) == SAMPLES[name]
    # body is plain Avro binary: an outside reader with the .avsc decodes it
    assert fastavro.schemaless_reader(BytesIO(data[10:]), codec.schema(name).parsed, None) == SAMPLES[name]


def test_value_types_and_normalisation(codec):
    def trip(**change):
        return codec.decode_as("FolioPosting", codec.encode("FolioPosting", dict(SAMPLES["FolioPosting"], **change)))
    rec = trip()
    assert type(rec["amount"]) is Decimal and type(rec["business_date"]) is date
    assert rec["posted_at"].utcoffset().total_seconds() == 0
    assert trip(amount=Decimal("12.50000000"))["amount"] == Decimal("12.5")  # extra zeros are fine
    assert trip(amount=12)["amount"] == 12  # an int is an exact decimal
    assert trip(posted_at=T0.astimezone(timezone(timedelta(hours=9))))["posted_at"] == T0  # same instant
    omitted = {k: v for k, v in SAMPLES["FolioPosting"].items() if k not in ("member_id", "rate_plan")}
    out = codec.decode_as("FolioPosting", codec.encode("FolioPosting", omitted))
    assert out["member_id"] is None and out["rate_plan"] is None  # nullable fields may be omitted


# ------------------------------------------------------------------ encode errors

@pytest.mark.parametrize("change,field,words", [
    ({"amount": 1.5}, "amount", "expected Decimal, got float"),
    ({"amount": Decimal("123456789012345678901234567890")}, "amount", "does not fit decimal(18,4)"),
    ({"amount": Decimal("100000000000000")}, "amount", "does not fit"),  # 15 integer digits
    ({"amount": Decimal("1.00001")}, "amount", "more than 4 decimal places"),
    ({"amount": Decimal("NaN")}, "amount", "not a finite"),
    ({"amount": Decimal("Infinity")}, "amount", "not a finite"),
    ({"posted_at": datetime(2026, 3, 1, 12)}, "posted_at", "naive"),
    ({"business_date": T0}, "business_date", "expected date"),
    ({"category": "SPA"}, "category", "unknown symbol 'SPA'"),
    ({"nights": "1"}, "nights", "expected an integer"),
    ({"nights": 2**40}, "nights", "out of range"),
    ({"posting_id": None}, "posting_id", "null"),
    ({"surprise": 1}, "surprise", "unknown field"),
])
def test_encode_refuses_bad_values(codec, change, field, words):
    with pytest.raises(EncodeError) as e:
        codec.encode("FolioPosting", dict(SAMPLES["FolioPosting"], **change))
    assert e.value.field == field
    assert words in str(e.value)


def test_encode_refuses_missing_field_and_names_nested_paths(codec):
    rec = {k: v for k, v in SAMPLES["FolioPosting"].items() if k != "hotel_code"}
    with pytest.raises(EncodeError, match="hotel_code: missing required field"):
        codec.encode("FolioPosting", rec)
    bill = dict(SAMPLES["PosBill"], lines=[dict(kind="FOOD", amount=Decimal(1)), dict(kind="FOOD", amount=2.5)])
    with pytest.raises(EncodeError) as e:
        codec.encode("PosBill", bill)
    assert e.value.field == "lines[1].amount"
    bill = dict(SAMPLES["PosBill"], lines=[dict(kind="FOOD", amount=Decimal(1)), dict(kind="WINE", amount=Decimal(1))])
    with pytest.raises(EncodeError) as e:
        codec.encode("PosBill", bill)
    assert e.value.field == "lines[1].kind"
    with pytest.raises(EncodeError, match="unknown record type"):
        codec.encode("Nope", {})


# ------------------------------------------------------------------ decode errors

def test_decode_errors(codec):
    good = _enc(codec, "FolioPosting")
    cases = {
        "empty": (b"", "empty"),
        "json": (b'{"posting_id": "x"}', "not Avro framing"),
        "bad second magic byte": (b"\xc3\x02" + good[2:], "not Avro framing"),
        "short header": (good[:6], "truncated single-object header"),
        "unknown fingerprint": (b"\xc3\x01" + b"\x01" * 8 + good[10:], "unknown schema fingerprint 0101010101010101"),
        "truncated body": (good[:-3], "truncated"),
        "trailing": (good + b"\x00", "1 trailing bytes"),
        "confluent without registry": (b"\x00\x00\x00\x00\x07" + good[10:], "needs a schema registry"),
        "short confluent header": (b"\x00\x00\x01", "truncated Confluent header"),
        "not bytes": ("text", "expected bytes"),
    }
    for label, (data, words) in cases.items():
        with pytest.raises(DecodeError) as e:
            codec.decode(data)
        assert words in str(e.value), label
        assert not e.value.transient


def test_every_truncation_is_a_decode_error(codec):
    for name in SAMPLES:
        data = _enc(codec, name)
        for cut in range(len(data)):
            with pytest.raises(DecodeError):
                codec.decode(data[:cut])


def _body(schema: dict, rec: dict) -> bytes:
    buf = BytesIO()
    fastavro.schemaless_writer(buf, fastavro.parse_schema(schema, named_schemas={}), rec)
    return buf.getvalue()


def test_unknown_enum_symbol_and_bad_utf8(codec):
    raw = json.loads(json.dumps(catalog.load()["MemberEnrollment"].raw))
    raw["fields"][2]["type"]["symbols"].append("SUSPENDED")  # a writer with a newer enum
    body = _body(raw, dict(member_id="M1", enrolled_on=date(2026, 1, 1), state="SUSPENDED"))
    with pytest.raises(DecodeError, match="unknown enum symbol"):
        codec.decode(b"\xc3\x01" + codec.fingerprint("MemberEnrollment") + body)
    good = _enc(codec, "MemberEnrollment", dict(member_id="M1", enrolled_on=date(2026, 1, 1), state="ACTIVE"))
    bad_utf8 = good[:11] + b"\xff" + good[12:]  # member_id "M1": length byte at 10, then bytes
    with pytest.raises(DecodeError, match="UTF-8"):
        codec.decode(bad_utf8)


def test_decode_as_and_decode_many(codec):
    with pytest.raises(DecodeError, match="expected a PosBill, got a FolioPosting"):
        codec.decode_as("PosBill", _enc(codec, "FolioPosting"))
    good = _enc(codec, "FxRate")
    out = codec.decode_many([good, b"", good])
    assert out[0] == ("FxRate", SAMPLES["FxRate"]) and out[2] == out[0]
    assert isinstance(out[1], DecodeError)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(sorted(SAMPLES)), st.binary(max_size=200), st.integers(0, 300), st.integers(0, 255))
def test_decode_raises_only_decode_error(codec, name, junk, pos, byte):
    good = _enc(codec, name)
    mutated = bytearray(good)
    if pos < len(mutated):
        mutated[pos] = byte
    for data in (bytes(mutated), good[:10] + junk, b"\xc3\x01" + junk, junk):
        try:
            got, rec = codec.decode(data)
        except DecodeError:
            continue
        assert got in SAMPLES and isinstance(rec, dict)


# ------------------------------------------------------------------ Confluent wire format

class _Registry(ThreadingHTTPServer):
    """In-process schema-registry stand-in: POST /subjects/{s}/versions, GET /schemas/ids/{id}."""

    def __init__(self):
        self.schemas: dict[int, str] = {}
        self.subjects: dict[str, list[int]] = {}
        self.requests: list[tuple[str, str]] = []
        super().__init__(("127.0.0.1", 0), _RegistryHandler)
        self.url = f"http://127.0.0.1:{self.server_address[1]}"
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def add(self, text: str, subject: str | None = None) -> int:
        same = [i for i, t in self.schemas.items() if json.loads(t) == json.loads(text)]
        sid = same[0] if same else 100 + len(self.schemas)
        self.schemas[sid] = self.schemas.get(sid, text)
        if subject:
            self.subjects.setdefault(subject, []).append(sid)
        return sid

    def close(self):
        self.shutdown()
        self.server_close()


class _RegistryHandler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _reply(self, code: int, body: dict):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/vnd.schemaregistry.v1+json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        self.server.requests.append(("POST", self.path))
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        parts = self.path.strip("/").split("/")
        if len(parts) != 3 or parts[0] != "subjects" or parts[2] != "versions":
            return self._reply(404, {"error_code": 404, "message": "not found"})
        self._reply(200, {"id": self.server.add(body["schema"], parts[1])})

    def do_GET(self):
        self.server.requests.append(("GET", self.path))
        parts = self.path.strip("/").split("/")
        if len(parts) == 3 and parts[:2] == ["schemas", "ids"] and int(parts[2]) in self.server.schemas:
            return self._reply(200, {"schema": self.server.schemas[int(parts[2])]})
        self._reply(404, {"error_code": 40403, "message": "Schema not found"})


@pytest.fixture
def registry():
    r = _Registry()
    yield r
    r.close()


def test_confluent_round_trip_and_caching(registry):
    codec = Codec(registry.url)
    subject = "pms.folio-postings.v1-value"
    data = codec.encode("FolioPosting", SAMPLES["FolioPosting"], subject=subject)
    sid = registry.subjects[subject][0]
    assert data[0] == 0 and data[1:5] == sid.to_bytes(4, "big")
    assert data[5:] == _enc(Codec(), "FolioPosting")[10:]  # same Avro body
    assert codec.decode(data) == ("FolioPosting", SAMPLES["FolioPosting"])
    codec.encode("FolioPosting", SAMPLES["FolioPosting"], subject=subject)
    assert registry.requests == [("POST", f"/subjects/{subject}/versions")]  # cached, no GET either
    # default subject <name>-value
    codec.encode("FxRate", SAMPLES["FxRate"])
    assert "FxRate-value" in registry.subjects
    # a fresh reader fetches the id once
    reader = Codec(registry.url)
    for _ in range(3):
        assert reader.decode_as("FolioPosting", data) == SAMPLES["FolioPosting"]
    assert registry.requests.count(("GET", f"/schemas/ids/{sid}")) == 1
    # readers accept both formats
    assert reader.decode(_enc(Codec(), "FxRate")) == ("FxRate", SAMPLES["FxRate"])
    # a codec without a registry refuses Confluent framing clearly
    with pytest.raises(DecodeError, match="SCHEMA_REGISTRY_URL"):
        Codec().decode(data)


def test_confluent_unknown_id_and_unreachable_registry(registry):
    body = _enc(Codec(), "FxRate")[10:]
    with pytest.raises(DecodeError, match="unknown schema id 4242") as e:
        Codec(registry.url).decode(b"\x00" + (4242).to_bytes(4, "big") + body)
    assert not e.value.transient
    url = registry.url
    registry.close()
    with pytest.raises(DecodeError) as e:
        Codec(url, timeout=2).decode(b"\x00" + (1).to_bytes(4, "big") + body)
    assert e.value.transient
    with pytest.raises(RegistryError) as e:
        Codec(url, timeout=2).encode("FxRate", SAMPLES["FxRate"])
    assert e.value.transient


def test_confluent_evolved_writer_schema_resolves_to_ours(registry):
    raw = json.loads(json.dumps(catalog.load()["MemberEnrollment"].raw))
    raw["fields"][2]["type"]["symbols"].append("SUSPENDED")
    raw["fields"].append({"name": "note", "type": ["null", "string"], "default": None, "doc": "new"})
    sid = registry.add(json.dumps(raw))
    codec = Codec(registry.url)
    rec = dict(member_id="M1", enrolled_on=date(2026, 1, 1), state="ACTIVE", note="hi")
    name, got = codec.decode(b"\x00" + sid.to_bytes(4, "big") + _body(raw, rec))
    assert name == "MemberEnrollment" and got == dict(member_id="M1", enrolled_on=date(2026, 1, 1), state="ACTIVE")
    with pytest.raises(DecodeError, match="unknown enum symbol"):
        codec.decode(b"\x00" + sid.to_bytes(4, "big") + _body(raw, dict(rec, state="SUSPENDED")))


def test_from_env(registry, monkeypatch):
    monkeypatch.delenv("SCHEMA_REGISTRY_URL", raising=False)
    assert Codec.from_env().registry is None
    assert Codec.from_env({"SCHEMA_REGISTRY_URL": ""}).registry is None
    monkeypatch.setenv("SCHEMA_REGISTRY_URL", registry.url)
    codec = Codec.from_env()
    assert codec.registry is not None and codec.encode("FxRate", SAMPLES["FxRate"])[0] == 0


def test_import_does_no_io():
    code = ("import schemas, schemas.codec, schemas.jsonio; from schemas import catalog; "
            "assert catalog.load.cache_info().currsize == 0")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
