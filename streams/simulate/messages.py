"""What the simulator produces: encoded records (`SimMessage`), grouped by kind (`Traffic`), and the
member ids they use (`member_id`)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

__all__ = ["SimMessage", "Traffic", "member_id"]


class SimMessage(NamedTuple):
    """One encoded record: topic attribute of ``streams.kafka.topics.Topics`` (e.g. "postings"), key, value,
    and for charges the member and source id (what the engine records in ``{m:ID}:src``)."""
    topic: str
    key: bytes
    value: bytes
    member_id: str | None = None
    source_id: str | None = None


@dataclass
class Traffic:
    fx: list[SimMessage] = field(default_factory=list)
    enrollments: list[SimMessage] = field(default_factory=list)
    charges: list[SimMessage] = field(default_factory=list)

    def all(self) -> list[SimMessage]:
        return self.fx + self.enrollments + self.charges


def member_id(i: int) -> str:
    """The id of member number ``i`` (0-based): OH0000001, OH0000002, ..."""
    return f"OH{i + 1:07d}"
