"""Avro schemas (``*.avsc``, namespace ``com.oneharmony.v1``), the codec, and JSON conversion.

    from schemas import Codec, from_json, to_json, TOPIC_RECORDS
    codec = Codec.from_env()
    value = codec.encode("FolioPosting", record, subject="pms.folio-postings.v1-value")
    name, record = codec.decode(value)

Nothing is read at import; schemas are loaded when a Codec is created or first used.
"""
from __future__ import annotations

from typing import Any

# Record type carried by each topic (base names, before any configured prefix).
TOPIC_RECORDS: dict[str, str] = {
    "pms.folio-postings.v1": "FolioPosting",
    "pos.bills.v1": "PosBill",
    "fx.rates.v1": "FxRate",
    "members.enrollments.v1": "MemberEnrollment",
    "redemptions.requests.v1": "RedemptionRequest",
    "members.adjustments.v1": "PointAdjustment",
    "charges.claims.v1": "ChargeClaim",
    "members.adjustments.results.v1": "AdjustmentResult",
    "points.ledger.v1": "PointEntry",
    "charges.decisions.v1": "ChargeDecision",
    "members.status.v1": "StatusChange",
    "redemptions.results.v1": "RedemptionResult",
    "members.balances.v1": "MemberBalance",
}

_LAZY = {
    "Codec": "codec", "CodecError": "errors", "DecodeError": "errors", "EncodeError": "errors",
    "RegistryError": "errors", "RecordError": "errors", "from_json": "jsonio", "to_json": "jsonio",
}

__all__ = ["TOPIC_RECORDS", *_LAZY]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'schemas' has no attribute {name!r}")
    from importlib import import_module
    return getattr(import_module(f"{__name__}.{module}"), name)
