"""Specialised Avro binary readers, the decoding twin of :mod:`schemas.fastwrite`.

:func:`compile_decoder` turns a fastavro-parsed record schema into a generated Python function
``decode(data, pos=0)`` that reads the Avro binary body starting at ``data[pos]``, which must end
exactly at ``len(data)``, and returns what ``fastavro.schemaless_reader`` returns for it (a dict of
str / int / float / bool / bytes / None / Decimal / date / aware datetime / UUID / list / dict;
enum symbols as str). Given ``classes`` (record name -> callable) it returns domain objects instead
and never builds the intermediate dicts: a record whose name (full, or short without namespace) is
in ``classes`` is built by calling it with its fields, and (domain mode only) every array becomes a
tuple, as the frozen dataclasses of ``processors/model.py`` hold them. Records without a class stay
dicts.

Domain records are built the cheapest exact way: a ``slots`` dataclass whose fields are exactly the
Avro fields in the same order, all ``init``, with the ``__init__`` dataclasses generated and no
``__post_init__``, is allocated with ``object.__new__`` and its slots are set through their
descriptors — what the generated ``__init__`` does, without its per-field ``object.__setattr__``
lookups (half the cost). Any other dataclass or callable is called with keyword arguments,
exactly like ``cls(**record)``.

Validation: everything fastavro refuses raises, with an exception :meth:`Codec.decode_fast` turns
into a DecodeError (see :func:`problem`): truncated input (IndexError, or :class:`CorruptData`
"truncated body"), trailing bytes, invalid UTF-8 (UnicodeDecodeError), dates / timestamps outside
Python's range (ValueError / OverflowError), decimals overflowing the decimal context like
fastavro's. :class:`CorruptData` is raised for what the generated code checks itself: negative
string / bytes lengths, enum index out of range, union index out of range, an array block count
larger than the bytes left (each item takes at least one byte), and varints longer than 64 bits.
Stricter than fastavro 1.13, which accepts them, on purpose: a negative enum index (fastavro reads
``symbols[-n]``), varints over 10 bytes or with bits above 64 (fastavro silently wraps them).
Like fastavro: ``int`` values are not range-checked to 32 bits, any non-zero boolean byte
is True, the byte size after a negative array/map block count is read and ignored, and decimals
are built exactly as fastavro's ``read_decimal`` (``create_decimal`` with ``prec = precision``,
then ``scaleb(-scale)``: digits beyond the precision are rounded half-even, the exponent is
``-scale`` otherwise), so ``==`` and ``str`` agree.

Supported: every primitive type, enum, fixed, record (nested, not recursive), array, map, unions of
any branches, and the logical types date, timestamp-millis, timestamp-micros, decimal (bytes and
fixed), uuid; the other logical types fastavro knows (time-*, local-timestamp-*) call fastavro's own
logical reader, unknown ones read as their base type (as fastavro does). Recursive records raise
:class:`UnsupportedSchema` when compiling.

Speed: the code is straight-line per field, no function call for a typical field: one-byte varints
(lengths, small ints, union indexes) are read inline (``data[p]``), longer ones by a helper;
strings are one slice + ``decode``; enum symbols come from a 256-entry table indexed by the first
byte; 3-byte dates (1992..4840) come from a bounded cache keyed by their bytes; 6-byte
timestamp-millis (1970-01-02..2039-09-07) from a bounded cache keyed by their upper four bytes
(8.192 s buckets) plus a table of the remaining 0..8191 ms; decimals from a bounded cache keyed by
their bytes (amounts repeat). Every cache is cleared when it holds 4096 entries, stores nothing on
an error, and holds immutable values, so a hit returns exactly what a miss computes. Truncation
inside a string/bytes/fixed value is caught at the end (the position ends past ``len(data)``),
before any record is built.

The micro-benchmark is tooling: ``python -m bench.codec_read`` (µs/record of fastavro and of each
Codec decode path).
"""
from __future__ import annotations

