"""One Kafka message of any engine topic as a JSON-ready dict (what `harmony tail` prints).

Avro values (single-object or Confluent framing, whatever the codec accepts) become their JSON form
(``schemas.jsonio.to_json``: decimals as strings, dates ISO); the internal topics (member-state
changelog, jobs) carry JSON. A dead letter shows its origin headers, its error, its replay headers
and the original record decoded when it can be (else why not, and the bytes in base64).
"""
from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

from schemas.codec import Codec
from schemas.jsonio import to_json
from streams.kafka.topics import Topics

JSON_TOPICS = ("state", "jobs")


def _text(b: bytes | None) -> str | None:
    if b is None:
        return None
    try:
        return b.decode("utf-8")
    except UnicodeDecodeError:
        return "base64:" + base64.b64encode(b).decode()


def decode_value(codec: Codec, value: bytes | None) -> dict[str, Any]:
    """{"type": record name, "value": JSON form} or {"error": ..., "raw_base64": ...}."""
    if value is None:
        return {"type": None, "value": None}
    try:
        name, record = codec.decode(value)
        return {"type": name, "value": to_json(name, record)}
    except Exception as exc:  # noqa: BLE001 - shown, never fatal
        return {"error": f"{type(exc).__name__}: {exc}", "raw_base64": base64.b64encode(value).decode()}


def headers_of(msg) -> dict[str, str]:
    return {k: (_text(v) or "") for k, v in (msg.headers() or [])}


def describe(msg, codec: Codec, topics: Topics) -> dict[str, Any]:
    topic = msg.topic()
    kind, ts = msg.timestamp()
    out: dict[str, Any] = {
        "topic": topic, "partition": msg.partition(), "offset": msg.offset(),
        "timestamp": datetime.fromtimestamp(ts / 1000, UTC).isoformat(timespec="milliseconds")
        if kind != 0 and ts > 0 else None,
        "key": _text(msg.key()),
    }
    headers = headers_of(msg)
    if topic == topics.dlq:
        out["origin"] = {"topic": headers.get("origin.topic"), "partition": _int(headers.get("origin.partition")),
                         "offset": _int(headers.get("origin.offset"))}
        out["error"] = headers.get("error")
        if "harmony.replay.count" in headers:
            out["replay_count"] = _int(headers["harmony.replay.count"])
        out["original"] = decode_value(codec, msg.value() or None) if msg.value() else \
            {"error": "empty message (no value)"}
        return out
    if headers:
        out["headers"] = headers
    if topic in (getattr(topics, a) for a in JSON_TOPICS):
        v = msg.value()
        try:
            out["value"] = None if v is None else json.loads(v, parse_float=str)  # exact digits, never float
        except ValueError:
            out["value"] = _text(v)
        return out
    out.update(decode_value(codec, msg.value()))
    return out


def _int(v: str | None) -> int | None:
    try:
        return int(v) if v is not None else None
    except ValueError:
        return None
