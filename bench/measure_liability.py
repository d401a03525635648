"""Measure `harmony report liability` over N members (default 1,000,000): peak memory and time.

Tooling, not the product: starts a private redis-server and Tansu broker, writes N synthetic
members straight into Redis (the layout the engine writes: core hash with lots, status and debt;
the lot indexes) and a matching ledger topic (EARN entries per lot, EARN + REVERSAL for members in
debt, plus republished copies), then runs the report as a child process and reads its peak RSS
(getrusage of the child). The report's own check (outstanding − debt = ledger net) must hold.

    .venv/bin/python tools/measure_liability.py --members 1000000
"""
from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

LOTS = ("2029-01-31", "2030-01-31", "2031-01-31")
STATUSES = ("REGULAR",) * 8 + ("LOYAL",) * 3 + ("EXCLUSIVE",)


def populate(redis_url: str, bootstrap: str, topic: str, members: int, seed: int) -> dict:
    from datetime import date

    from schemas.codec import Codec
    from streams.kafka.clients import make_producer
    from streams.redis.client import connect
    from streams.redis.keys import index_key, member_keys
    rng = random.Random(seed)
    r = connect(redis_url)
    codec = Codec()
    prod = make_producer(bootstrap, linger_ms=50, batch_num_messages=10000)
    at = datetime(2028, 3, 1, tzinfo=UTC)
    totals = {"lots": 0, "debt": 0, "entries": 0, "copies": 0}
    pipe = r.pipeline(transaction=False)
    idx: dict[str, list[str]] = {lot: [] for lot in LOTS}

    def entry(mid, sid, typ, points, lot, balance):
        totals["entries"] += 1
        rec = {"entry_id": f"{mid}/{sid}/{typ}", "member_id": mid, "type": typ, "points": points,
               "lot_expires_on": date.fromisoformat(lot) if lot else None, "source_id": sid,
               "hotel_code": rng.choice(("OKURA-TOKYO", "OKURA-FUKUOKA", "NIKKO-NARITA")),
               "business_date": None, "occurred_at": at + timedelta(minutes=rng.randrange(100_000)),
               "balance_after": balance, "config_version": "measure"}
        v = codec.encode_trusted("PointEntry", rec)
        prod.produce(topic, v, mid.encode())
        if rng.random() < 0.01:  # a republished copy (replayed batch)
            prod.produce(topic, v, mid.encode())
            totals["copies"] += 1

    for i in range(members):
        mid = f"M{i:07d}"
        fields = {"v": 1, "en": "2026-01-01|ACTIVE", "S:2028": rng.choice(STATUSES)}
        bal = 0
        if rng.random() < 0.01:  # in debt: earned 100, a correction took 150
            entry(mid, f"P:{i}", "EARN", 100, LOTS[0], 100)
            entry(mid, f"P:{i}c", "REVERSAL", -150, LOTS[0], -50)
            fields["debt"] = 50
            totals["debt"] += 50
        else:
            for lot in rng.sample(LOTS, rng.randint(1, 2)):
                p = rng.randint(50, 20_000)
                bal += p
                fields[f"L:{lot}"] = p
                idx[lot].append(mid)
                entry(mid, f"P:{i}{lot}", "EARN", p, lot, bal)
                totals["lots"] += p
        pipe.hset(member_keys(mid)[0], mapping=fields)
        if i % 5000 == 4999:
            for lot, ids in idx.items():
                if ids:
                    pipe.sadd(index_key(f"lots:{lot}"), *ids)
                    ids.clear()
            pipe.execute()
            prod.poll(0)
    for lot, ids in idx.items():
        if ids:
            pipe.sadd(index_key(f"lots:{lot}"), *ids)
    pipe.sadd(index_key("lotdates"), *LOTS)
    pipe.execute()
    assert prod.flush(300) == 0
    totals["redis_used_memory_mb"] = round(r.info("memory")["used_memory"] / 1e6, 1)
    return totals


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--members", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    from streams.devstack.redis import RedisServer
    from streams.devstack.tansu import TansuBroker
    from streams.kafka.admin import create_topics
    from streams.kafka.topics import Topics
    with tempfile.TemporaryDirectory(prefix="measure-liability-") as tmp, \
            RedisServer(workdir=Path(tmp) / "redis") as redis_server, \
            TansuBroker(workdir=Path(tmp) / "tansu") as broker:
        topics = Topics("ml.")
        create_topics(broker.bootstrap, topics)
        t0 = time.perf_counter()
        totals = populate(redis_server.url, broker.bootstrap, topics.ledger, args.members, args.seed)
        print(f"populated {args.members:,} members in {time.perf_counter() - t0:.0f} s: {json.dumps(totals)}",
              flush=True)
        env = dict(os.environ, KAFKA_BOOTSTRAP_SERVERS=broker.bootstrap, REDIS_URL=redis_server.url,
                   HARMONY_TOPIC_PREFIX="ml.")
        out = Path(tmp) / "report.json"
        t0 = time.perf_counter()
        with out.open("w") as fh:
            rc = subprocess.call([str(ROOT / ".venv" / "bin" / "harmony"), "report", "liability", "--as-of",
                                  "2028-06-30", "--json"], env=env, stdout=fh)
        seconds = time.perf_counter() - t0
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        report = json.loads(out.read_text())
        o, m = report["outstanding"], report["movement"]
        print(f"report: exit {rc}, {seconds:.0f} s (outstanding {report['seconds']['outstanding']} s, "
              f"movement {report['seconds']['movement']} s), peak RSS {peak_mb:.0f} MB")
        print(f"  outstanding {o['points']:,} points (expected {totals['lots']:,}), debt {o['debt_points']:,} "
              f"(expected {totals['debt']:,}); ledger: {m['entries']:,} entries, "
              f"{m['duplicates_skipped']:,} copies skipped, {m['buckets']} buckets; check equal: "
              f"{report['check']['equal']}")
        ok = rc == 0 and o["points"] == totals["lots"] and o["debt_points"] == totals["debt"] \
            and report["check"]["equal"] and m["duplicates_skipped"] == totals["copies"]
        print("OK" if ok else "MISMATCH")
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
