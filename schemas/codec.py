"""Avro codec for the engine's topics.

Two wire formats, both accepted by :meth:`Codec.decode`:

* Avro single-object encoding (no registry): ``C3 01`` + 8-byte CRC-64-AVRO fingerprint of the
  schema's parsing canonical form (little-endian) + Avro binary body.
* Confluent wire format (``SCHEMA_REGISTRY_URL`` set): ``00`` + 4-byte big-endian schema id + body.

Records are plain dicts holding ``Decimal``, ``datetime.date`` and timezone-aware ``datetime``
values, exactly as fastavro returns them. Nothing is read or fetched at import time.
"""
from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from io import BytesIO
from typing import Any

import fastavro
from fastavro import schemaless_reader, schemaless_writer
from fastavro.read import SchemaResolutionError

from . import catalog, fastread, fastwrite
from .catalog import Schema
from .errors import CodecError, DecodeError, EncodeError, RegistryError
from .explain import first_problem
from .registry import RegistryClient

__all__ = ["Codec", "CodecError", "DecodeError", "EncodeError", "RegistryError", "SINGLE_OBJECT_MAGIC"]

SINGLE_OBJECT_MAGIC = b"\xc3\x01"
CONFLUENT_MAGIC = 0
_MISSING_ID_TTL = 30.0  # seconds an id the registry did not know is not asked for again


class _Writer:
    """How to read bodies written with one registry schema id."""
    __slots__ = ("name", "writer", "reader")

    def __init__(self, name: str, writer: dict[str, Any] | list[Any] | str,
                 reader: dict[str, Any] | list[Any] | str | None):
        self.name, self.writer, self.reader = name, writer, reader


class _FastTable(dict[bytes, Any]):
    """Readers for :meth:`Codec.decode_fast` (``classes`` None) or :meth:`Codec.decode_domain` with one
    ``classes``: message header (``C3 01`` + fingerprint, or ``00`` + Confluent schema id) ->
    (name, reader, body offset); ``reader(data, offset)`` returns the record (or domain object)."""
    __slots__ = ("classes",)

    def __init__(self) -> None:
        super().__init__()
        self.classes: Mapping[str, Callable[..., Any]] | None = None


