"""Dead letters of ``loyalty.dlq.v1``: reading, selecting, and re-publishing them to their origin.

A dead letter is the original key and bytes with the headers ``origin.topic``,
``origin.partition``, ``origin.offset`` (-1 for an input that was held first and rejected later,
e.g. UNKNOWN_MEMBER) and ``error``. Its id is its own position, ``<dlq partition>:<offset>``; its
reason the first word of the error (UNKNOWN_MEMBER, CONFLICT, DecodeError, InvalidEvent, …).

Replay re-publishes the original bytes under the original key to the origin topic with the headers
``harmony.replay.of`` (``<dlq topic>:<partition>:<offset>``) and ``harmony.replay.count``.
Idempotent: the engine records every input by its id (a charge earns once, a request is served once,
an enrollment or a rate is a state), so a record replayed twice is applied once; and one run
replays each distinct record (origin topic, key, bytes) once, however often it was dead-lettered.
Loops stop: the replays of each distinct record are counted in Redis (``dlq:replays``: content id ->
count) and a record replayed ``max_replays`` times already is skipped with a message.
"""
from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from streams.kafka.topic_reader import read
from streams.redis.keys import DLQ_REPLAYS

REPLAYS_KEY = DLQ_REPLAYS
DEFAULT_MAX_REPLAYS = 3


@dataclass(frozen=True)
class DeadLetter:
    partition: int
    offset: int
    timestamp: datetime | None
    key: bytes | None
    value: bytes
    origin_topic: str
    origin_partition: int
    origin_offset: int
    error: str

    @property
    def id(self) -> str:
        return f"{self.partition}:{self.offset}"

    @property
    def reason(self) -> str:
        head = self.error.split(":", 1)[0].strip()
        return head.split()[0] if head else "?"

    @property
    def content_id(self) -> str:
        h = hashlib.sha256()
        for part in (self.origin_topic.encode(), self.key or b"", self.value):
            h.update(len(part).to_bytes(4, "big") + part)
        return h.hexdigest()[:24]


def _int(v: str | None, default: int = -1) -> int:
    try:
        return int(v) if v is not None else default
    except ValueError:
        return default


def from_message(m) -> DeadLetter:
    h = {k: (v or b"").decode("utf-8", "replace") for k, v in (m.headers() or [])}
    kind, ts = m.timestamp()
    return DeadLetter(m.partition(), m.offset(),
                      datetime.fromtimestamp(ts / 1000, UTC) if kind != 0 and ts > 0 else None,
                      m.key(), m.value() or b"", h.get("origin.topic", "?"), _int(h.get("origin.partition")),
                      _int(h.get("origin.offset")), h.get("error", ""))


def read_dead_letters(bootstrap: str, dlq_topic: str) -> Iterator[DeadLetter]:
    for m in read(bootstrap, dlq_topic):
        yield from_message(m)


def select(letters: Iterable[DeadLetter], *, origin: str | None = None, reasons: Iterable[str] = (),
           since: datetime | None = None, ids: Iterable[str] = ()) -> list[DeadLetter]:
    reasons, ids = {r.upper() for r in reasons}, set(ids)
    out = []
    for d in letters:
        if origin is not None and d.origin_topic != origin:
            continue
        if reasons and d.reason.upper() not in reasons:
            continue
        if since is not None and (d.timestamp is None or d.timestamp < since):
            continue
        if ids and d.id not in ids:
            continue
        out.append(d)
    return out


def replay_counts(redis, letters: Iterable[DeadLetter]) -> dict[str, int]:
    """content id -> times replayed so far."""
    ids = sorted({d.content_id for d in letters})
    if not ids:
        return {}
    values = redis.hmget(REPLAYS_KEY, ids)
    return {i: int(v) if v is not None else 0 for i, v in zip(ids, values)}


@dataclass
class ReplayOutcome:
    letter: DeadLetter
    action: str  # replayed, would replay, skipped
    detail: str = ""


def replay(producer, redis, dlq_topic: str, letters: list[DeadLetter], inputs: Iterable[str], *,
           dry_run: bool = False, max_replays: int = DEFAULT_MAX_REPLAYS) -> list[ReplayOutcome]:
    """Re-publish ``letters`` to their origin topics (see the module doc); returns what was done."""
    inputs = set(inputs)
    counts = replay_counts(redis, letters)
    done: set[str] = set()
    outcomes = []
    for d in letters:
        cid = d.content_id
        if cid in done:
            outcomes.append(ReplayOutcome(d, "skipped", "same record as an earlier dead letter of this run"))
            continue
        done.add(cid)
        n = counts.get(cid, 0)
        if d.origin_topic not in inputs:
            outcomes.append(ReplayOutcome(d, "skipped", f"origin {d.origin_topic} is not an input topic"))
            continue
        if not d.value:
            outcomes.append(ReplayOutcome(d, "skipped", "no value to replay"))
            continue
        if n >= max_replays:
            outcomes.append(ReplayOutcome(d, "skipped", f"replayed {n} times already (limit {max_replays})"))
            continue
        if dry_run:
            outcomes.append(ReplayOutcome(d, "would replay", f"replay {n + 1}"))
            continue
        producer.produce(d.origin_topic, d.value, d.key, headers=[
            ("harmony.replay.of", f"{dlq_topic}:{d.partition}:{d.offset}".encode()),
            ("harmony.replay.count", str(n + 1).encode())])
        producer.poll(0)
        outcomes.append(ReplayOutcome(d, "replayed", f"replay {n + 1}"))
    if not dry_run:
        remaining = producer.flush(30)
        if remaining:
            raise RuntimeError(f"{remaining} replayed records not acknowledged by the broker")
        for o in outcomes:  # counted once the broker has them
            if o.action == "replayed":
                redis.hincrby(REPLAYS_KEY, o.letter.content_id, 1)
    return outcomes


def by_reason(letters: Iterable[DeadLetter]) -> Counter:
    return Counter(d.reason for d in letters)
