"""The code generator of :mod:`schemas.fastwrite`: Python source of an encoder for one record schema.

The generated code is straight-line: every piece of the output is an expression collected into one
tuple joined at the end (no BytesIO, no per-piece method calls); varints, length prefixes, dates
and enum symbols come from the tables of :mod:`schemas.fastwrite_runtime`.
"""
from __future__ import annotations

import struct
from io import BytesIO
from typing import Any

from .fastwrite_runtime import (
    _LEN_TABLE,
    _MISSING,
    _SMALL,
    EPOCH,
    _date_cache,
    _decimal_error,
    _EnumTable,
    _fixed_error,
    _len_table,
    _tables,
    _varint,
    _zigzag,
)

_PRIMITIVES = frozenset(("null", "boolean", "int", "long", "float", "double", "bytes", "string"))
_UNSUPPORTED_LOGICAL = {
    ("fixed", "decimal"), ("int", "time-millis"), ("long", "time-micros"),
    ("long", "local-timestamp-millis"), ("long", "local-timestamp-micros"),
}


class UnsupportedSchema(NotImplementedError):
    """The schema uses an Avro feature this module does not generate code for."""


class _Block:
    """Lines of code at one indentation and the byte pieces they produce (expressions)."""

    def __init__(self, indent: int):
        self.indent = indent
        self.lines: list[str] = []
        self.pieces: list[str] = []

    def emit(self, line: str, extra: int = 0) -> None:
        self.lines.append("    " * (self.indent + extra) + line)

    def child(self, extra: int = 1) -> _Block:
        return _Block(self.indent + extra)


