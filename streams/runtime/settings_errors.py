"""A wrong setting as one readable message: the variable, the value, what is expected.

`SettingsError.from_validation` turns pydantic's `ValidationError` of `streams.runtime.settings.Settings`
into lines such as ``HARMONY_BATCH_SIZE='abc': expected an integer >= 1`` (one per bad setting,
all of them at once). The expectation is written from the field's own declaration (its type and
bounds, or its `description` when that says it better), so the declaration stays the one source.
"""
from __future__ import annotations

from typing import Any

import annotated_types
from pydantic import ValidationError
from pydantic.fields import FieldInfo

__all__ = ["SettingsError", "expectation"]

_KINDS: dict[Any, str] = {
    int: "an integer",
    float: "a number",
    bool: "a boolean (1/0, true/false, yes/no, on/off)",
}


class SettingsError(ValueError):
    """One or more settings are wrong; `problems` holds one line per setting."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems

    @classmethod
    def from_validation(cls, exc: ValidationError, fields: dict[str, FieldInfo]) -> SettingsError:
        by_label = {_env_name(name, info): info for name, info in fields.items()} | dict(fields)
        problems: list[str] = []
        for err in exc.errors(include_url=False):
            # the environment variable's name, or the field's when it came by keyword (Settings(batch_size=...))
            label = str(err["loc"][0]) if err["loc"] else "settings"
            info = by_label.get(label)
            if info is None:
                problems.append(f"{label}: not a setting")
            else:
                problems.append(f"{label}={err.get('input')!r}: expected {expectation(info)}")
        return cls(problems)


def _env_name(name: str, info: FieldInfo) -> str:
    return info.validation_alias if isinstance(info.validation_alias, str) else name


def expectation(info: FieldInfo) -> str:
    """What a field takes, in words: "an integer >= 1", "an integer from 1 to 65535", "a number > 0"."""
    if info.description:
        return info.description
    kind = _KINDS.get(info.annotation, "a string")
    bounds: dict[str, Any] = {}
    for m in info.metadata:
        for attr in ("ge", "gt", "le", "lt"):
            if isinstance(m, getattr(annotated_types, attr.capitalize())):
                bounds[attr] = getattr(m, attr)
    if "ge" in bounds and "le" in bounds:
        return f"{kind} from {bounds['ge']} to {bounds['le']}"
    signs = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}
    return " and ".join([f"{kind} {signs[k]} {v}" if i == 0 else f"{signs[k]} {v}"
                         for i, (k, v) in enumerate(bounds.items())]) or kind
