"""Decoded Avro records -> the domain records of ``processors.model``."""
from __future__ import annotations

import dataclasses
import hashlib
from datetime import date, datetime, time, timedelta
from typing import Any

from processors.model import JST, BillLine, FolioPosting, FxRate, MemberEnrollment, PosBill, RedemptionRequest
from processors.office_model import ChargeClaim, PointAdjustment

RECORD_CLASSES = {
    "FolioPosting": FolioPosting,
    "PosBill": PosBill,
    "FxRate": FxRate,
    "MemberEnrollment": MemberEnrollment,
    "RedemptionRequest": RedemptionRequest,
    "PointAdjustment": PointAdjustment,
    "ChargeClaim": ChargeClaim,
}
# Every record built for an input event, nested ones included: Codec.decode_domain(data, DOMAIN_CLASSES)
# returns exactly the event to_domain(*Codec.decode(data)) returns, without the intermediate dict.
DOMAIN_CLASSES = {**RECORD_CLASSES, "BillLine": BillLine}


class InvalidEvent(ValueError):
    """A record that decoded but cannot become a domain event."""


def to_domain(name: str, record: dict[str, Any]):
    cls = RECORD_CLASSES.get(name)
    if cls is None:
        raise InvalidEvent(f"no domain event for record {name}")
    try:
        if cls is PosBill:
            record = dict(record)
            record["lines"] = tuple(BillLine(line["kind"], line["amount"]) for line in record["lines"])
        return cls(**record)
    except (TypeError, KeyError) as exc:
        raise InvalidEvent(f"{name}: {exc}") from None


def fingerprint(value: bytes) -> str:
    """Content fingerprint of an Avro message body, independent of the framing (single-object/Confluent)."""
    body = value[10:] if value[:2] == b"\xc3\x01" else value[5:]
    return hashlib.blake2b(body, digest_size=8).hexdigest()


def has_member(member_id: str | None) -> bool:
    return bool(member_id and member_id.strip())


def with_member(ev, member_id: str):
    return dataclasses.replace(ev, member_id=member_id)


def window_end(business_date: date, window_days: int) -> datetime:
    """The last instant a charge of ``business_date`` is kept for claims: end of the window's last day,
    JST, plus one day so a late claim is told CLAIM_WINDOW_PASSED rather than CHARGE_NOT_FOUND."""
    return datetime.combine(business_date + timedelta(days=window_days + 1), time(23, 59, 59), tzinfo=JST)