class _Gen:
    def __init__(self, named: dict[str, Any]):
        t = _tables()
        self.named = named
        self.ns: dict[str, Any] = {
            "_j": b"".join, "_F": t["F"], "_C": t["C"], "_uv64": t["uv64"], "_uv32": t["uv32"], "_EPOCH": EPOCH,
            "_MISSING": _MISSING, "_decimal_error": _decimal_error, "_fixed_error": _fixed_error,
            "_pack_f": struct.Struct("<f").pack, "_pack_d": struct.Struct("<d").pack,
        }
        self._consts: dict[Any, str] = {}
        self._n = 0
        self._inlining: list[str] = []

    def fresh(self, prefix: str = "_v") -> str:
        self._n += 1
        return f"{prefix}{self._n}"

    def const(self, value: Any, prefix: str = "_k") -> str:
        key = (type(value), value) if isinstance(value, (bytes, int, str)) else id(value)
        name = self._consts.get(key)
        if name is None:
            name = self._consts[key] = self.fresh(prefix)
            self.ns[name] = value
        return name

    def lit(self, b: bytes) -> str:
        return repr(b)

    # -------------------------------------------------------------- dispatch

    def resolve(self, t: Any) -> Any:
        if isinstance(t, str) and t not in _PRIMITIVES:
            try:
                return self.named[t]
            except KeyError:
                raise UnsupportedSchema(f"unknown named type {t!r}") from None
        return t

    def gen(self, t: Any, src: str, blk: _Block, idx: bytes | None = None) -> None:
        """Code writing value ``src`` (an expression evaluated exactly once) of type ``t`` into
        ``blk``; ``idx`` is a union branch index to write first."""
        t = self.resolve(t)
        if isinstance(t, list):
            if idx is not None:
                raise UnsupportedSchema("union directly inside a union")
            return self.union(t, src, blk)
        if isinstance(t, str):
            return self.primitive(t, None, t, src, blk, idx)
        typ = t.get("type")
        if isinstance(typ, (dict, list)) or (isinstance(typ, str) and typ not in _PRIMITIVES
                                             and typ not in ("record", "error", "enum", "array", "map", "fixed")):
            return self.gen(typ, src, blk, idx)
        if typ in ("record", "error"):
            return self.record(t, src, blk, idx)
        if typ == "enum":
            return self.enum(t, src, blk, idx)
        if typ == "array":
            return self.array(t, src, blk, idx)
        if typ == "map":
            return self.map(t, src, blk, idx)
        if typ == "fixed":
            if (typ, t.get("logicalType")) in _UNSUPPORTED_LOGICAL:
                raise UnsupportedSchema(f"logical type {t.get('logicalType')} on fixed")
            return self.fixed(t, src, blk, idx)
        return self.primitive(typ, t.get("logicalType"), t, src, blk, idx)

    def lead(self, blk: _Block, idx: bytes | None) -> None:
        if idx is not None:
            blk.pieces.append(self.lit(idx))

    # -------------------------------------------------------------- primitives

    def length_prefix(self, n: str, idx: bytes | None) -> str:
        prefix = idx or b""
        tab = self.const(_len_table(prefix), "_L")
        slow = f"_uv64({n} << 1)" if not prefix else f"{self.lit(prefix)} + _uv64({n} << 1)"
        return f"({tab}[{n}] if {n} < {_LEN_TABLE} else {slow})"

    def primitive(self, typ: str, logical: str | None, t: Any, src: str, blk: _Block, idx: bytes | None) -> None:
        if (typ, logical) in _UNSUPPORTED_LOGICAL:
            raise UnsupportedSchema(f"logical type {logical} on {typ}")
        if typ == "null":
            self.lead(blk, idx)  # null writes nothing
            return
        if typ == "string":
            s, n = self.fresh("_s"), self.fresh("_n")
            if logical == "uuid":  # fastavro writes str(UUID) for uuid.UUID values
                blk.emit(f"{s} = {src}")
                blk.emit(f"{s} = ({s} if type({s}) is str else str({s})).encode()")
            else:
                blk.emit(f"{s} = {src}.encode()")
            blk.emit(f"{n} = len({s})")
            blk.pieces += [self.length_prefix(n, idx), s]
            return
        if typ == "bytes":
            if logical == "decimal":
                return self.decimal(t, src, blk, idx)
            s, n = self.fresh("_s"), self.fresh("_n")
            blk.emit(f"{s} = {src}")
            blk.emit(f"{n} = len({s})")
            blk.pieces += [self.length_prefix(n, idx), s]
            return
        if typ in ("int", "long"):
            bits, uv = (31, "_uv32") if typ == "int" else (63, "_uv64")
            z = self.fresh("_z")
            if typ == "int" and logical == "date":  # few distinct dates: cached encodings
                blk.pieces.append(f"{self.const(_date_cache(idx or b''), '_D')}[{src}]")
                return
            self.lead(blk, idx)
            if typ == "long" and logical in ("timestamp-millis", "timestamp-micros"):
                d = self.fresh("_d")
                blk.emit(f"{d} = {src} - _EPOCH")  # exact: aware datetime minus aware epoch
                if logical == "timestamp-millis":
                    blk.emit(f"{z} = ({d}.days * 86400 + {d}.seconds) * 1000 + {d}.microseconds // 1000")
                else:
                    blk.emit(f"{z} = ({d}.days * 86400 + {d}.seconds) * 1000000 + {d}.microseconds")
                blk.emit(f"{z} = ({z} << 1) ^ ({z} >> 63)")
                # 1970-01-02 .. 2039-09-07 (millis) are 5-6 byte varints: three pieces, no concatenation
                p = [self.fresh("_p") for _ in range(3)]
                blk.emit(f"if 268435456 <= {z} < 4398046511104:")
                blk.emit(f"{p[0]} = _C[{z} & 16383]; {p[1]} = _C[{z} >> 14 & 16383]; {p[2]} = _F[{z} >> 28]", 1)
                blk.emit("else:")
                blk.emit(f"{p[0]} = _uv64({z}); {p[1]} = {p[2]} = b''", 1)
                blk.pieces += p
                return
            blk.emit(f"{z} = {src}")
            blk.emit(f"{z} = ({z} << 1) ^ ({z} >> {bits})")
            blk.pieces.append(f"(_F[{z}] if {z} < {_SMALL} else {uv}({z}))")
            return
        if typ == "boolean":
            true, false = self.lit((idx or b"") + b"\x01"), self.lit((idx or b"") + b"\x00")
            blk.pieces.append(f"({true} if {src} else {false})")
            return
        if typ in ("float", "double"):
            self.lead(blk, idx)
            blk.pieces.append(f"{'_pack_f' if typ == 'float' else '_pack_d'}({src})")
            return
        raise UnsupportedSchema(f"type {typ!r}")

    def decimal(self, t: dict[str, Any], src: str, blk: _Block, idx: bytes | None) -> None:
        precision, scale = t["precision"], t.get("scale", 0)
        v, a, b, n, r, s = (self.fresh(p) for p in ("_v", "_a", "_b", "_i", "_r", "_s"))
        lim = 10 ** precision
        blk.emit(f"{v} = {src}")
        blk.emit("try:")
        blk.emit(f"{a}, {b} = {v}.as_integer_ratio()", 1)  # exact; Decimal, int
        blk.emit("except (ValueError, OverflowError, AttributeError):")  # NaN, Infinity, not a number
        blk.emit(f"raise _decimal_error({v}, {precision}, {scale}) from None", 1)
        blk.emit(f"{n}, {r} = divmod({a} * {10 ** scale}, {b})")
        blk.emit(f"if {r} or not -{lim} < {n} < {lim}:")
        blk.emit(f"raise _decimal_error({v}, {precision}, {scale}) from None", 1)
        # unscaled integer, big-endian two's complement, (magnitude bits + 8) // 8 bytes like fastavro
        blk.emit(f"{s} = {n}.to_bytes(({n}.bit_length() + 8) >> 3, 'big', signed=True)")
        ln = self.fresh("_n")
        blk.emit(f"{ln} = len({s})")
        blk.pieces += [self.length_prefix(ln, idx), s]

    def fixed(self, t: dict[str, Any], src: str, blk: _Block, idx: bytes | None) -> None:
        s = self.fresh("_s")
        self.lead(blk, idx)
        blk.emit(f"{s} = {src}")
        blk.emit(f"if len({s}) != {t['size']}:")
        blk.emit(f"raise _fixed_error({s}, {t['size']}, {t['name']!r})", 1)
        blk.pieces.append(s)

    def enum(self, t: dict[str, Any], src: str, blk: _Block, idx: bytes | None) -> None:
        tab = _EnumTable({sym: (idx or b"") + _varint(_zigzag(i)) for i, sym in enumerate(t["symbols"])})
        tab.type_name, tab.symbols = t["name"], tuple(t["symbols"])
        blk.pieces.append(f"{self.const(tab, '_E')}[{src}]")

    # -------------------------------------------------------------- complex types

    def union(self, t: list[Any], src: str, blk: _Block) -> None:
        others = [(i, b) for i, b in enumerate(t) if b != "null"]
        null_at = t.index("null") if "null" in t else None
        if len(others) > 1:
            raise UnsupportedSchema(f"union with several non-null branches: {t}")
        if not others:  # ["null"]
            blk.pieces.append(self.lit(_varint(_zigzag(t.index("null")))))
            return
        i, branch = others[0]
        if null_at is None:
            return self.gen(branch, src, blk, _varint(_zigzag(i)))
        v = self.fresh("_u")
        blk.emit(f"{v} = {src}")
        inner = blk.child()
        self.gen(branch, v, inner, _varint(_zigzag(i)))
        self.branch_pieces(blk, f"{v} is None", [self.lit(_varint(_zigzag(null_at)))], inner)

    def branch_pieces(self, blk: _Block, cond: str, if_pieces: list[str], other: _Block) -> None:
        """Pieces that are ``if_pieces`` when ``cond`` holds, else the code and pieces of ``other``
        (an already generated block one level deeper); shorter lists are padded with b''."""
        k = max(len(if_pieces), len(other.pieces))
        names = [self.fresh("_p") for _ in range(k)]
        blk.emit(f"if {cond}:")
        for name, p in zip(names, if_pieces + ["b''"] * (k - len(if_pieces))):
            blk.emit(f"{name} = {p}", 1)
        blk.emit("else:")
        blk.lines += other.lines
        for name, p in zip(names, other.pieces + ["b''"] * (k - len(other.pieces))):
            blk.emit(f"{name} = {p}", 1)
        blk.pieces += names

    def record(self, t: dict[str, Any], src: str, blk: _Block, idx: bytes | None) -> None:
        name = t["name"]
        if name in self._inlining:
            raise UnsupportedSchema(f"recursive record {name}")
        self._inlining.append(name)
        self.lead(blk, idx)
        r = self.fresh("_r")
        blk.emit(f"{r} = {src}")
        for f in t["fields"]:
            key = repr(f["name"])
            if "default" not in f:
                self.gen(f["type"], f"{r}[{key}]", blk)
            elif f["default"] is None and self._null_first(f["type"]):
                self.gen(f["type"], f"{r}.get({key})", blk)
            else:  # missing: write the default exactly as fastavro does
                v = self.fresh("_m")
                blk.emit(f"{v} = {r}.get({key}, _MISSING)")
                inner = blk.child()
                self.gen(f["type"], v, inner)
                default = self.lit(self.default_bytes(f))
                self.branch_pieces(blk, f"{v} is _MISSING", [default], inner)
        self._inlining.pop()

    def _null_first(self, t: Any) -> bool:
        t = self.resolve(t)
        return isinstance(t, list) and bool(t) and t[0] == "null"

    def default_bytes(self, field: dict[str, Any]) -> bytes:
        import fastavro
        from fastavro import schemaless_writer
        wrapper = {"type": "record", "name": "__fastwrite_default", "fields": [field]}
        named = {k: v for k, v in self.named.items()}
        try:
            parsed = fastavro.parse_schema(wrapper, named_schemas=named)
        except Exception:  # field type defines named types already in ``named``: parse alone
            parsed = fastavro.parse_schema(wrapper, named_schemas={})
        buf = BytesIO()
        schemaless_writer(buf, parsed, {})
        return buf.getvalue()

    def array(self, t: dict[str, Any], src: str, blk: _Block, idx: bytes | None) -> None:
        self.lead(blk, idx)
        a, out, x, res = self.fresh("_a"), self.fresh("_o"), self.fresh("_x"), self.fresh("_p")
        blk.emit(f"{a} = {src}")
        blk.emit(f"if {a}:")
        blk.emit(f"{out} = [_uv64(len({a}) << 1)]", 1)
        item = blk.child(2)
        self.gen(t["items"], x, item)
        self.loop(blk, f"for {x} in {a}:", out, item)
        blk.emit(f"{out}.append(b'\\x00')", 1)
        blk.emit(f"{res} = _j({out})", 1)
        blk.emit("else:")
        blk.emit(f"{res} = b'\\x00'", 1)
        blk.pieces.append(res)

    def map(self, t: dict[str, Any], src: str, blk: _Block, idx: bytes | None) -> None:
        self.lead(blk, idx)
        a, out, k, x, res = (self.fresh(p) for p in ("_a", "_o", "_k", "_x", "_p"))
        blk.emit(f"{a} = {src}")
        blk.emit(f"if {a}:")
        blk.emit(f"{out} = [_uv64(len({a}) << 1)]", 1)
        item = blk.child(2)
        self.primitive("string", None, "string", k, item, None)
        self.gen(t["values"], x, item)
        self.loop(blk, f"for {k}, {x} in {a}.items():", out, item)
        blk.emit(f"{out}.append(b'\\x00')", 1)
        blk.emit(f"{res} = _j({out})", 1)
        blk.emit("else:")
        blk.emit(f"{res} = b'\\x00'", 1)
        blk.pieces.append(res)

    def loop(self, blk: _Block, head: str, out: str, item: _Block) -> None:
        blk.emit(head, 1)
        blk.lines += item.lines
        if not item.pieces:
            blk.emit("pass", 2)
        elif len(item.pieces) == 1:
            blk.emit(f"{out}.append({item.pieces[0]})", 2)
        else:
            blk.emit(f"{out} += ({', '.join(item.pieces)})", 2)


def generated_source(parsed: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(Python source of the encoder for ``parsed``, the globals it needs)."""
    if not isinstance(parsed, dict) or parsed.get("type") not in ("record", "error"):
        raise UnsupportedSchema("top-level schema must be a record")
    gen = _Gen(parsed.get("__named_schemas") or {})
    body = _Block(1)
    gen.record(parsed, "record", body, None)
    src = ["def encode(record, prefix=b''):", *body.lines,
           f"    return _j((prefix, {', '.join(body.pieces)}))"]
    return "\n".join(src) + "\n", gen.ns
