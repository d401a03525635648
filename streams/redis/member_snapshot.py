"""The store's own bookkeeping about a member it loaded, kept beside the domain object, never on it.

``MemberStore.load_many`` returns ``LoadedMembers`` (streams/engine/ports.py): the members by id (a plain dict of
``processors.member.Member`` to every reader) and, in ``snapshots``, one ``StoredSnapshot`` per
member. The engine passes a member's snapshot back to ``queue_save``, ``remember`` and
``core_fields``; the snapshot lives as long as the engine holds it (one batch).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from streams.redis.member_fields import CoreWrite


@dataclass(slots=True)
class StoredSnapshot:
    fields: dict[str, str]  # the core hash as read from Redis (or as the worker's cache held it)
    cached: bool = False  # from the cache: no source records were read, the save checks its ids are new
    # what the last queue_save wrote: the core fields, the save token, the encoded source records
    written: CoreWrite | None = None
    token: str | None = None
    encoded_src: dict[str, bytes] = field(default_factory=dict)
