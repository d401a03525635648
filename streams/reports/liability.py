"""The points-liability report as one JSON-ready dict: outstanding (Redis indexes,
streams/reports/outstanding.py) and movement (ledger topic, streams/reports/movement.py), with the checks a
finance reader wants to see: outstanding − debt = Σ balances = Σ ledger entries."""
from __future__ import annotations

import time
from datetime import date

from streams.reports import movement as liability_ledger
from streams.reports import outstanding as liability


def build(settings, as_of: date, yen_override: str | None = None, redis=None, codec=None,
          bucket_entries: int = liability_ledger.BUCKET_ENTRIES) -> dict:
    from schemas.codec import Codec
    from streams.redis.client import connect
    from streams.runtime.config_file import load_config
    cfg = load_config(settings.config_path)
    yen = liability.yen_per_point(cfg, yen_override)
    own = redis is None
    redis = redis or connect(settings.redis_url)
    started = time.perf_counter()
    try:
        out = liability.outstanding(redis, as_of)
    finally:
        if own:
            redis.close()
    outstanding_s = time.perf_counter() - started
    mv = liability_ledger.movement(settings.bootstrap, settings.topics.ledger, as_of,
                                   codec or Codec(settings.registry_url), bucket_entries=bucket_entries)
    movement_s = time.perf_counter() - started - outstanding_s
    o = liability.as_dict(out, yen)
    m = liability_ledger.as_dict(mv, cfg, as_of)
    return {
        "as_of": as_of.isoformat(), "yen_per_point": str(yen), "config_version": cfg.version,
        "outstanding": o, "movement": m,
        "check": {"outstanding_minus_debt": o["net_points"], "ledger_net_points": m["net_points"],
                  "equal": o["net_points"] == m["net_points"] and m["entries_after_as_of"] == 0,
                  "note": "equal when the ledger is read up to now (no entry after the as-of date)"},
        "seconds": {"outstanding": round(outstanding_s, 3), "movement": round(movement_s, 3)},
        "scanned": {"lot_index_entries": out.index_entries_read, "member_keys": out.member_keys_scanned},
    }