class Codec:
    """Encodes and decodes the records of ``schemas/*.avsc``.

    ``registry_url`` None: single-object encoding, and Confluent-framed input is refused.
    Otherwise encode registers schemas under ``<topic>-value`` subjects and writes the Confluent
    format; decode accepts both. Thread-safe for use from several threads (caches only grow)."""

    def __init__(self, registry_url: str | None = None, *, timeout: float = 5.0):
        schemas = catalog.load()
        self._schemas: dict[str, Schema] = dict(schemas)
        self._by_fp: dict[bytes, Schema] = {s.fingerprint: s for s in schemas.values()}
        self._by_full: dict[str, Schema] = {s.full_name: s for s in schemas.values()}
        self._so_header: dict[str, bytes] = {n: SINGLE_OBJECT_MAGIC + s.fingerprint for n, s in schemas.items()}
        self.registry = RegistryClient(registry_url, timeout=timeout) if registry_url else None
        self._cf_header: dict[tuple[str, str], bytes] = {}  # (subject, name) -> 00 + id
        self._by_id: dict[int, _Writer] = {}
        self._missing_ids: dict[int, float] = {}
        self._fast: dict[int, _FastTable] = {}  # id(classes) -> readers of decode_domain
        self._fast_dicts = _FastTable()  # readers of decode_fast
        self._fast_last = self._fast_dicts  # the table decode_domain used last

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Codec:
        """A codec using ``SCHEMA_REGISTRY_URL`` when set (and not empty)."""
        env = os.environ if env is None else env
        return cls((env.get("SCHEMA_REGISTRY_URL") or "").strip() or None)

    def __repr__(self) -> str:
        return f"Codec(registry={self.registry.url if self.registry else None!r})"

    # ------------------------------------------------------------------ schemas

    def names(self) -> list[str]:
        """Short names of all records, sorted."""
        return sorted(self._schemas)

    def schema(self, name: str) -> Schema:
        s = self._schemas.get(name) or catalog.get(name)
        if s is None:
            raise KeyError(f"unknown record type {name!r} (known: {', '.join(self.names())})")
        return s

    def fingerprint(self, name: str) -> bytes:
        """CRC-64-AVRO fingerprint of ``name``'s canonical form, little-endian (8 bytes)."""
        return self.schema(name).fingerprint

    # ------------------------------------------------------------------ encode

    def encode(self, name: str, record: dict[str, Any], subject: str | None = None) -> bytes:
        """Avro-encode ``record`` as a ``name``. ``subject`` (registry only) defaults to
        ``<name>-value``; producers pass ``<topic>-value``. Raises EncodeError for a record that
        does not fit, RegistryError when the registry cannot register the schema."""
        s = self._schemas.get(name)
        if s is None:
            raise EncodeError(None, f"unknown record type {name!r}")
        rec = s.check(record)
        if self.registry is None:
            header = self._so_header[name]
        else:
            header = self._cf_header.get((subject or name + "-value", name)) or self._register(s, subject)
        buf = BytesIO()
        buf.write(header)
        try:
            schemaless_writer(buf, s.parsed, rec, strict_allow_default=True, disable_tuple_notation=True)
        except Exception as e:  # fastavro raises ValueError/TypeError/OverflowError/...
            raise EncodeError(*_explain(s, rec, e)) from None
        return buf.getvalue()

    def encode_trusted(self, name: str, record: dict[str, Any], subject: str | None = None) -> bytes:
        """Like :meth:`encode` (same header, same bytes) for records built by the engine's own code:
        skips the value checks and writes with the generated encoder of :mod:`schemas.fastwrite`
        (several times faster). Still refuses unknown enum symbols, decimals that would need
        rounding or exceed the precision, out-of-range ints/longs and naive datetimes; extra fields
        are ignored. Raises EncodeError / RegistryError like :meth:`encode`."""
        s = self._schemas.get(name)
        if s is None:
            raise EncodeError(None, f"unknown record type {name!r}")
        if self.registry is None:
            header = self._so_header[name]
        else:
            header = self._cf_header.get((subject or name + "-value", name)) or self._register(s, subject)
        body = fastwrite.encoder(s)
        try:
            return body(record, header)
        except Exception as e:  # slow path: name the field like encode does
            try:
                s.check(record)  # decimals, ints, datetimes, missing fields: EncodeError with the field
            except EncodeError as checked:
                raise checked from None
            except Exception:
                pass
            raise EncodeError(*_explain(s, record, e)) from None

    def _register(self, s: Schema, subject: str | None) -> bytes:
        subject = subject or s.name + "-value"
        if self.registry is None:  # encode() only calls this with a registry
            raise RegistryError(f"no schema registry to register {subject!r} with")
        schema_id = self.registry.register(subject, s.text)
        header = bytes([CONFLUENT_MAGIC]) + schema_id.to_bytes(4, "big")
        self._by_id.setdefault(schema_id, _Writer(s.name, s.parsed, None))
        self._cf_header[(subject, s.name)] = header
        return header

    # ------------------------------------------------------------------ decode

    def decode(self, data: bytes) -> tuple[str, dict[str, Any]]:
        """(record name, record) from either wire format. Raises only DecodeError."""
        data, offset = _framing(data)
        n = len(data)
        writer: dict[str, Any] | list[Any] | str
        reader: dict[str, Any] | list[Any] | str | None
        if offset == 10:
            s = self._by_fp.get(data[2:10])
            if s is None:
                raise DecodeError(f"unknown schema fingerprint {data[2:10].hex()}")
            name, writer, reader = s.name, s.parsed, None
        else:
            w = self._writer(int.from_bytes(data[1:5], "big"))
            name, writer, reader = w.name, w.writer, w.reader
        fo = BytesIO(data)
        fo.seek(offset)
        try:
            record = schemaless_reader(fo, writer, reader)
        except Exception as e:
            raise DecodeError(f"{name}: {_read_problem(e)}") from None
        end = fo.tell()
        if end != n:
            raise DecodeError(f"{name}: {n - end} trailing bytes after the record")
        if not isinstance(record, dict):
            raise DecodeError(f"{name}: not a record")
        return name, record

    def decode_as(self, name: str, data: bytes) -> dict[str, Any]:
        """Decode and check the record type is ``name``."""
        got, record = self.decode(data)
        if got != name:
            raise DecodeError(f"expected a {name}, got a {got}")
        return record

    def decode_many(self, values: list[bytes]) -> list[tuple[str, dict[str, Any]] | DecodeError]:
        """Decode a batch; a value that cannot be decoded yields its DecodeError in its place."""
        decode = self.decode
        out: list[Any] = []
        append = out.append
        for v in values:
            try:
                append(decode(v))
            except DecodeError as e:
                append(e)
        return out

    # ------------------------------------------------------------------ fast decode (schemas.fastread)

    def decode_fast(self, data: bytes) -> tuple[str, dict[str, Any]]:
        """:meth:`decode` with the generated readers of :mod:`schemas.fastread` (3-4x faster): same
        wire formats (Confluent ids resolved through the registry as before), same records, raises
        only DecodeError. Stricter than fastavro on a few invalid encodings it accepts (a negative enum
        or union index, varints over 64 bits). Bodies that need schema resolution (a registry writer
        schema other than ours) or a schema fastread cannot compile are read by fastavro as before."""
        return self._read_with(self._fast_dicts, data)

    def decode_domain(self, data: bytes, classes: Mapping[str, Callable[..., Any]]) -> tuple[str, Any]:
        """(record name, domain object) without building the intermediate dicts: like
        :meth:`decode_fast`, but a record whose name is in ``classes`` (short or full name; nested
        records included) is built by calling its class with its fields, and arrays become tuples —
        for ``streams.engine.events.DOMAIN_CLASSES`` exactly ``to_domain(*codec.decode(data))``. A top-level
        record without a class is returned as a dict. ``classes`` is compiled into readers on first
        use (keep one mapping, don't mutate it). Raises only DecodeError."""
        t: _FastTable | None = self._fast_last
        if t is None or t.classes is not classes:
            t = self._fast.get(id(classes))
            if t is None or t.classes is not classes:
                t = self._fast[id(classes)] = _FastTable()  # holds ``classes``: its id cannot be reused
                t.classes = classes
            self._fast_last = t
        return self._read_with(t, data)

    def _read_with(self, t: _FastTable, data: bytes) -> tuple[str, Any]:
        """The compiled reader of ``data``'s header in ``t`` (compiling it on first sight)."""
        if type(data) is bytes:
            hit = t.get(data[:10]) or t.get(data[:5])
            if hit is not None:
                return _read_body(hit, data)
        return self._decode_fast_slow(data, t)

    def _decode_fast_slow(self, data: Any, t: _FastTable) -> tuple[str, Any]:  # data: bytes-like
        """decode_fast / decode_domain: framing checks (as :meth:`decode`) and the first message of
        each header (single-object fingerprint or Confluent schema id), whose reader is compiled and
        kept in ``t``: header bytes -> (name, reader, body offset)."""
        classes = t.classes
        data, offset = _framing(data)
        hit = t.get(data[:offset])
        if hit is None:
            if offset == 10:
                s = self._by_fp.get(data[2:10])
                if s is None:
                    raise DecodeError(f"unknown schema fingerprint {data[2:10].hex()}")
                hit = (s.name, self._fast_reader(s.name, s.parsed, None, classes), 10)
            else:
                w = self._writer(int.from_bytes(data[1:5], "big"))
                hit = (w.name, self._fast_reader(w.name, w.writer, w.reader, classes), 5)
            t[data[:offset]] = hit
        return _read_body(hit, data)

    def _fast_reader(self, name: str, writer: Any, reader: Any,
                     classes: Mapping[str, Callable[..., Any]] | None) -> Callable[[bytes, int], Any]:
        """A generated reader for bodies written with ``writer`` (no schema resolution), else one
        that reads with fastavro like :meth:`decode` (and builds the domain objects from its dict)."""
        if reader is None:
            try:
                local = self._schemas.get(name)
                if classes is None and local is not None and writer is local.parsed:
                    return fastread.decoder(local)
                return fastread.compile_decoder(writer, classes)
            except Exception:  # UnsupportedSchema (or anything else): fastavro below
                pass

        def read(data: bytes, offset: int) -> Any:
            fo = BytesIO(data)
            fo.seek(offset)
            try:
                record = schemaless_reader(fo, writer, reader)
            except Exception as e:
                raise DecodeError(f"{name}: {_read_problem(e)}") from None
            end = fo.tell()
            if end != len(data):
                raise DecodeError(f"{name}: {len(data) - end} trailing bytes after the record")
            if not isinstance(record, dict):
                raise DecodeError(f"{name}: not a record")
            return record if classes is None else fastread.build(reader or writer, record, classes)

        return read

    def _writer(self, schema_id: int) -> _Writer:
        w = self._by_id.get(schema_id)
        if w is not None:
            return w
        if self.registry is None:
            raise DecodeError(f"Confluent wire format (schema id {schema_id}) needs a schema registry; "
                              "set SCHEMA_REGISTRY_URL")
        until = self._missing_ids.get(schema_id)
        if until is not None and time.monotonic() < until:
            raise DecodeError(f"unknown schema id {schema_id}")
        try:
            text = self.registry.schema_by_id(schema_id)
        except RegistryError as e:
            raise DecodeError(f"schema id {schema_id}: {e.reason}", transient=e.transient) from None
        if text is None:
            self._missing_ids[schema_id] = time.monotonic() + _MISSING_ID_TTL
            raise DecodeError(f"unknown schema id {schema_id}")
        w = self._by_id[schema_id] = self._writer_for(schema_id, text)
        return w

    def _writer_for(self, schema_id: int, text: str) -> _Writer:
        try:
            raw = json.loads(text)
            parsed = fastavro.parse_schema(raw, named_schemas={})
        except Exception as e:
            raise DecodeError(f"schema id {schema_id} is not a valid Avro schema: {e}") from None
        full = parsed.get("name", "") if isinstance(parsed, dict) else ""
        local = self._by_full.get(full)
        if local is None:  # not one of ours: decode with the writer's schema as is
            return _Writer(full or str(parsed), parsed, None)
        if raw == local.raw or raw_logical_equal(raw, local.raw):
            return _Writer(local.name, local.parsed, None)
        return _Writer(local.name, parsed, local.parsed)  # resolve the writer's version to ours


