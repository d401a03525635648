"""The report of `harmony bench`: reading balances back, profile summaries, the printed table."""
from __future__ import annotations

import hashlib
import re
from collections import Counter
from pathlib import Path

from streams.simulate.messages import member_id

REPO_ROOT = Path(__file__).resolve().parent.parent


def read_members(r, members: int, chunk: int = 2000) -> dict[str, tuple]:
    """Every member's (balance, lots, qualifying, enrollment, held inputs) as the engine's store loads
    them (so the comparison follows any change of the Redis layout); the version is left out."""
    from schemas.codec import Codec
    from streams.engine.events import to_domain
    from streams.redis.member_store import MemberStore
    codec = Codec()
    store = MemberStore(r, lambda topic, raw: to_domain(*codec.decode(raw)))
    out = {}
    ids = [member_id(i) for i in range(members)]
    for k in range(0, len(ids), chunk):
        for mid, m in store.load_many({mid: () for mid in ids[k:k + chunk]}).items():
            lots = tuple(sorted((d.isoformat(), p) for d, p in m.lots.by_expiry.items() if p))
            q = tuple(sorted((y, (x.points, x.nights, x.carried_points, x.carried_nights))
                             for y, x in m.qualifying.items()))
            en = f"{m.enrolled_on.isoformat()}|{m.enrollment_state}" if m.enrolled_on else None
            out[mid] = (m.balance, lots, q, en, len(m.held))
    return out