import dataclasses
import struct
import threading
import types
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Context, DivisionByZero, InvalidOperation, Overflow
from decimal import Decimal as _Decimal
from typing import Any

__all__ = ["UnsupportedSchema", "CorruptData", "compile_decoder", "decoder", "generated_source", "problem",
           "build", "EPOCH"]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
EPOCH_ORDINAL = 719163  # date(1970, 1, 1).toordinal()

_PRIMITIVES = frozenset(("null", "boolean", "int", "long", "float", "double", "bytes", "string"))
_NAMED = frozenset(("record", "error", "enum", "fixed"))
_CACHE_MAX = 4096  # entries of each value cache (cleared when full)
_from_bytes = int.from_bytes


class UnsupportedSchema(NotImplementedError):
    """The schema uses an Avro feature this module does not generate code for."""


class CorruptData(ValueError):
    """The bytes are not a valid Avro body of the schema (checks made by the generated code)."""


def problem(e: BaseException) -> str:
    """A readable reason for an exception raised by a generated decoder (as Codec.decode words them)."""
    if isinstance(e, CorruptData):
        return str(e)
    if isinstance(e, (IndexError, struct.error, EOFError)):
        return "truncated body"
    if isinstance(e, UnicodeDecodeError):
        return "corrupt body: invalid UTF-8 in a string"
    return f"corrupt or truncated body ({type(e).__name__}: {e})"


# ------------------------------------------------------------------ runtime helpers


def _vz(data, p: int, z: int) -> tuple[int, int]:
    """The rest of a varint whose first byte ``z`` (>= 0x80) preceded ``data[p]``:
    (unsigned value, position after it). At most 10 bytes and 64 bits, else CorruptData."""
    z &= 0x7F
    shift = 7
    while shift < 63:
        b = data[p]
        p += 1
        z |= (b & 0x7F) << shift
        if b < 0x80:
            return z, p
        shift += 7
    b = data[p]  # 10th byte: one bit left
    if b > 1:
        raise CorruptData("corrupt body: varint longer than 64 bits")
    return z | b << 63, p + 1


def _vl(data, p: int, z: int) -> tuple[int, int]:
    """Like :func:`_vz`, zigzag-decoded: (signed long, position after it)."""
    z, p = _vz(data, p, z)
    return (z >> 1) ^ -(z & 1), p


def _span(data, p: int) -> tuple[int, int]:
    """(start, end) of the bytes of a string/bytes value whose length varint starts at ``data[p]``."""
    z = data[p]
    p += 1
    if z > 127:
        z, p = _vz(data, p, z)
    if z & 1:
        raise CorruptData(f"corrupt body: negative length {(z >> 1) ^ -1}")
    return p, p + (z >> 1)


def _index(data, p: int) -> tuple[int, int]:
    """(zigzag varint at ``data[p]``, position after it)."""
    z = data[p]
    if z > 127:
        return _vz(data, p + 1, z)
    return z, p + 1


def _enum_slow(data, p: int, symbols: tuple, name: str) -> tuple[str, int]:
    """Enum whose first byte is not a valid one-byte index (multi-byte varint or out of range)."""
    z = data[p]
    p += 1
    if z > 127:
        z, p = _vz(data, p, z)
    i = (z >> 1) ^ -(z & 1)
    if 0 <= i < len(symbols):
        return symbols[i], p
    raise CorruptData(f"unknown enum symbol: index {i} out of range for {name} "
                      f"({len(symbols)} symbols); body corrupt or written with another schema")


def _bad_union(z: int, n: int) -> CorruptData:
    i = (z >> 1) ^ -(z & 1)
    return CorruptData(f"corrupt body: union branch index {i} out of range ({n} branches)")


def _bad_count(count: int, left: int) -> CorruptData:
    if left < 0:
        return CorruptData("truncated body")
    return CorruptData(f"truncated body: block of {count} items but {left} bytes left")


