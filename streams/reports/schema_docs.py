"""docs/schemas.md, generated from the topic list (streams/kafka/topics.py) and the Avro schemas
(schemas/*.avsc): every topic, its key, its record's fields with their ``doc``, and an example
record (the first line of examples/<topic>.jsonl for inputs, else built from the schema). Written by
`harmony docs schemas`; tests/unit/test_schema_docs.py fails when the page is not current.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from schemas import catalog
from schemas.jsonio import from_json, to_json
from streams.kafka.topics import TOPICS

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "schemas.md"
RECORDS = {"postings": "FolioPosting", "bills": "PosBill", "fx": "FxRate", "enrollments": "MemberEnrollment",
           "redemptions": "RedemptionRequest", "adjustments": "PointAdjustment", "claims": "ChargeClaim",
           "ledger": "PointEntry", "decisions": "ChargeDecision", "status": "StatusChange",
           "results": "RedemptionResult", "balances": "MemberBalance"}
EXAMPLE_FILES = {"postings": "postings.jsonl", "bills": "bills.jsonl", "fx": "fx-rates.jsonl",
                 "enrollments": "enrollments.jsonl", "redemptions": "redemptions.jsonl"}
INTERNAL = {
    "dlq": "The original key and bytes of an input the engine could not take, with the headers `origin.topic`, "
           "`origin.partition`, `origin.offset` (-1 when the input was held first and rejected later) and `error`. "
           "Replayed inputs carry `harmony.replay.of` and `harmony.replay.count`. Read it with `harmony tail "
           "loyalty.dlq.v1` or `harmony dlq list`.",
    "state": "Internal (JSON values): the member state the worker wrote to Redis, for `harmony rebuild`. Keys "
             "`m|<member>` (core hash), `s|<member>|<source id>` (outcome records), `h|<member>|<source id>` (held "
             "inputs), `p|<group>|<topic>|<partition>` (positions); a null value deletes.",
    "jobs": "Internal (JSON values): job requests for the worker's scheduler, e.g. "
            "`{\"job\": \"close-year\", \"year\": 2026}`, `{\"job\": \"expire\", \"as_of\": \"2029-02-01\"}`.",
}
HINTS = {"member_id": "OH0000001", "hotel_code": "OKURA-TOKYO", "currency": "JPY", "source_id": "P:P-1001",
         "source_topic": "pms.folio-postings.v1", "config_version": "2026.11-1", "request_id": "RQ-1",
         "entry_id": "OH0000001/P:P-1001/EARN", "decision_id": "P:P-1001", "event_id": "OH0000001/status/2026",
         "detail": None, "reason": None}


def _type_name(t: Any) -> str:
    if isinstance(t, list):
        inner = [_type_name(x) for x in t if x != "null"]
        return " \\| ".join(inner) + (" (nullable)" if "null" in t else "")
    if isinstance(t, dict):
        if t.get("logicalType") == "decimal":
            return f"decimal({t['precision']},{t['scale']})"
        if t.get("logicalType"):
            return t["logicalType"]
        if t["type"] == "enum":
            return "enum " + ", ".join(t["symbols"])
        if t["type"] == "array":
            return f"array of {_type_name(t['items'])}"
        if t["type"] == "record":
            return t["name"]
        return _type_name(t["type"])
    return str(t).removeprefix(catalog.NAMESPACE + ".")


PRIMITIVES = {"string", "int", "long", "boolean", "double", "float", "bytes", "null"}


def _example_value(name: str, t: Any, named: dict | None = None) -> Any:
    if isinstance(t, str) and t not in PRIMITIVES and named:  # a named type defined earlier in the file
        t = named.get(t) or named.get(f"{catalog.NAMESPACE}.{t}") or t
    if isinstance(t, list):
        if name in HINTS and HINTS[name] is None:
            return None
        return _example_value(name, next(x for x in t if x != "null"), named)
    if name in HINTS and HINTS[name] is not None:
        return HINTS[name]
    if isinstance(t, dict):
        lt = t.get("logicalType")
        if lt == "decimal":
            return "700" if t["scale"] == 0 else "1." + "0" * t["scale"]
        if lt == "date":
            return "2026-03-14"
        if lt and lt.startswith("timestamp"):
            return "2026-03-14T23:10:00+09:00"
        if t["type"] == "enum":
            return t["symbols"][0]
        if t["type"] == "array":
            return [_example_value(name, t["items"], named)]
        if t["type"] == "record":
            return {f["name"]: _example_value(f["name"], f["type"], named) for f in t["fields"]}
        return _example_value(name, t["type"], named)
    return {"string": name.upper().replace("_", "-") + "-1", "int": 1, "long": 700, "boolean": False,
            "double": 1.0, "float": 1.0}.get(t)


def example(attr: str, record: str) -> dict:
    f = EXAMPLE_FILES.get(attr)
    if f and (ROOT / "examples" / f).exists():
        obj = json.loads((ROOT / "examples" / f).read_text(encoding="utf-8").splitlines()[0])
    else:
        schema = catalog.load()[record]
        named = schema.parsed.get("__named_schemas", {})
        obj = {fl["name"]: _example_value(fl["name"], fl["type"], named) for fl in schema.raw["fields"]}
    return to_json(record, from_json(record, obj))  # checked against the schema, in its JSON form


def _fields(raw: dict, prefix: str = "") -> list[tuple[str, str, str]]:
    rows = []
    for f in raw["fields"]:
        t = f["type"]
        rows.append((prefix + f["name"], _type_name(t), " ".join(f.get("doc", "").split())))
        inner = t["items"] if isinstance(t, dict) and t.get("type") == "array" else t
        if isinstance(inner, dict) and inner.get("type") == "record":
            rows += _fields(inner, prefix + f["name"] + ("[]." if inner is not t else "."))
    return rows


def render() -> str:
    schemas = catalog.load()
    out = ["# Topics and records", "",
           "Generated by `harmony docs schemas` from `streams/kafka/topics.py` and `schemas/*.avsc` — "
           "do not edit by hand "
           "(a test fails when this page is not current). Values are Avro binary (single-object encoding, or the "
           "Confluent wire format with a schema registry); `harmony tail TOPIC` prints any topic as JSON lines in "
           "the form shown here (decimals as strings, dates `YYYY-MM-DD`, timestamps ISO-8601).", "",
           "| topic | direction | key | value | cleanup |", "|---|---|---|---|---|"]
    for spec in TOPICS:
        rec = RECORDS.get(spec.attr)
        value = f"[{rec}](#{rec.lower()})" if rec in schemas else "JSON" if spec.attr in ("state", "jobs") else \
            "original bytes" if spec.attr == "dlq" else (rec or "?")
        key = spec.key.replace("|", "\\|")
        out.append(f"| `{spec.name}` | {spec.direction} | {key} | {value} | {spec.cleanup_policy} |")
    for spec in TOPICS:
        rec = RECORDS.get(spec.attr)
        out += ["", f"## `{spec.name}`", ""]
        out.append(f"Direction **{spec.direction}**, key: {spec.key}, cleanup policy `{spec.cleanup_policy}`.")
        if spec.attr in INTERNAL:
            out += ["", INTERNAL[spec.attr]]
            continue
        if rec not in schemas:
            out += ["", f"Record `{rec}`: schema not in this checkout."]
            continue
        raw = schemas[rec].raw
        out += ["", f"### {rec}", "", " ".join(raw.get("doc", "").split()), "",
                "| field | type | meaning |", "|---|---|---|"]
        out += [f"| `{n}` | {t} | {d} |" for n, t, d in _fields(raw)]
        out += ["", "Example:", "", "```json", json.dumps(example(spec.attr, rec), indent=2, ensure_ascii=False),
                "```"]
    return "\n".join(out) + "\n"


def write(path: Path = PAGE) -> Path:
    path.write_text(render(), encoding="utf-8")
    return path