def balances_summary(states: dict[str, tuple], sample: int = 25) -> dict:
    digest = hashlib.sha256()
    for mid in sorted(states):
        digest.update(f"{mid}|{states[mid]!r}\n".encode())
    with_points = sorted(m for m, s in states.items() if s[0])
    step = max(1, len(with_points) // sample) if with_points else 1
    return {"members": len(states), "digest": digest.hexdigest(),
            "total_points": sum(s[0] for s in states.values()),
            "members_with_points": len(with_points),
            "members_with_held_inputs": sum(1 for s in states.values() if s[4]),
            "sample": {m: states[m][0] for m in with_points[::step][:sample]}}


# ---------------------------------------------------------------------------------------- profiles
def profile_top(path: str, n: int = 15) -> dict:
    import pstats
    st = pstats.Stats(path)
    total = st.total_tt or 1e-9  # type: ignore[attr-defined]  # set by pstats.Stats, not declared in typeshed
    rows = []
    for (file, line, fn), (_cc, nc, tt, ct, _) in st.stats.items():  # type: ignore[attr-defined]  # as total_tt
        rows.append({"function": f"{_short(file)}:{line}({fn})", "ncalls": nc, "tottime": round(tt, 3),
                     "cumtime": round(ct, 3), "tottime_pct": round(100 * tt / total, 1)})
    by_tot = sorted(rows, key=lambda r: -r["tottime"])[:n]
    by_cum = sorted(rows, key=lambda r: -r["cumtime"])[:n]
    return {"total_seconds": round(total, 2), "by_tottime": by_tot, "by_cumtime": by_cum}


def py_spy_top(path: str, n: int = 15) -> dict:
    """Self and inclusive sample shares of functions from py-spy's raw (collapsed stacks) output."""
    own: Counter = Counter()
    incl: Counter = Counter()
    total = 0
    try:
        text = Path(path).read_text()
    except OSError:
        return {}
    for line in text.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        c = int(count)
        total += c
        frames = stack.split(";")
        own[_frame(frames[-1])] += c
        for f in {_frame(x) for x in frames}:
            incl[f] += c
    pct = (lambda c: round(100 * c / total, 1)) if total else (lambda c: 0.0)
    return {"samples": total,
            "by_self": [{"function": f, "pct": pct(c)} for f, c in own.most_common(n)],
            # the root chain (runpy, cli, Worker.run) is in every sample: leave it out
            "by_inclusive": [{"function": f, "pct": pct(c)} for f, c in incl.most_common()
                             if c < 0.95 * total][:n]}


def _frame(f: str) -> str:
    # "func (path/to/file.py:123)" -> "func (file.py)"
    m = re.match(r"(.*) \((.*?):\d+\)$", f)
    if not m:
        return f
    return f"{m.group(1)} ({_short(m.group(2))})"


def _short(file: str) -> str:
    for marker in ("site-packages/", "/work/main/", str(REPO_ROOT) + "/"):
        if marker in file:
            return file.split(marker, 1)[1]
    return file.rsplit("/", 2)[-1] if "/" in file else file


# ---------------------------------------------------------------------------------------- report
def report(res: dict) -> str:
    cfg = res["config"]
    out: list[str] = []
    w = out.append
    w("")
    w(f"harmony bench — {cfg['events']:,} charges, {cfg['members']:,} members, {cfg['partitions']} partitions, "
      f"{cfg['workers']} worker(s), batch {cfg['batch_size']}, seed {cfg['seed']}"
      + ("  [PROFILED: rates are not representative]" if cfg.get("profiled") else ""))
    env = res["environment"]
    w(f"broker {env['bootstrap']}, Redis {env['redis']} "
      f"(started for the bench: {', '.join(env['started']) or 'none'}), "
      f"{env['cpus']} CPUs, Python {env['python']}, load average at start {env.get('loadavg_at_start')}")
    code = env.get("code") or {}
    w(f"code: commit {code.get('commit')}" + (f" + working-tree changes in {', '.join(code['modified'])}"
                                              if code.get("modified") else ""))
    w("")
    w(f"{'throughput':<44}{'events':>10}{'seconds':>10}{'events/s':>12}")
    rows = []
    if "limit" in res:
        rows.append(("limit: confluent-kafka pass-through", res["limit"]))
    if "naive" in res:
        rows.append(("naive: faust agent, 1 event at a time", res["naive"]))
    if "engine" in res:
        e = res["engine"]
        rows.append((f"engine: {e['workers']} worker(s), end to end", e))
        rows.append(("  (enrollments, same workers)", e["enrollments"]))
    for name, r in rows:
        w(f"{name:<44}{r['events']:>10,}{r['seconds']:>10.1f}{r['events_per_s']:>12,.0f}")
    rat = res.get("ratios", {})
    if rat:
        w("")
        if "engine_vs_naive" in rat:
            w(f"engine / naive  {rat['engine_vs_naive']:.1f}x")
        if "engine_vs_limit" in rat:
            w(f"engine / limit  {rat['engine_vs_limit']:.3f}  ({100 * rat['engine_vs_limit']:.1f} % of pass-through)")
    if "ceiling" in res:
        c = res["ceiling"]
        u = c["us_per_event"]
        w("")
        w(f"ceiling, one process, members in memory, no Redis/Kafka ({c['events']:,} charges): decode "
          f"{u['decode']:.1f} + rules {u['rules']:.1f} + outputs {u['outputs']:.1f} = {c['us_total']:.1f} us/event"
          f" -> at most {c['events_per_s']:,} events/s per process")
        if "engine" in res:
            e = res["engine"]
            worker_cpu = sum(v for k, v in e.get("cpu_seconds", {}).items() if k.startswith("worker"))
            per = f"; worker CPU {worker_cpu / e['events'] * 1e6:.0f} us/event" if worker_cpu else ""
            w(f"  engine end to end per worker: {e['events_per_s'] / e['workers']:,.0f} events/s = "
              f"{100 * e['events_per_s'] / e['workers'] / c['events_per_s']:.0f} % of the ceiling{per}")
    if "latency" in res:
        L = res["latency"]
        w("")
        w(f"latency publish -> balance visible in Redis, {L['offered_rate']:,.0f}/s offered "
          f"({L['achieved_rate']:,.0f}/s achieved, {L['samples']:,} samples, poll {L['poll_ms']:.0f} ms):")
        w(f"  p50 {L['p50_ms']:.1f} ms   p95 {L['p95_ms']:.1f} ms   p99 {L['p99_ms']:.1f} ms   max {L['max_ms']:.1f} ms"
          f"   (p50 first/second half {L['p50_first_half_ms']:.0f}/{L['p50_second_half_ms']:.0f} ms; "
          f"consumer fetch.wait.max.ms {L['consumer_fetch_wait_max_ms']})")
        if "acked_p99_ms" in L:
            w(f"  of which produce() -> acknowledged by the broker: p50 {L['acked_p50_ms']:.1f} ms   "
              f"p99 {L['acked_p99_ms']:.1f} ms")
        if L.get("cpu_percent"):
            w("  CPU meanwhile, % of one core: " + ", ".join(f"{k} {v:.0f}" for k, v in L["cpu_percent"].items()
                                                             if k != "machine")
              + f" (machine {L['cpu_percent'].get('machine', 0):.0f} of {100 * (env.get('cpus') or 1)})")
    for L in res.get("latency_sweep", []):
        w(f"  at {L['offered_rate']:,.0f}/s offered: p50 {L['p50_ms']:.1f} ms   p95 {L['p95_ms']:.1f} ms   "
          f"p99 {L['p99_ms']:.1f} ms   max {L['max_ms']:.1f} ms ({L['samples']:,} samples; broker ack p99 "
          f"{L.get('acked_p99_ms', 0):.1f} ms; worker CPU "
          + ", ".join(f"{v:.0f} %" for k, v in L.get("cpu_percent", {}).items() if k.startswith("worker")) + ")")
    if "memory" in res:
        m = res["memory"]
        w("")
        rss = ", ".join(f"{k} {(v or 0) / 1024:.0f} MB" for k, v in m.get("worker_peak_rss_kb", {}).items())
        w(f"worker peak RSS (VmHWM): {rss}")
        ks = m["member_keys_sampled"]
        w(f"Redis: +{m['redis_used_memory_delta'] / 1e6:,.1f} MB used_memory for {m['members']:,} members = "
          f"{m['redis_bytes_per_member']:,.0f} B/member  (MEMORY USAGE per member, {ks['sample']} sampled: "
          f"core {ks['core']:.0f}, src {ks['src']:.0f}, held {ks['held']:.0f}, ledger {ks['led']:.0f}, "
          f"total {ks['total']:.0f} B)")
    if "engine" in res and res["engine"].get("cpu_seconds"):
        e = res["engine"]
        cpu = ", ".join(f"{k} {v:.1f} s" for k, v in e["cpu_seconds"].items() if k != "machine")
        cap = e.get("machine_cpu_capacity_seconds")
        w(f"CPU during the timed engine phase ({e['seconds']:.1f} s wall"
          + (f", {cap:.0f} CPU-s available, {e['cpu_seconds'].get('machine', 0):.1f} used" if cap else "")
          + f"): {cpu}")
        if e["cpu_seconds"].get("other_processes", 0) > 0.1 * e["seconds"]:
            w("  NOTE: other processes used the CPUs during the run: numbers are lower than on an idle machine")
    if "balances" in res:
        b = res["balances"]
        w("")
        w(f"balances: {b['members']:,} members, {b['members_with_points']:,} with points, total {b['total_points']:,} "
          f"points, {b['members_with_held_inputs']} with held inputs; digest {b['digest'][:16]}")
    if "check" in res:
        c = res["check"]
        w(f"check vs 1-worker reference: {c['compared_members']:,} members, "
          + ("identical" if c["ok"] else f"{c['mismatches']:,} MISMATCHES e.g. {c['mismatch_examples']}"))
    if "compare" in res:
        c = res["compare"]
        w(f"compare with {c['file']}: " + ("identical balances" if c["ok"] else f"DIFFERENT {c}"))
    if "profile" in res:
        p = res["profile"]
        if "top" in p:
            w("")
            w(f"cProfile of worker0 during the timed engine phase ({p['top']['total_seconds']:.1f} s of CPU time "
              "profiled), top by own time:")
            w(f"  {'tottime':>8} {'%':>5} {'cumtime':>8} {'ncalls':>10}  function")
            for row in p["top"]["by_tottime"]:
                w(f"  {row['tottime']:>8.2f} {row['tottime_pct']:>5.1f} {row['cumtime']:>8.2f} {row['ncalls']:>10,}  "
                  f"{row['function']}")
        if "py_spy" in p and p["py_spy"].get("top"):
            t = p["py_spy"]["top"]
            w("")
            w(f"py-spy of worker0 during the timed engine phase ({t['samples']:,} samples), top by self / inclusive:")
            for a, b in zip(t["by_self"], t["by_inclusive"]):
                w(f"  {a['pct']:>5.1f} % {a['function']:<60.60}  {b['pct']:>5.1f} % {b['function']}")
    w("")
    return "\n".join(out)


# ---------------------------------------------------------------------------------------- main
