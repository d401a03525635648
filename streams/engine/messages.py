"""What a batch is made of: the input messages, the items of one member, and the batch's result."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from processors.claims import candidate_ids
from processors.model import original_source_id
from streams.engine.outputs import OutRecord


@dataclass(slots=True)
class Message:
    """The parts of a Kafka message the engine reads."""
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: list | None = None  # the message's headers (a replayed dead letter carries harmony.replay.*)


@dataclass(slots=True)
class Item:
    kind: str  # enroll, charge, redeem
    event: Any
    topic: str
    raw: bytes
    fp: str
    kept: Any = None  # a claim: (KeptCharge | None, claimed by another claim)


@dataclass
class BatchResult:
    records: list[OutRecord] = field(default_factory=list)
    positions: dict[tuple[str, int], int] = field(default_factory=dict)  # next offset per partition
    members: int = 0
    cas_retries: int = 0
    outcomes: Counter = field(default_factory=Counter)  # (outcome, reason) -> decisions
    released: list[tuple[str, str]] = field(default_factory=list)  # (member, source id) markers to drop
    # content fingerprint -> (topic, partition, offset, key) of the batch's member inputs: the origin
    # headers of a dead letter the member aggregate raises (a CONFLICT)
    origins: dict[str, tuple[str, int, int, bytes | None]] = field(default_factory=dict)


def needs_original(it: Item) -> bool:
    """Whether an input needs the record of an earlier one (a correction, void or cancellation)."""
    ev = it.event
    if it.kind == "charge":
        return original_source_id(ev) is not None
    return (it.kind == "redeem" and bool(ev.cancels_request_id)) or it.kind == "claim"


def wanted(items: list[Item]) -> list[str]:
    """The source ids whose records the items need loaded (their own, and their originals')."""
    sids = []
    for it in items:
        ev = it.event
        if it.kind == "charge":
            sids.append(ev.source_id)
            original = original_source_id(ev)
            if original is not None:
                sids.append(original)
        elif it.kind == "redeem":
            sids.append(ev.source_id)
            if ev.cancels_request_id:
                sids.append("R:" + ev.cancels_request_id)
        elif it.kind == "adjust":
            sids.append(ev.source_id)
        elif it.kind == "claim":
            sids += [ev.claim_source_id, *candidate_ids(ev)]
    return sids
