"""Measure the expiry job at scale: `python -m bench.measure_expiry --members 100000`.

Starts a private redis-server (streams.devstack.redis.RedisServer), seeds N members through the engine
API (``Engine.process`` on encoded enrollment + posting messages, as the worker would apply them;
no Kafka), each with a 2026 lot (expires after 2029-01-31) and a 2027 lot, then runs
``streams.engine.jobs.expire`` as of 2029-02-01 and prints members/s, seconds and peak RSS.

Seeding runs in a child process, so the peak RSS reported (``resource.getrusage``, ru_maxrss)
belongs to the expiry job alone (plus the interpreter and imports). The job's records are
encoded as for Kafka but counted instead of published.
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from decimal import Decimal

SEED_BATCH = 1000  # members per engine batch while seeding


def _rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _parts(redis_url: str):
    from streams.runtime.bootstrap import build_engine
    from streams.runtime.settings import Settings
    return build_engine(Settings(redis_url=redis_url))


def seed(redis_url: str, members: int, first: int = 0) -> dict:
    """Enroll ``members`` members and give each a 2026 and a 2027 lot, through Engine.process."""
    from streams.engine.batch import Message
    parts = _parts(redis_url)
    engine, codec, t = parts.engine, parts.codec, parts.settings.topics
    started = time.perf_counter()
    offset = 0
    for start in range(first, first + members, SEED_BATCH):
        msgs = []
        for i in range(start, min(start + SEED_BATCH, first + members)):
            mid = f"X{i:08d}"
            msgs.append(Message(t.enrollments, 0, offset, mid.encode(), codec.encode("MemberEnrollment", {
                "member_id": mid, "enrolled_on": date(2026, 1, 1), "state": "ACTIVE"})))
            for year, amount in ((2026, 10_000 + i % 5_000), (2027, 20_000)):
                msgs.append(Message(t.postings, 0, offset, mid.encode(), codec.encode("FolioPosting", {
                    "posting_id": f"{mid}-{year}", "hotel_code": "OKURA-TOKYO", "reservation_id": f"R{mid}",
                    "member_id": mid, "business_date": date(year, 6, 1),
                    "posted_at": datetime(year, 6, 1, 3, tzinfo=UTC), "category": "ROOM",
                    "amount": Decimal(amount), "currency": "JPY", "nights": 1, "booking_channel": "DIRECT",
                    "rate_plan": None, "corrects_posting_id": None})))
            offset += 1
        engine.process(msgs)
    seconds = time.perf_counter() - started
    return {"seeded": members, "seed_seconds": round(seconds, 2), "seed_members_per_s": round(members / seconds)}


def measure(redis_url: str, as_of: date, chunk: int) -> dict:
    from streams.engine import jobs
    parts = _parts(redis_url)
    engine = parts.engine
    redis = parts.redis
    counted = {"records": 0, "bytes": 0}

    def publish(result) -> None:  # encoded like for Kafka, counted instead of sent
        counted["records"] += len(result.records)
        counted["bytes"] += sum(len(r.value) for r in result.records)

    rss_before = _rss_mb()
    mem_before = redis.info("memory")["used_memory"]
    report = jobs.expire(engine, as_of, publish, chunk=chunk)
    again = jobs.expire(engine, as_of, publish, chunk=chunk)
    return {
        "members_expired": report.members, "changed": report.changed, "points_expired": report.points,
        "seconds": round(report.seconds, 2), "members_per_s": round(report.members / report.seconds)
        if report.seconds else None,
        "records": counted["records"], "record_bytes": counted["bytes"],
        "rss_before_job_mb": round(rss_before, 1), "peak_rss_mb": round(_peak_mb(), 1),
        "second_run_members": again.members, "second_run_seconds": round(again.seconds, 3),
        "redis_used_memory_mb_before": round(mem_before / 2**20, 1),
        "redis_used_memory_mb_after": round(redis.info("memory")["used_memory"] / 2**20, 1),
        "chunk": chunk,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.measure_expiry", description=__doc__.splitlines()[0])
    p.add_argument("--members", type=int, default=100_000)
    p.add_argument("--chunk", type=int, default=1000, help="members per compare-and-set round of the job")
    p.add_argument("--as-of", default="2029-02-01")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--seed-into", default=None, help=argparse.SUPPRESS)  # child mode: seed this Redis URL
    args = p.parse_args(argv)
    if args.seed_into:
        print(json.dumps(seed(args.seed_into, args.members)))
        return 0
    from streams.devstack.redis import RedisServer
    with RedisServer(appendonly=False) as server:
        child = subprocess.run([sys.executable, "-m", "bench.measure_expiry", "--members", str(args.members),
                                "--seed-into", server.url], capture_output=True, text=True)
        if child.returncode != 0:
            print(child.stderr, file=sys.stderr)
            return child.returncode
        seeded = json.loads(child.stdout.strip().splitlines()[-1])
        result = {"members": args.members, **seeded, **measure(server.url, date.fromisoformat(args.as_of), args.chunk)}
    if args.json:
        print(json.dumps(result))
    else:
        per_s = result["members_per_s"] or 0
        print(f"seeded {result['seeded']:,} members in {result['seed_seconds']} s "
              f"({result['seed_members_per_s']:,}/s, through Engine.process)")
        print(f"expire as of {args.as_of}: {result['members_expired']:,} members "
              f"({result['changed']:,} changed, {result['points_expired']:,} points) in {result['seconds']} s "
              f"= {per_s:,} members/s; {result['records']:,} output records")
        print(f"peak RSS {result['peak_rss_mb']} MB (before the job {result['rss_before_job_mb']} MB); "
              f"second run: {result['second_run_members']} members in {result['second_run_seconds']} s")
        print(f"redis used memory {result['redis_used_memory_mb_before']} MB -> "
              f"{result['redis_used_memory_mb_after']} MB")
        if per_s:
            print(f"extrapolated to 1,000,000 members: {1_000_000 / per_s:.0f} s "
                  f"(~{1_000_000 / per_s / 60:.1f} min), memory flat (chunks of {result['chunk']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
