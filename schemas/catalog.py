"""The Avro schemas of ``schemas/*.avsc``: loading, fingerprints, and value checks shared by the
codec and the JSON converter.

Every ``.avsc`` is self-contained (named types used by several records — MemberStatus, LotAmount —
are defined inline in each file that uses them), so any Avro reader can load one file on its own.
Nothing is read at import; :func:`load` reads the files once, on first use.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Context, Decimal, Inexact, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any, NoReturn

import fastavro
from fastavro.schema import to_parsing_canonical_form

NAMESPACE = "com.oneharmony.v1"
SCHEMA_DIR = Path(__file__).resolve().parent

_EMPTY64 = 0xC15D213AA4D7A795


@cache
def _rabin_table() -> tuple[int, ...]:
    table = []
    for i in range(256):
        fp = i
        for _ in range(8):
            fp = (fp >> 1) ^ (_EMPTY64 & -(fp & 1))
        table.append(fp)
    return tuple(table)


def rabin_fingerprint(canonical: str) -> bytes:
    """CRC-64-AVRO (Rabin) fingerprint of a parsing canonical form, 8 bytes little-endian
    (the byte order of Avro single-object encoding)."""
    table = _rabin_table()
    fp = _EMPTY64
    for byte in canonical.encode("utf-8"):
        fp = (fp >> 8) ^ table[(fp ^ byte) & 0xFF]
    return fp.to_bytes(8, "little")


@dataclass(frozen=True, slots=True)
class Schema:
    name: str               # short name, e.g. "FolioPosting"
    full_name: str          # "com.oneharmony.v1.FolioPosting"
    raw: dict[str, Any]               # the .avsc as loaded (docs and logical types included)
    text: str               # compact JSON of ``raw`` (what is registered with a schema registry)
    parsed: dict[str, Any]            # fastavro parsed schema
    canonical: str          # Avro parsing canonical form
    fingerprint: bytes      # CRC-64-AVRO of ``canonical``, little-endian
    check: Callable[[dict[str, Any]], dict[str, Any]]  # encode-side checks, returns the record to write


@cache
def load() -> dict[str, Schema]:
    """All schemas by short name (read from disk once)."""
    out: dict[str, Schema] = {}
    for path in sorted(SCHEMA_DIR.glob("*.avsc")):
        raw = json.loads(path.read_text(encoding="utf-8"))
        out[raw["name"]] = build(raw)
    return out


def build(raw: dict[str, Any]) -> Schema:
    parsed = fastavro.parse_schema(raw, named_schemas={})
    if not isinstance(parsed, dict):  # a record's schema parses to a dict (our .avsc files are records)
        raise ValueError(f"not a record schema: {raw!r}")
    canonical = to_parsing_canonical_form(parsed)
    full = parsed["name"]
    return Schema(
        name=full.rsplit(".", 1)[-1], full_name=full, raw=raw,
        text=json.dumps(raw, separators=(",", ":"), ensure_ascii=False),
        parsed=parsed, canonical=canonical, fingerprint=rabin_fingerprint(canonical),
        check=_record_checker(parsed, parsed["__named_schemas"], ""),
    )


def get(name: str) -> Schema | None:
    schemas = load()
    s = schemas.get(name)
    if s is None and name.startswith(NAMESPACE + "."):
        s = schemas.get(name[len(NAMESPACE) + 1:])
    return s


# ------------------------------------------------------------------ value checks

_CONTEXTS: dict[int, Context] = {}
_MISSING = object()


def _context(precision: int) -> Context:
    ctx = _CONTEXTS.get(precision)
    if ctx is None:
        ctx = _CONTEXTS[precision] = Context(prec=precision, traps=[Inexact, InvalidOperation])
    return ctx


def decimal_problem(value: Decimal, precision: int, scale: int) -> tuple[str | None, Decimal]:
    """Check that ``value`` fits decimal(precision, scale) exactly. Returns (reason, value to
    write); reason is None when it fits. Never rounds: extra non-zero decimal places are an error.
    The value to write has exactly ``scale`` decimal places when ``value`` had more (zeros)."""
    if not value.is_finite():
        return f"{value} is not a finite decimal", value
    quantum = Decimal(1).scaleb(-scale)
    try:
        q = value.quantize(quantum, context=_context(precision))
    except Inexact:
        return f"{value} has more than {scale} decimal places", value
    except InvalidOperation:
        return f"{value} does not fit decimal({precision},{scale})", value
    return None, (value if value.same_quantum(q) else q)


def _fail(path: str, reason: str) -> NoReturn:
    from .errors import EncodeError
    raise EncodeError(path, reason)


def _type_checker(t: Any, named: dict[str, Any], path: str) -> Callable[[Any], Any] | None:
    """A function checking/normalising one value of Avro type ``t``, or None when fastavro's own
    checks are enough (strings, enums)."""
    if isinstance(t, str):
        t = named.get(t, t)
        if isinstance(t, str):
            if t not in ("int", "long"):
                return None
            t = {"type": t}
    if isinstance(t, list):
        branches = [b for b in t if b != "null"]
        if len(branches) != 1:
            return None
        maybe = _type_checker(branches[0], named, path)
        if maybe is None:
            return None
        branch: Callable[[Any], Any] = maybe  # not None: the lambda below may call it
        return lambda v: None if v is None else branch(v)
    typ, logical = t.get("type"), t.get("logicalType")
    if typ == "record":
        return _record_checker(t, named, path + ".")
    if typ == "array":
        inner = _type_checker(t["items"], named, path)
        if inner is None:
            return None

        from .errors import EncodeError

        def check_array(v: Any) -> Any:
            if not isinstance(v, (list, tuple)):
                _fail(path, f"expected a list, got {type(v).__name__}")
            out, changed = [], False
            for i, x in enumerate(v):
                try:
                    y = inner(x)
                except EncodeError as e:  # name the element: lines[1].amount
                    if e.field and e.field.startswith(path):
                        raise EncodeError(f"{path}[{i}]{e.field[len(path):]}", e.reason) from None
                    raise
                changed |= y is not x
                out.append(y)
            return out if changed else v
        return check_array
    if typ == "bytes" and logical == "decimal":
        precision, scale = t["precision"], t.get("scale", 0)
        quantum, ctx = Decimal(1).scaleb(-scale), _context(precision)

        def check_decimal(v: Any) -> Any:
            if type(v) is not Decimal:
                if isinstance(v, int) and not isinstance(v, bool):
                    v = Decimal(v)
                elif not isinstance(v, Decimal):
                    _fail(path, f"expected Decimal, got {type(v).__name__}")
            try:  # fast path; decimal_problem explains failures
                if not v.is_finite():
                    raise InvalidOperation
                q = v.quantize(quantum, context=ctx)
            except ArithmeticError:
                _fail(path, decimal_problem(v, precision, scale)[0] or "not a decimal")
            return v if v.same_quantum(q) else q
        return check_decimal
    if typ == "long" and logical == "timestamp-millis":
        def check_ts(v: Any) -> Any:
            if not isinstance(v, datetime):
                _fail(path, f"expected datetime, got {type(v).__name__}")
            if v.utcoffset() is None:
                _fail(path, "naive datetime (a timezone is required)")
            return v
        return check_ts
    if typ in ("int", "long") and logical is None:  # fastavro writes any Python int (and bools)
        lo, hi = (-(2**31), 2**31 - 1) if typ == "int" else (-(2**63), 2**63 - 1)

        def check_int(v: Any) -> Any:
            if type(v) is not int and (isinstance(v, bool) or not isinstance(v, int)):
                _fail(path, f"expected an integer, got {type(v).__name__}")
            if not lo <= v <= hi:
                _fail(path, f"{v} is out of range for an Avro {typ}")
            return v
        return check_int
    if typ == "int" and logical == "date":
        def check_date(v: Any) -> Any:
            if not isinstance(v, date) or isinstance(v, datetime):
                _fail(path, f"expected date, got {type(v).__name__}")
            return v
        return check_date
    return None


def _record_checker(t: dict[str, Any], named: dict[str, Any], prefix: str) -> Callable[[Any], Any]:
    checks = []
    for f in t["fields"]:
        fn = _type_checker(f["type"], named, prefix + f["name"])
        if fn is not None:
            checks.append((f["name"], fn, "default" in f))
    where = prefix.rstrip(".") or t["name"]

    def check_record(rec: Any) -> Any:
        if not isinstance(rec, dict):
            _fail(where, f"expected a dict, got {type(rec).__name__}")
        out = None
        for name, fn, optional in checks:
            v = rec.get(name, _MISSING)
            if v is _MISSING:
                if optional:
                    continue
                _fail(prefix + name, "missing required field")
            w = fn(v)
            if w is not v:
                if out is None:
                    out = dict(rec)
                out[name] = w
        return rec if out is None else out
    return check_record
