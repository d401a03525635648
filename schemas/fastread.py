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

Speed: the generated code is straight-line per field, no function call for a typical field
(:mod:`schemas.fastread_gen`); what it does not read inline comes from the helpers, tables and
bounded caches of :mod:`schemas.fastread_runtime`.

The micro-benchmark is tooling: ``python -m bench.codec_read`` (µs/record of fastavro and of each
Codec decode path).
"""
from __future__ import annotations

import struct
import types
from collections.abc import Callable, Mapping
from typing import Any

from .catalog import Schema
from .fastread_gen import _PRIMITIVES, UnsupportedSchema, generated_source
from .fastread_runtime import EPOCH, CorruptData

__all__ = ["UnsupportedSchema", "CorruptData", "compile_decoder", "decoder", "generated_source", "problem",
           "build", "EPOCH"]


def problem(e: BaseException) -> str:
    """A readable reason for an exception raised by a generated decoder (as Codec.decode words them)."""
    if isinstance(e, CorruptData):
        return str(e)
    if isinstance(e, (IndexError, struct.error, EOFError)):
        return "truncated body"
    if isinstance(e, UnicodeDecodeError):
        return "corrupt body: invalid UTF-8 in a string"
    return f"corrupt or truncated body ({type(e).__name__}: {e})"


def compile_decoder(parsed: dict[str, Any], classes: Mapping[str, Callable[..., Any]] | None = None,
                    ) -> Callable[..., Any]:
    """``decode(data, pos=0)`` for the fastavro-parsed record schema ``parsed``: the record whose Avro
    binary body is ``data[pos:]`` (a dict, or with ``classes`` the domain object). ``classes`` is
    read when compiling."""
    source, ns = generated_source(parsed, classes)
    name = str(parsed.get("name", "record"))
    code = compile(source, f"<fastread {name}>", "exec")
    exec(code, ns)
    fn: types.FunctionType = ns["decode"]
    fn.__qualname__ = fn.__name__ = f"decode_{name.rsplit('.', 1)[-1]}"
    fn.__doc__ = f"The {name} of an Avro binary body (generated by schemas.fastread)."
    fn.__dict__["source"] = source  # for debugging
    return fn


_DECODERS: dict[str, Callable[..., Any]] = {}


def decoder(schema: Schema) -> Callable[..., dict[str, Any]]:
    """The (cached) dict decoder of a :class:`schemas.catalog.Schema`."""
    fn = _DECODERS.get(schema.text)
    if fn is None:
        fn = _DECODERS[schema.text] = compile_decoder(schema.parsed)
    return fn


# ------------------------------------------------------------------ dicts -> domain objects (slow path)


def build(parsed: Any, value: Any, classes: Mapping[str, Callable[..., Any]]) -> Any:
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