def _end(n: int, p: int) -> CorruptData:
    if p > n:
        return CorruptData("truncated body")
    return CorruptData(f"{n - p} trailing bytes after the record")


class _Cache(dict):
    """Bounded value cache: key -> value computed by ``make`` on a miss (exceptions propagate and
    nothing is stored); cleared when full. Only keys of at most ``max_key`` bytes are kept."""
    __slots__ = ("make", "max_key")
    make: Callable[[Any], Any]
    max_key: int | None

    def __missing__(self, key):
        v = self.make(key)
        if self.max_key is None or len(key) <= self.max_key:
            if len(self) >= _CACHE_MAX:
                self.clear()
            self[key] = v
        return v


def _cache(make: Callable, max_key: int | None = None) -> _Cache:
    c = _Cache()
    c.make, c.max_key = make, max_key
    return c


_tables_lock = threading.Lock()
_T: dict[str, Any] = {}


def _tables() -> dict[str, Any]:
    """Shared tables and caches (built on the first compile, not at import)."""
    if _T:
        return _T
    with _tables_lock:
        if _T:
            return _T
        zz = tuple((z >> 1) ^ -(z & 1) for z in range(128))

        def make_date(z: int) -> date:  # key: zigzag days since 1970-01-01
            return date.fromordinal(EPOCH_ORDINAL + ((z >> 1) ^ -(z & 1)))

        def make_date3(k: bytes) -> date | None:  # key: 3 bytes; None unless a 3-byte varint
            if len(k) != 3 or k[0] < 128 or k[1] < 128 or k[2] > 127:
                return None
            return make_date((k[0] & 127) | (k[1] & 127) << 7 | k[2] << 14)

        def make_bucket(h: int) -> datetime:
            """Key: bytes 3-5 (little-endian) of a 6-byte timestamp-millis varint: the instant of its
            value with the low 21 zigzag bits (20 bits of milliseconds) zero (17.5-minute buckets)."""
            return EPOCH + timedelta(0, 0, 0, (h & 127) << 20 | (h >> 8 & 127) << 27 | (h >> 16 & 127) << 34)

        buckets = _cache(make_bucket)
        steps = tuple(timedelta(0, 0, 0, i << 13) for i in range(128))  # byte 2: 8.192 s steps

        def make_instant(h: int) -> datetime:
            """Key: bytes 2-5: the same with the low 14 zigzag bits (13 bits of ms) zero (8.192 s)."""
            return buckets[h >> 8] + steps[h & 127]

        _T.update(
            zz=zz, dates=_cache(make_date), dates3=_cache(make_date3, max_key=3), instants=_cache(make_instant),
            buckets=buckets, millis=tuple(timedelta(0, 0, 0, i) for i in range(8192)),  # bytes 0-1: 0..8191 ms
            decimals={},
        )
    return _T


class _DecimalCache(dict):
    """bytes -> Decimal, filled by :func:`_decimal_miss`; ``ctx``: the decimal context, ``lim``:
    10 ** precision, ``exp``: -scale."""
    __slots__ = ("ctx", "lim", "exp")
    ctx: Context
    lim: int
    exp: int


def _decimal_miss(cache: _DecimalCache, key: bytes):
    """The Decimal of the big-endian two's complement integer ``key``, exactly as fastavro's
    read_decimal computes it: ``create_decimal`` at ``prec = precision`` (which only changes integers
    of more digits than the precision: rounded half-even), then ``scaleb(-scale)``. Kept in
    ``cache`` (bounded like :class:`_Cache`) unless ``key`` is over 32 bytes."""
    n = _from_bytes(key, "big", signed=True)
    ctx = cache.ctx
    v = (_Decimal(n) if -cache.lim < n < cache.lim else ctx.create_decimal(n)).scaleb(cache.exp, ctx)
    if len(key) <= 32:
        if len(cache) >= _CACHE_MAX:
            cache.clear()
        cache[key] = v
    return v


