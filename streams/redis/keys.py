"""Every Redis key name of the store in one place.

| key | type | holds |
|-----|------|-------|
| ``{m:ID}``, ``{m:ID}:src``, ``{m:ID}:held``, ``{m:ID}:led`` | hashes, list | one member (member_store.py) |
| ``idx:<name>`` | set / sorted set | the engine's logical indexes (streams/engine/ports.py ``MemberIndex``) |
| ``jobs:closed-years`` | set | the years close-year has run for (set before it walks the members) |
| ``pos:<group>:<topic>:<partition>`` | string | next offset of a partition to read (checkpoint, advance_position.lua) |
| ``kc:{SID}``, ``kc:{SID}:by`` | string | charges kept for claims and their claim markers (kept_charges.py) |
"""
from __future__ import annotations

CLOSED_YEARS = "jobs:closed-years"
INDEX_PREFIX = "idx:"


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
