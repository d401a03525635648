"""Key names in Redis outside the members' own keys (those are ``member_keys`` in member_store.py).

Constants and small functions only: the one place to look up what a key is called.
"""
from __future__ import annotations

POSITION_PREFIX = "pos:"  # pos:<group>:<topic>:<partition> -> next offset to read (advance_position.lua)


def position_key(group: str, topic: str, partition: int | str) -> str:
    """How far the consumer group ``group`` has applied a partition (the next offset to read).
    Written after the batch's outputs are delivered, never backwards; read on assignment."""
    return f"{POSITION_PREFIX}{group}:{topic}:{partition}"