def _decimal_cache(precision: int, scale: int) -> _DecimalCache:
    t = _tables()
    key = (precision, scale)
    c = t["decimals"].get(key)
    if c is None:
        c = _DecimalCache()
        c.ctx = Context(prec=precision, rounding=ROUND_HALF_EVEN, Emin=-999999, Emax=999999, capitals=1,
                        clamp=0, flags=[], traps=[InvalidOperation, DivisionByZero, Overflow])
        c.lim, c.exp = 10 ** precision, -scale
        t["decimals"][key] = c
    return c


def _enum_table(symbols: list[str]) -> tuple:
    """symbol for each possible first byte of a one-byte index; None: slow path (multi-byte or invalid)."""
    tab: list[str | None] = [None] * 256
    for i, sym in enumerate(symbols[:64]):
        tab[i << 1] = sym
    return tuple(tab)


def _fast_setters(cls: Any, names: list[str]) -> list | None:
    """The slot descriptors' ``__set__`` (in the order of ``names``) of a dataclass that
    ``cls(**dict(zip(names, values)))`` builds by just setting each field: its fields are exactly
    ``names``, all init, no InitVar, no __post_init__, the generated __init__, slots. None when
    ``cls`` is not such a class (it is then called)."""
    if not isinstance(cls, type) or not dataclasses.is_dataclass(cls):
        return None
    fields = dataclasses.fields(cls)
    if sorted(f.name for f in fields) != sorted(names) or len(set(names)) != len(names) \
            or not all(f.init for f in fields) or len(cls.__dataclass_fields__) != len(fields):
        return None
    params = cls.__dataclass_params__  # type: ignore[attr-defined]  # set by @dataclass, not in typeshed
    if hasattr(cls, "__post_init__") or not params.init:
        return None
    init = cls.__dict__.get("__init__")
    code = getattr(init, "__code__", None)
    if code is None or code.co_filename != "<string>" \
            or getattr(init, "__qualname__", None) != f"{cls.__qualname__}.__init__":
        return None  # a hand-written __init__
    if cls.__new__ is not object.__new__:
        return None
    setters = []
    for name in names:
        d = getattr(cls, name, None)
        if not isinstance(d, types.MemberDescriptorType):
            return None
        setters.append(d.__set__)
    return setters


# ------------------------------------------------------------------ code generation


class _Gen:
    def __init__(self, named: dict, classes: Mapping[str, Callable] | None):
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

    def min_size(self, t: Any, seen: tuple = ()) -> int:
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
            return t["size"]
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

    def decimal(self, t: dict, raw: str, dst: str, ind: int) -> None:
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

    def fixed(self, t: dict, dst: str, ind: int) -> None:
        size = t["size"]
        if t.get("logicalType") == "decimal":
            self.decimal(t, f"data[p:p + {size}]", dst, ind)
            self.emit(ind, f"p += {size}")
            return
        self.emit(ind, f"{dst} = data[p:p + {size}]; p += {size}")
        self.other_logical("fixed", t.get("logicalType"), t, dst, ind)

    def enum(self, t: dict, dst: str, ind: int) -> None:
        tab = self.const(_enum_table(t["symbols"]), "_E")
        syms = self.const(tuple(t["symbols"]), "_S")
        self.emit(ind, f"{dst} = {tab}[data[p]]; p += 1")
        self.emit(ind, f"if {dst} is None: {dst}, p = _enum_slow(data, p - 1, {syms}, {t['name']!r})")

    # -------------------------------------------------------------- complex types

    def union(self, t: list, dst: str, ind: int) -> None:
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

    def union_branches(self, t: list, order: list[int], z: str, dst: str, ind: int, first: str | None) -> None:
        for k, i in enumerate(order):
            self.emit(ind, f"{'if' if k == 0 else 'elif'} {z} == {i << 1}:")
            if first:
                self.emit(ind + 1, first)
            if t[i] == "null":
                self.emit(ind + 1, f"{dst} = None")
            else:
                self.read(t[i], dst, ind + 1)

    def record(self, t: dict, dst: str, ind: int) -> None:
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

    def class_for(self, name: str):
        if self.classes is None:
            return None
        cls = self.classes.get(name)
        if cls is None:
            cls = self.classes.get(name.rsplit(".", 1)[-1])
        return cls

    def construct(self, t: dict, names: list[str], values: list[str], dst: str, ind: int) -> None:
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

    def array(self, t: dict, dst: str, ind: int) -> None:
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

    def map(self, t: dict, dst: str, ind: int) -> None:
        out, k, x = self.fresh("_a"), self.fresh("_k"), self.fresh("_x")
        self.emit(ind, f"{out} = {{}}")

        def body(i: int) -> None:
            self.primitive("string", None, "string", k, i)
            self.read(t["values"], x, i)
            self.emit(i, f"{out}[{k}] = {x}")

        self.blocks(1, ind, body)  # the key: at least its length
        self.emit(ind, f"{dst} = {out}")


