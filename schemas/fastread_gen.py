"""The code generator of :mod:`schemas.fastread`: Python source of a decoder for one record schema.

Speed: the code is straight-line per field, no function call for a typical field: one-byte varints
(lengths, small ints, union indexes) are read inline (``data[p]``), longer ones by a helper;
strings are one slice + ``decode``; enum symbols come from a 256-entry table indexed by the first
byte; dates, timestamp-millis instants and decimals from the bounded caches of
:mod:`schemas.fastread_runtime`. Truncation inside a string/bytes/fixed value is caught at the
end (the position ends past ``len(data)``), before any record is built.
"""
from __future__ import annotations

import struct
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from .fastread_runtime import (
    EPOCH,
    _bad_count,
    _bad_union,
    _decimal_cache,
    _decimal_miss,
    _end,
    _enum_slow,
    _enum_table,
    _fast_setters,
    _index,
    _span,
    _tables,
    _vl,
    _vz,
)

_PRIMITIVES = frozenset(("null", "boolean", "int", "long", "float", "double", "bytes", "string"))
_NAMED = frozenset(("record", "error", "enum", "fixed"))


class UnsupportedSchema(NotImplementedError):
    """The schema uses an Avro feature this module does not generate code for."""


class _Gen:
    def __init__(self, named: dict[str, Any], classes: Mapping[str, Callable[..., Any]] | None):
        t = _tables()
        self.named = named
        self.classes = classes
        self.ns: dict[str, Any] = {
            "_vz": _vz, "_vl": _vl, "_span": _span, "_enum_slow": _enum_slow, "_bad_union": _bad_union,
            "_bad_count": _bad_count, "_end": _end, "_decimal_miss": _decimal_miss, "_ZZ": t["zz"],
            "_DATES": t["dates"],
            "_DATES3": t["dates3"], "_INSTANTS": t["instants"], "_MILLIS": t["millis"], "_index": _index,
            "_EPOCH": EPOCH,
            "_td": timedelta, "_fb": int.from_bytes,
            "_new": object.__new__, "_range": range, "_tuple": tuple,
            "_unpack_f": struct.Struct("<f").unpack_from, "_unpack_d": struct.Struct("<d").unpack_from,
        }
        self.lines: list[str] = []
        self._consts: dict[Any, str] = {}
        self._n = 0
        self._inlining: list[str] = []

    def fresh(self, prefix: str = "_v") -> str:
        self._n += 1
        return f"{prefix}{self._n}"

    def const(self, value: Any, prefix: str = "_k") -> str:
        key = id(value)
        name = self._consts.get(key)
        if name is None:
            name = self._consts[key] = self.fresh(prefix)
            self.ns[name] = value
        return name

    def emit(self, ind: int, line: str) -> None:
        self.lines.append("    " * ind + line)

    # -------------------------------------------------------------- dispatch

    def resolve(self, t: Any) -> Any:
        if isinstance(t, str) and t not in _PRIMITIVES:
            try:
                return self.named[t]
            except KeyError:
                raise UnsupportedSchema(f"unknown named type {t!r}") from None
        return t

    def read(self, t: Any, dst: str, ind: int) -> None:
        """Code reading a value of type ``t`` at ``data[p]`` into local ``dst``, advancing ``p``."""
        t = self.resolve(t)
        if isinstance(t, list):
            return self.union(t, dst, ind)
        if isinstance(t, str):
            return self.primitive(t, None, t, dst, ind)
        typ = t.get("type")
        if isinstance(typ, (dict, list)) or (isinstance(typ, str) and typ not in _PRIMITIVES and typ not in _NAMED
                                             and typ not in ("array", "map")):
            return self.read(typ, dst, ind)
        if typ in ("record", "error"):
            return self.record(t, dst, ind)
        if typ == "enum":
            return self.enum(t, dst, ind)
        if typ == "array":
            return self.array(t, dst, ind)
        if typ == "map":
            return self.map(t, dst, ind)
        if typ == "fixed":
            return self.fixed(t, dst, ind)
        return self.primitive(typ, t.get("logicalType"), t, dst, ind)

    def min_size(self, t: Any, seen: tuple[str, ...] = ()) -> int:
        """Fewest bytes a value of type ``t`` takes."""
        t = self.resolve(t)
        if isinstance(t, list):
            return 1
        if isinstance(t, str):
            return {"null": 0, "float": 4, "double": 8}.get(t, 1)
        typ = t.get("type")
        if isinstance(typ, (dict, list)) or (isinstance(typ, str) and typ not in _PRIMITIVES and typ not in _NAMED
                                             and typ not in ("array", "map")):
            return self.min_size(typ, seen)
        if typ in ("record", "error"):
            if t["name"] in seen:
                return 0
            return sum(self.min_size(f["type"], seen + (t["name"],)) for f in t["fields"])
        if typ == "fixed":
            size: int = t["size"]
            return size
        if typ in ("enum", "array", "map"):
            return 1
        return self.min_size(typ, seen)

    # -------------------------------------------------------------- primitives

    def varint(self, z: str, ind: int) -> None:
        """Unsigned (zigzag) varint into ``z``."""
        self.emit(ind, f"{z} = data[p]; p += 1")
        self.emit(ind, f"if {z} > 127: {z}, p = _vz(data, p, {z})")

    def long(self, dst: str, ind: int) -> None:
        """Signed long into ``dst``."""
        self.emit(ind, f"{dst} = data[p]; p += 1")
        self.emit(ind, f"if {dst} < 128: {dst} = _ZZ[{dst}]")
        self.emit(ind, f"else: {dst}, p = _vl(data, p, {dst})")

    def span(self, end: str, ind: int) -> None:
        """Start (left in ``p``) and ``end`` of a length-prefixed value; a first byte with bit 0 or 7
        set (negative or multi-byte length) goes to the helper."""
        z = self.fresh("_z")
        self.emit(ind, f"{z} = data[p]")
        self.emit(ind, f"if {z} & 129: p, {end} = _span(data, p)")
        self.emit(ind, f"else: p += 1; {end} = p + ({z} >> 1)")

    def primitive(self, typ: str, logical: str | None, t: Any, dst: str, ind: int) -> None:
        if typ == "null":
            self.emit(ind, f"{dst} = None")
            return
        if typ == "boolean":
            self.emit(ind, f"{dst} = data[p] != 0; p += 1")
            return
        if typ in ("int", "long"):
            if typ == "int" and logical == "date":
                # 3-byte varints (1992-06-05 .. 4840) straight from their bytes; others: varint + cache
                z = self.fresh("_z")
                self.emit(ind, f"{dst} = _DATES3[data[p:p + 3]]")
                self.emit(ind, f"if {dst} is None:")
                self.varint(z, ind + 1)
                self.emit(ind + 1, f"{dst} = _DATES[{z}]")
                self.emit(ind, "else: p += 3")
                return
            if typ == "long" and logical == "timestamp-millis":
                # 6-byte varints of instants >= 0 (1970-01-02 .. 2039-09-07) from their bytes: bytes 2-5
                # from a cache (8.192 s buckets, filled from 17.5-minute ones), bytes 0-1 (0..8191 ms)
                # from a table; others (and negative values: odd zigzag) by exact arithmetic
                x = self.fresh("_x")
                self.emit(ind, f"{x} = _fb(data[p:p + 6], 'little')")
                self.emit(ind, f"if {x} & 0x808080808081 == 0x008080808080:")
                self.emit(ind + 1, f"{dst} = _INSTANTS[{x} >> 16] + _MILLIS[({x} & 127) >> 1 | {x} >> 2 & 8128]")
                self.emit(ind + 1, "p += 6")
                self.emit(ind, "else:")
                self.long(dst, ind + 1)
                self.emit(ind + 1, f"{dst} = _EPOCH + _td(0, 0, 0, {dst})")
                return
            if typ == "long" and logical == "timestamp-micros":
                self.long(dst, ind)
                self.emit(ind, f"{dst} = _EPOCH + _td(0, 0, {dst})")
                return
            self.long(dst, ind)
            return self.other_logical(typ, logical, t, dst, ind)
        if typ == "float":
            self.emit(ind, f"{dst}, = _unpack_f(data, p); p += 4")
            return self.other_logical(typ, logical, t, dst, ind)
        if typ == "double":
            self.emit(ind, f"{dst}, = _unpack_d(data, p); p += 8")
            return self.other_logical(typ, logical, t, dst, ind)
        if typ == "string":
            e = self.fresh("_e")
            self.span(e, ind)
            self.emit(ind, f"{dst} = data[p:{e}].decode(); p = {e}")
            if logical == "uuid":
                self.ns["_UUID"] = __import__("uuid").UUID
                self.emit(ind, f"{dst} = _UUID({dst})")
                return
            return self.other_logical(typ, logical, t, dst, ind)
        if typ == "bytes":
            e = self.fresh("_e")
            self.span(e, ind)
            if logical == "decimal":
                self.decimal(t, f"data[p:{e}]", dst, ind)
                self.emit(ind, f"p = {e}")
                return
            self.emit(ind, f"{dst} = data[p:{e}]; p = {e}")
            return self.other_logical(typ, logical, t, dst, ind)
        raise UnsupportedSchema(f"type {typ!r}")

    def decimal(self, t: dict[str, Any], raw: str, dst: str, ind: int) -> None:
        """Decimal of the bytes ``raw`` (an expression) into ``dst``: from its cache, else computed."""
        if "precision" not in t:
            raise UnsupportedSchema("decimal without precision")
        cache = self.const(_decimal_cache(t["precision"], t.get("scale", 0)), "_DEC")
        k = self.fresh("_b")
        self.emit(ind, f"{k} = {raw}")
        self.emit(ind, f"{dst} = {cache}.get({k})")
        self.emit(ind, f"if {dst} is None: {dst} = _decimal_miss({cache}, {k})")

    def other_logical(self, typ: str, logical: str | None, t: Any, dst: str, ind: int) -> None:
        """Logical types without a specialised reader: fastavro's own reader (unknown ones: none)."""
        if logical is None:
            return
        from fastavro.read import LOGICAL_READERS
        fn = LOGICAL_READERS.get(f"{typ}-{logical}")
        if fn is None:
            return
        f, s = self.const(fn, "_lr"), self.const(t, "_sch")
        self.emit(ind, f"{dst} = {f}({dst}, {s}, None)")

    def fixed(self, t: dict[str, Any], dst: str, ind: int) -> None:
        size = t["size"]
        if t.get("logicalType") == "decimal":
            self.decimal(t, f"data[p:p + {size}]", dst, ind)
            self.emit(ind, f"p += {size}")
            return
        self.emit(ind, f"{dst} = data[p:p + {size}]; p += {size}")
        self.other_logical("fixed", t.get("logicalType"), t, dst, ind)

    def enum(self, t: dict[str, Any], dst: str, ind: int) -> None:
        tab = self.const(_enum_table(t["symbols"]), "_E")
        syms = self.const(tuple(t["symbols"]), "_S")
        self.emit(ind, f"{dst} = {tab}[data[p]]; p += 1")
        self.emit(ind, f"if {dst} is None: {dst}, p = _enum_slow(data, p - 1, {syms}, {t['name']!r})")

    # -------------------------------------------------------------- complex types

    def union(self, t: list[Any], dst: str, ind: int) -> None:
        if not t:
            raise UnsupportedSchema("empty union")
        for b in t:
            if isinstance(self.resolve(b), list):
                raise UnsupportedSchema("union directly inside a union")
        z = self.fresh("_u")
        # non-null branches first: the common case takes one comparison. First on the first byte
        # (a one-byte index, i < 64), then, for anything else, on the whole varint.
        order = [i for i, b in enumerate(t) if b != "null"] + [i for i, b in enumerate(t) if b == "null"]
        self.emit(ind, f"{z} = data[p]")
        self.union_branches(t, [i for i in order if i < 64], z, dst, ind, "p += 1")
        self.emit(ind, "else:")
        self.emit(ind + 1, f"{z}, p = _index(data, p)")
        self.union_branches(t, order, z, dst, ind + 1, None)
        self.emit(ind + 1, "else:")
        self.emit(ind + 2, f"raise _bad_union({z}, {len(t)})")

    def union_branches(self, t: list[Any], order: list[int], z: str, dst: str, ind: int, first: str | None) -> None:
        for k, i in enumerate(order):
            self.emit(ind, f"{'if' if k == 0 else 'elif'} {z} == {i << 1}:")
            if first:
                self.emit(ind + 1, first)
            if t[i] == "null":
                self.emit(ind + 1, f"{dst} = None")
            else:
                self.read(t[i], dst, ind + 1)

    def record(self, t: dict[str, Any], dst: str, ind: int) -> None:
        name = t["name"]
        if name in self._inlining:
            raise UnsupportedSchema(f"recursive record {name}")
        self._inlining.append(name)
        names = [f["name"] for f in t["fields"]]
        values = [self.fresh("_f") for _ in names]
        for f, v in zip(t["fields"], values):
            self.read(f["type"], v, ind)
        self._inlining.pop()
        self.construct(t, names, values, dst, ind)

    def class_for(self, name: str) -> Callable[..., Any] | None:
        if self.classes is None:
            return None
        cls = self.classes.get(name)
        if cls is None:
            cls = self.classes.get(name.rsplit(".", 1)[-1])
        return cls

    def construct(self, t: dict[str, Any], names: list[str], values: list[str], dst: str, ind: int) -> None:
        """Code building the record ``t`` from locals ``values`` into ``dst``."""
        cls = self.class_for(t["name"])
        if cls is None:
            items = ", ".join(f"{k!r}: {v}" for k, v in zip(names, values))
            self.emit(ind, f"{dst} = {{{items}}}")
            return
        c = self.const(cls, "_C")
        setters = _fast_setters(cls, names)
        if setters is None:  # exactly cls(**record)
            items = ", ".join(f"{k!r}: {v}" for k, v in zip(names, values))
            self.emit(ind, f"{dst} = {c}(**{{{items}}})")
            return
        self.emit(ind, f"{dst} = _new({c})")
        for setter, v in zip(setters, values):
            self.emit(ind, f"{self.const(setter, '_set')}({dst}, {v})")

    def blocks(self, min_size: int, ind: int, body: Callable[[int], None]) -> None:
        """The block loop of an array or map whose items take at least ``min_size`` bytes:
        ``body(indent)`` reads one item."""
        c, z = self.fresh("_c"), self.fresh("_z")
        self.long(c, ind)
        self.emit(ind, f"while {c}:")
        self.emit(ind + 1, f"if {c} < 0:")
        self.emit(ind + 2, f"{c} = -{c}")
        self.varint(z, ind + 2)  # block size in bytes: read and ignored, like fastavro
        if min_size:
            self.emit(ind + 1, f"if {c} > n - p: raise _bad_count({c}, n - p)")
        else:  # items of zero bytes: still refuse absurd counts
            self.emit(ind + 1, f"if {c} > 10000000: raise _bad_count({c}, n - p)")
        self.emit(ind + 1, f"for _ in _range({c}):")
        body(ind + 2)
        self.long(c, ind + 1)

    def array(self, t: dict[str, Any], dst: str, ind: int) -> None:
        out, x = self.fresh("_a"), self.fresh("_x")
        self.emit(ind, f"{out} = []")

        def body(i: int) -> None:
            self.read(t["items"], x, i)
            self.emit(i, f"{out}.append({x})")

        self.blocks(self.min_size(t["items"]), ind, body)
        if self.classes is not None:
            self.emit(ind, f"{dst} = _tuple({out})")
        else:
            self.emit(ind, f"{dst} = {out}")

    def map(self, t: dict[str, Any], dst: str, ind: int) -> None:
        out, k, x = self.fresh("_a"), self.fresh("_k"), self.fresh("_x")
        self.emit(ind, f"{out} = {{}}")

        def body(i: int) -> None:
            self.primitive("string", None, "string", k, i)
            self.read(t["values"], x, i)
            self.emit(i, f"{out}[{k}] = {x}")

        self.blocks(1, ind, body)  # the key: at least its length
        self.emit(ind, f"{dst} = {out}")


def generated_source(parsed: dict[str, Any], classes: Mapping[str, Callable[..., Any]] | None = None,
                     ) -> tuple[str, dict[str, Any]]:
    """(Python source of the decoder for ``parsed``, the globals it needs)."""
    if not isinstance(parsed, dict) or parsed.get("type") not in ("record", "error"):
        raise UnsupportedSchema("top-level schema must be a record")
    gen = _Gen(parsed.get("__named_schemas") or {}, classes)
    name = parsed["name"]
    gen._inlining.append(name)
    names = [f["name"] for f in parsed["fields"]]
    values = [gen.fresh("_f") for _ in names]
    for f, v in zip(parsed["fields"], values):
        gen.read(f["type"], v, 1)
    body = gen.lines
    gen.lines = []
    gen.construct(parsed, names, values, "_r", 1)
    src = ["def decode(data, p=0):", "    n = len(data)", *body,
           "    if p != n: raise _end(n, p)", *gen.lines, "    return _r"]
    return "\n".join(src) + "\n", gen.ns
