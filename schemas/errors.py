"""Errors of the schemas package."""
from __future__ import annotations


class CodecError(Exception):
    """Base class of codec errors."""


class EncodeError(CodecError, ValueError):
    """A record cannot be encoded with its schema. ``field`` names the offending field
    (``lines[1].amount``), or is None when the problem is not tied to one field."""

    def __init__(self, field: str | None, reason: str):
        super().__init__(f"{field}: {reason}" if field else reason)
        self.field = field
        self.reason = reason


class DecodeError(CodecError, ValueError):
    """Bytes that cannot be decoded into a known record. ``transient`` is True when the cause is
    not the bytes but the schema registry being unreachable: retry later, don't dead-letter."""

    def __init__(self, reason: str, *, transient: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.transient = transient


class RegistryError(CodecError):
    """The schema registry refused or could not be reached while encoding."""

    def __init__(self, reason: str, *, status: int | None = None, transient: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.transient = transient


class RecordError(ValueError):
    """A JSON record does not match its schema. ``path`` locates the value (``lines[1].amount``;
    empty for the record itself)."""

    def __init__(self, path: str, reason: str):
        super().__init__(f"{path}: {reason}" if path else reason)
        self.path = path
        self.reason = reason