def generated_source(parsed: dict, classes: Mapping[str, Callable] | None = None) -> tuple[str, dict[str, Any]]:
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


def compile_decoder(parsed: dict, classes: Mapping[str, Callable] | None = None) -> Callable[..., Any]:
    """``decode(data, pos=0)`` for the fastavro-parsed record schema ``parsed``: the record whose Avro
    binary body is ``data[pos:]`` (a dict, or with ``classes`` the domain object). ``classes`` is
    read when compiling."""
    source, ns = generated_source(parsed, classes)
    name = str(parsed.get("name", "record"))
    code = compile(source, f"<fastread {name}>", "exec")
    exec(code, ns)
    fn = ns["decode"]
    fn.__qualname__ = fn.__name__ = f"decode_{name.rsplit('.', 1)[-1]}"
    fn.__doc__ = f"The {name} of an Avro binary body (generated by schemas.fastread)."
    fn.source = source  # for debugging
    return fn


_DECODERS: dict[str, Callable[..., Any]] = {}


def decoder(schema) -> Callable[..., dict]:
    """The (cached) dict decoder of a :class:`schemas.catalog.Schema`."""
    fn = _DECODERS.get(schema.text)
    if fn is None:
        fn = _DECODERS[schema.text] = compile_decoder(schema.parsed)
    return fn


# ------------------------------------------------------------------ dicts -> domain objects (slow path)


def build(parsed: Any, value: Any, classes: Mapping[str, Callable]) -> Any:
    """The domain object of ``value``, a fastavro-decoded value of type ``parsed``, built like the
    generated domain decoders do (records in ``classes`` -> cls(**fields), arrays -> tuples). For
    records decoded with schema resolution, where no generated decoder applies."""
    named = parsed.get("__named_schemas", {}) if isinstance(parsed, dict) else {}

    def conv(t: Any, v: Any) -> Any:
        if isinstance(t, str) and t not in _PRIMITIVES:
            t = named.get(t, t)
        if isinstance(t, list):
            if v is None:
                return None
            for b in t:
                bt = named.get(b, b) if isinstance(b, str) else b
                kind = bt.get("type") if isinstance(bt, dict) else bt
                if kind in ("record", "error") and isinstance(v, dict) or kind == "array" and isinstance(v, list) \
                        or kind == "map" and isinstance(v, dict):
                    return conv(bt, v)
            return v
        if not isinstance(t, dict):
            return v
        kind = t.get("type")
        if isinstance(kind, (dict, list)):
            return conv(kind, v)
        if kind in ("record", "error"):
            fields = {f["name"]: conv(f["type"], v[f["name"]]) for f in t["fields"] if f["name"] in v}
            cls = classes.get(t["name"]) or classes.get(t["name"].rsplit(".", 1)[-1])
            return fields if cls is None else cls(**fields)
        if kind == "array":
            return tuple(conv(t["items"], x) for x in v)
        if kind == "map":
            return {k: conv(t["values"], x) for k, x in v.items()}
        return v

    return conv(parsed, value)
