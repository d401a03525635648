"""Slow-path diagnosis of a Python record that fastavro refused to write: the first offending
field as a path (``lines[1].kind``) and a reason. Used only after an encode failed."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

_INT_RANGE = {"int": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}


def first_problem(parsed: dict[str, Any], record: Any) -> tuple[str, str] | None:
    return _walk(parsed, record, "", parsed.get("__named_schemas", {}))


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _walk(t: Any, v: Any, path: str, named: dict[str, Any]) -> tuple[str, str] | None:
    if isinstance(t, str) and t in named:
        t = named[t]
    if isinstance(t, list):
        if v is None:
            return None if "null" in t else (path, "null is not allowed")
        branches = [b for b in t if b != "null"]
        return _walk(branches[0], v, path, named) if len(branches) == 1 else None
    if isinstance(t, dict):
        typ = t["type"]
        logical = t.get("logicalType")
        if logical == "decimal":
            ok = isinstance(v, (Decimal, int)) and not isinstance(v, bool)
            return None if ok else (path, f"expected Decimal, got {type(v).__name__}")
        if logical == "date":
            ok = isinstance(v, date) and not isinstance(v, datetime)
            return None if ok else (path, f"expected date, got {type(v).__name__}")
        if logical == "timestamp-millis":
            return None if isinstance(v, datetime) else (path, f"expected datetime, got {type(v).__name__}")
        if typ == "record":
            if not isinstance(v, dict):
                return path, f"expected a record (dict), got {type(v).__name__}"
            names = {f["name"] for f in t["fields"]}
            extra = sorted(k for k in v if k not in names)
            if extra:
                return _join(path, str(extra[0])), "unknown field"
            for f in t["fields"]:
                fp = _join(path, f["name"])
                if f["name"] not in v:
                    if "default" in f:
                        continue
                    return fp, "missing required field"
                p = _walk(f["type"], v[f["name"]], fp, named)
                if p:
                    return p
            return None
        if typ == "enum":
            if v in t["symbols"]:
                return None
            return path, f"unknown symbol {v!r} (expected one of {', '.join(t['symbols'])})"
        if typ == "array":
            if not isinstance(v, (list, tuple)):
                return path, f"expected a list, got {type(v).__name__}"
            for i, x in enumerate(v):
                p = _walk(t["items"], x, f"{path}[{i}]", named)
                if p:
                    return p
            return None
        t = typ
    if t == "null":
        return None if v is None else (path, f"expected null, got {type(v).__name__}")
    if v is None:
        return path, "null is not allowed"
    if t == "string":
        return None if isinstance(v, str) else (path, f"expected a string, got {type(v).__name__}")
    if t in _INT_RANGE:
        if not isinstance(v, int) or isinstance(v, bool):
            return path, f"expected an integer, got {type(v).__name__}"
        lo, hi = _INT_RANGE[t]
        return None if lo <= v <= hi else (path, f"{v} is out of range for an Avro {t}")
    if t == "boolean":
        return None if isinstance(v, bool) else (path, f"expected a boolean, got {type(v).__name__}")
    return None
