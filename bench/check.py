"""`harmony bench` balance checks: ``--check`` (a single reference worker replays the same topics into
another Redis database; every member must equal the measured run's) and ``--compare FILE`` (the
balances' digest and sample against an earlier bench JSON of the same traffic)."""
from __future__ import annotations

import json
import time
from pathlib import Path

from bench.base import Bench
from bench.engine_phase import spawn_worker
from bench.report import balances_summary, read_members
from bench.traffic import totals, wait_positions
from streams.kafka.topics import Topics


def check_phase(b: Bench, E: Topics, enrollments, all_charges) -> None:
    res = b.result
    group = f"{b.run_id}-reference"
    r = b.redis("reference")
    b.say("check: a single reference worker replays the same topics into another Redis database ...")
    w = spawn_worker(b, "reference", E, group, "reference")
    t0 = time.perf_counter()
    targets = totals(b, E)
    wait_positions(b, r, group, targets, max(600.0, sum(targets.values()) / 200), [w], poll=0.1)
    took = time.perf_counter() - t0
    w.stop()
    ref = read_members(r, len(enrollments))
    r.close()
    e = b.redis("engine")
    got = read_members(e, len(enrollments))
    e.close()
    diff = [mid for mid in ref if ref[mid] != got.get(mid)]
    res["check"] = {"reference_workers": 1, "compared_members": len(ref), "mismatches": len(diff),
                    "mismatch_examples": {mid: {"measured": list(got.get(mid) or ()), "reference": list(ref[mid])}
                                          for mid in diff[:5]},
                    "reference_seconds": round(took, 1),
                    "reference_digest": balances_summary(ref)["digest"], "ok": not diff}
    b.say(f"check: {len(ref):,} members compared with a 1-worker reference: "
          + ("identical" if not diff else f"{len(diff):,} DIFFER"))


def compare_phase(b: Bench, path: str) -> None:
    res = b.result
    other = json.loads(Path(path).read_text())
    keys = ("events", "members", "seed", "start", "days", "zipf")
    same_traffic = all(other.get("config", {}).get(k) == res["config"].get(k) for k in keys) and \
        other.get("generate", {}).get("latency_charges") == res["generate"]["latency_charges"]
    mine, theirs = res["balances"], other.get("balances", {})
    sample_diff = {m: (mine["sample"].get(m), bal) for m, bal in theirs.get("sample", {}).items()
                   if mine["sample"].get(m) != bal}
    res["compare"] = {"file": path, "same_traffic": same_traffic,
                      "digest_equal": mine["digest"] == theirs.get("digest"),
                      "sample_mismatches": len(sample_diff),
                      "other_workers": other.get("config", {}).get("workers")}
    res["compare"]["ok"] = same_traffic and res["compare"]["digest_equal"] and not sample_diff
    b.say(f"compare with {path} ({res['compare']['other_workers']} worker(s)): "
          + ("identical balances" if res["compare"]["ok"] else f"{res['compare']}"))
