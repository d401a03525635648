"""`harmony publish`: JSON lines -> validated Avro records on a topic."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from schemas import TOPIC_RECORDS
from schemas.codec import Codec
from schemas.errors import EncodeError, RecordError
from schemas.jsonio import from_json
from streams.kafka.clients import make_producer
from streams.kafka.fx_key import fx_key

KEY_FIELDS = {"FolioPosting": ("member_id", "reservation_id"), "PosBill": ("member_id", "bill_id"),
              "MemberEnrollment": ("member_id",),
              "RedemptionRequest": ("member_id", "request_id"), "PointAdjustment": ("member_id",),
              "ChargeClaim": ("member_id",)}


def record_name(settings, topic: str) -> tuple[str, str]:
    """(full topic name, record name) for a binding or prefixed topic name."""
    prefix = settings.topics.prefix
    base = topic[len(prefix):] if prefix and topic.startswith(prefix) else topic
    if base not in TOPIC_RECORDS:
        raise SystemExit(f"harmony publish: unknown topic {topic!r} (one of {', '.join(sorted(TOPIC_RECORDS))})")
    return prefix + base, TOPIC_RECORDS[base]


def message_key(name: str, record: dict) -> bytes | None:
    if name == "FxRate":  # CURRENCY:RATE_DATE: compaction keeps one record per currency and day
        return fx_key(record["currency"], record["rate_date"]).encode()
    for f in KEY_FIELDS.get(name, ()):
        v = record.get(f)
        if v:
            return str(v).encode()
    return None


def publish_file(settings, topic: str, path: Path, err=sys.stderr) -> tuple[int, int]:
    full, name = record_name(settings, topic)
    codec = Codec(settings.registry_url)
    producer = make_producer(settings.bootstrap)
    sent = bad = 0
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            try:
                record = from_json(name, json.loads(line))
                value = codec.encode(name, record, subject=f"{full}-value")
            except json.JSONDecodeError as exc:
                print(f"{path}:{lineno}: not JSON: {exc}", file=err)
                bad += 1
                continue
            except (RecordError, EncodeError) as exc:
                print(f"{path}:{lineno}: {exc}", file=err)
                bad += 1
                continue
            while True:
                try:
                    producer.produce(full, value, message_key(name, record))
                    break
                except BufferError:
                    producer.poll(0.1)
            sent += 1
    left = producer.flush(30)
    if left:
        raise SystemExit(f"harmony publish: {left} records not acknowledged by the broker")
    return sent, bad
