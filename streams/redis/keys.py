"""Every Redis key name of the store in one place.

| key | type | holds |
|-----|------|-------|
| ``{m:ID}``, ``{m:ID}:src``, ``{m:ID}:held``, ``{m:ID}:led`` | hashes, list | one member (member_store.py) |
| ``idx:<name>`` | set / sorted set | the engine's logical indexes (streams/engine/ports.py ``MemberIndex``) |
| ``jobs:closed-years`` | set | the years close-year has run for (set before it walks the members) |
| ``pos:<group>:<topic>:<partition>`` | string | next offset of a partition to read (checkpoint, advance_position.lua) |
| ``kc:{SID}``, ``kc:{SID}:by`` | string | charges kept for claims and their claim markers (kept_charges.py) |
| ``{fx}:rates`` | hash | the FX history ``CURRENCY:RATE_DATE`` -> rate (streams/runtime/fx_reader.py) |
| ``jobs:last:<job>`` | hash | the last completed close-year / expire run (streams/runtime/held_metrics.py) |
| ``dlq:replays`` | hash | times a dead letter was replayed (streams/kafka/dead_letters.py) |
| ``sess:<sha256>`` | string | an office console session (streams/web/console.py) |
| ``audit:log`` | list | audit records of the API and console (streams/web/auth.py) |
"""
from __future__ import annotations

CLOSED_YEARS = "jobs:closed-years"
INDEX_PREFIX = "idx:"
MEMBER_SCAN = "{m:*}"  # SCAN pattern of every member's keys
KEPT_SCAN = "kc:*"  # SCAN pattern of the kept charges and their markers
FX_HISTORY = "{fx}:rates"
DLQ_REPLAYS = "dlq:replays"
AUDIT_LOG = "audit:log"


def member_keys(member_id: str) -> tuple[str, str, str, str]:
    """A member's core hash, source records, held inputs and recent ledger (one hash tag: one slot)."""
    tag = "{m:" + member_id + "}"
    return tag, tag + ":src", tag + ":held", tag + ":led"


def index_key(name: str) -> str:
    """The key of a logical index (``released``, ``fxwait:USD``, ``lots:2027-03-31``, ...)."""
    return INDEX_PREFIX + name


def charge_key(sid: str) -> str:
    """A charge kept for claims (its claim marker: ``+ ":by"``)."""
    return "kc:{" + sid + "}"


POSITION_PREFIX = "pos:"  # pos:<group>:<topic>:<partition> -> next offset to read (advance_position.lua)


def position_key(group: str, topic: str, partition: int | str) -> str:
    """How far the consumer group ``group`` has applied a partition (the next offset to read).
    Written after the batch's outputs are delivered, never backwards; read on assignment."""
    return f"{POSITION_PREFIX}{group}:{topic}:{partition}"


def job_last_key(job: str) -> str:
    """The last completed run of ``job`` (``close-year``, ``expire``)."""
    return f"jobs:last:{job}"


def session_key(digest: str) -> str:
    """An office console session, by the SHA-256 of its cookie."""
    return "sess:" + digest
