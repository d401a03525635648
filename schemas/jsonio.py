"""JSON <-> Avro-record conversion, used by ``harmony publish`` (JSON lines in) and for printing.

``from_json`` turns a parsed JSON object into the Python record the codec encodes, validating it
against the schema; every problem is a :class:`RecordError` with the path of the offending value
(``lines[1].amount: not a decimal``). JSON conventions:

* decimals: strings (``"1234.50"``) or numbers (converted via ``str()``, so ``12.34`` is exact);
  never rounded — more decimal places than the schema's scale is an error;
* dates: ``"YYYY-MM-DD"``;
* timestamps: ISO-8601 with a UTC offset (``2026-03-01T09:30:00+09:00`` or ``...Z``); naive
  timestamps are refused; the result is UTC, truncated to milliseconds (Avro timestamp-millis);
* nullable fields may be omitted (null); unknown fields are refused.

``to_json`` does the reverse for printing: Decimal -> string, date/datetime -> ISO-8601.
"""
from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any

from . import catalog
from .errors import RecordError

__all__ = ["from_json", "to_json", "RecordError"]

_DECIMAL_RE = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_INT_RANGE = {"int": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}


def _schema(name: str) -> catalog.Schema:
    s = catalog.get(name)
    if s is None:
        raise RecordError("", f"unknown record type {name!r} (known: {', '.join(sorted(catalog.load()))})")
    return s


def from_json(name: str, obj: Any) -> dict[str, Any]:
    """Validate a JSON object as a ``name`` record and convert it to codec values."""
    s = _schema(name)
    record: dict[str, Any] = _convert(s.parsed, obj, "", s.parsed["__named_schemas"])
    return record


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _kind(v: Any) -> str:
    if v is None:
        return "null"
    return {bool: "boolean", int: "number", float: "number", str: "string",
            list: "array", dict: "object"}.get(type(v), type(v).__name__)


def _convert(t: Any, v: Any, path: str, named: dict[str, Any]) -> Any:
    if isinstance(t, str) and t in named:
        t = named[t]
    if isinstance(t, list):  # unions: only ["null", T] are used
        if v is None:
            if "null" in t:
                return None
            raise RecordError(path, "must not be null")
        branches = [b for b in t if b != "null"]
        if len(branches) != 1:
            raise RecordError(path, "unsupported union")
        return _convert(branches[0], v, path, named)
    if v is None:
        raise RecordError(path, "must not be null")
    if isinstance(t, dict):
        logical = t.get("logicalType")
        if logical == "decimal":
            return _decimal(v, path, t["precision"], t.get("scale", 0))
        if logical == "date":
            return _date(v, path)
        if logical == "timestamp-millis":
            return _timestamp(v, path)
        typ = t["type"]
        if typ == "record":
            return _record(t, v, path, named)
        if typ == "enum":
            if isinstance(v, str) and v in t["symbols"]:
                return v
            shown = repr(v) if isinstance(v, str) else f"a {_kind(v)}"
            raise RecordError(path, f"{shown} is not one of {', '.join(t['symbols'])}")
        if typ == "array":
            if not isinstance(v, list):
                raise RecordError(path, f"expected an array, got {_kind(v)}")
            return [_convert(t["items"], x, f"{path}[{i}]", named) for i, x in enumerate(v)]
        t = typ
    if t == "string":
        if not isinstance(v, str):
            raise RecordError(path, f"expected a string, got {_kind(v)}")
        return v
    if t in _INT_RANGE:
        if not isinstance(v, int) or isinstance(v, bool):
            raise RecordError(path, f"expected an integer, got {_kind(v)}")
        lo, hi = _INT_RANGE[t]
        if not lo <= v <= hi:
            raise RecordError(path, f"{v} is out of range")
        return v
    if t == "boolean":
        if not isinstance(v, bool):
            raise RecordError(path, f"expected true or false, got {_kind(v)}")
        return v
    raise RecordError(path, f"unsupported Avro type {t!r}")


def _record(t: dict[str, Any], v: Any, path: str, named: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(v, dict):
        raise RecordError(path, f"expected an object, got {_kind(v)}")
    fields = t["fields"]
    known = {f["name"] for f in fields}
    for key in v:
        if key not in known:
            raise RecordError(_join(path, str(key)), "unknown field")
    out = {}
    for f in fields:
        fname, fpath = f["name"], _join(path, f["name"])
        if fname not in v:
            if "default" not in f:
                raise RecordError(fpath, "missing required field")
            out[fname] = f["default"]
            continue
        out[fname] = _convert(f["type"], v[fname], fpath, named)
    return out


def _decimal(v: Any, path: str, precision: int, scale: int) -> Decimal:
    if isinstance(v, bool) or not isinstance(v, (str, int, float)):
        raise RecordError(path, f"not a decimal (got {_kind(v)})")
    if isinstance(v, float):
        if not math.isfinite(v):
            raise RecordError(path, "not a decimal (not finite)")
        v = str(v)
    if isinstance(v, str):
        text = v.strip()
        if not _DECIMAL_RE.fullmatch(text):
            raise RecordError(path, f"not a decimal: {v!r}")
        try:
            d = Decimal(text)
        except InvalidOperation:
            raise RecordError(path, f"not a decimal: {v!r}") from None
    else:
        d = Decimal(v)
    reason, d = catalog.decimal_problem(d, precision, scale)
    if reason:
        raise RecordError(path, reason)
    return d


def _date(v: Any, path: str) -> date:
    if not isinstance(v, str) or not _DATE_RE.fullmatch(v):
        raise RecordError(path, f"not a date (YYYY-MM-DD): {v!r}")
    try:
        return date.fromisoformat(v)
    except ValueError:
        raise RecordError(path, f"not a valid date: {v!r}") from None


def _timestamp(v: Any, path: str) -> datetime:
    if not isinstance(v, str):
        raise RecordError(path, f"not a timestamp (ISO-8601 string expected), got {_kind(v)}")
    try:
        ts = datetime.fromisoformat(v.strip())
    except ValueError:
        raise RecordError(path, f"not an ISO-8601 timestamp: {v!r}") from None
    if ts.utcoffset() is None:
        raise RecordError(path, f"timestamp without UTC offset: {v!r} (add Z or +09:00)")
    try:
        ts = ts.astimezone(UTC)
    except (OverflowError, ValueError):
        raise RecordError(path, f"timestamp out of range: {v!r}") from None
    return ts.replace(microsecond=ts.microsecond // 1000 * 1000)


def to_json(name: str, record: dict[str, Any]) -> dict[str, Any]:
    """A JSON-serialisable copy of a record: Decimal -> string, date/datetime -> ISO-8601."""
    _schema(name)
    plain: dict[str, Any] = _plain(record)
    return plain


def _plain(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, Decimal):
        return format(v, "f")
    if isinstance(v, (date, datetime)):  # datetime: isoformat keeps the offset (+00:00)
        return v.isoformat()
    if isinstance(v, Enum):
        return _plain(v.value)
    return v
