"""Program settings of the membership office (program-rules §4a): manual adjustments and
missing-points claims. Read from the optional ``[adjustments]`` and ``[claims]`` tables of the
program configuration; every value has a default, so older configuration files stay valid."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

ADJUSTMENT_REASONS = ("GOODWILL", "SERVICE_RECOVERY", "MIGRATION", "CORRECTION", "OTHER")


@dataclass(frozen=True, slots=True)
class OfficeRules:
    adjustment_limit: int = 1_000_000  # |points| of one adjustment
    adjustment_reasons: tuple[str, ...] = ADJUSTMENT_REASONS
    # reasons whose credits/debits also count as qualifying points (toward status); none by default
    counting_reasons: tuple[str, ...] = ()
    # reasons whose debits may take the balance below zero (into debt)
    debt_reasons: tuple[str, ...] = ("CORRECTION",)
    claim_window_days: int = 180  # a charge without member id can be claimed this long after its business date


def office_rules(data: Mapping[str, Any], fail: Callable[[str, str], Exception]) -> OfficeRules:
    """``fail(key, reason)`` returns the ConfigError to raise."""
    adj = data.get("adjustments", {})
    claims = data.get("claims", {})
    if not isinstance(adj, Mapping) or not isinstance(claims, Mapping):
        raise fail("adjustments" if not isinstance(adj, Mapping) else "claims", "must be a table")
    d = OfficeRules()

    def integer(table: Mapping[str, Any], key: str, path: str, default: int) -> int:
        v = table.get(key, default)
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise fail(path + key, f"must be an integer >= 1, got {v!r}")
        return v

    def reasons(key: str, default: tuple[str, ...], known: tuple[str, ...]) -> tuple[str, ...]:
        v = adj.get(key, list(default))
        if not isinstance(v, list) or not all(isinstance(x, str) and x for x in v):
            raise fail("adjustments." + key, "must be an array of reason names")
        unknown = [x for x in v if x not in known]
        if unknown:
            raise fail("adjustments." + key, f"unknown reasons {unknown}")
        return tuple(v)

    allowed = reasons("reasons", d.adjustment_reasons, ADJUSTMENT_REASONS)
    return OfficeRules(
        adjustment_limit=integer(adj, "limit_points", "adjustments.", d.adjustment_limit),
        adjustment_reasons=allowed,
        counting_reasons=reasons("count_toward_status", d.counting_reasons, allowed),
        debt_reasons=reasons("may_create_debt", d.debt_reasons, allowed),
        claim_window_days=integer(claims, "window_days", "claims.", d.claim_window_days),
    )