def _read_body(hit: tuple[str, Callable[[bytes, int], Any], int], data: bytes) -> tuple[str, Any]:
    """(record name, what the compiled reader makes of ``data``'s body); only DecodeError escapes."""
    name, read, offset = hit
    try:
        return name, read(data, offset)
    except DecodeError:
        raise
    except Exception as e:
        raise DecodeError(f"{name}: {fastread.problem(e)}") from None


def _framing(data: Any) -> tuple[bytes, int]:  # data: bytes-like (or anything, refused)
    """(data as bytes, header length): 10 for single-object encoding, 5 for the Confluent wire
    format; DecodeError for anything else."""
    if type(data) is not bytes:
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise DecodeError(f"expected bytes, got {type(data).__name__}")
        data = bytes(data)
    n = len(data)
    if n == 0:
        raise DecodeError("empty value")
    first = data[0]
    if first == 0xC3:
        if n < 10 or data[1] != 0x01:
            raise DecodeError("truncated single-object header" if n < 10 else "not Avro framing")
        return data, 10
    if first == CONFLUENT_MAGIC:
        if n < 5:
            raise DecodeError("truncated Confluent header")
        return data, 5
    raise DecodeError(f"not Avro framing (first byte {first:#04x}; expected C3 01 or 00)")


def raw_logical_equal(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Same schema apart from docs/defaults formatting: compare with ``doc`` keys removed."""
    def strip(x: Any) -> Any:
        if isinstance(x, dict):
            return {k: strip(v) for k, v in x.items() if k != "doc"}
        if isinstance(x, list):
            return [strip(v) for v in x]
        return x
    return bool(strip(a) == strip(b))


def _read_problem(e: Exception) -> str:
    if isinstance(e, (EOFError, StopIteration)):
        return "truncated body"
    if isinstance(e, UnicodeDecodeError):
        return "corrupt body: invalid UTF-8 in a string"
    if isinstance(e, IndexError):
        return "unknown enum symbol or union branch (index out of range); body corrupt or written with another schema"
    if isinstance(e, SchemaResolutionError):
        msg = str(e)
        if "symbol" in msg.lower():
            return f"unknown enum symbol: {msg}"
        return f"incompatible writer schema: {msg}"
    return f"corrupt or truncated body ({type(e).__name__}: {e})"


def _explain(s: Schema, record: dict[str, Any], e: Exception) -> tuple[str | None, str]:
    """A readable reason for a fastavro write failure (slow path: only on errors)."""
    try:
        problem = first_problem(s.parsed, record)
    except Exception:
        problem = None
    if problem is not None:
        return problem
    return None, f"does not match {s.name}: {type(e).__name__}: {e}"
