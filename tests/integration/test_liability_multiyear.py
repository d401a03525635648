"""The points-liability report on the seeded multi-year scenario of test_multiyear.py (its builder
and oracle, imported; run here on its own Redis database and topics).

The report's totals must equal Σ balances of every member (read member by member), the oracle's
Σ ledger, and an independent sum over the ledger topic (de-duplicated by entry id); its expiry
buckets the lots held; its movement and breakage the ledger entries by type and lot. The spilled
(bucketed) reading of the ledger gives the same result as the in-memory one, and a republished
entry is counted once.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date

import pytest

from schemas.codec import Codec
from streams.reports import movement as liability_ledger
from streams.reports import outstanding as liability
from streams.reports.liability import build
from streams.runtime.config_file import load_config
from tests.integration.test_multiyear import GHOSTS, MEMBERS, Scenario
from tests.lifecycle_oracle import Oracle
from tests.lifecycle_support import LifecycleEnv

AS_OF = date(2030, 12, 31)  # after the scenario's last entry


@pytest.fixture(scope="module")
def story(kafka_bootstrap, redis_url):
    with LifecycleEnv(kafka_bootstrap, redis_url, db=6, name="lia") as env:
        oracle = Oracle()
        Scenario(env, oracle).run()
        yield env, oracle


def _ledger(env) -> dict[str, dict]:
    entries: dict[str, dict] = {}
    for e in env.out("ledger"):
        entries.setdefault(e["entry_id"], e)
    return entries


def test_liability_totals_equal_balances_and_the_ledger(story):
    env, oracle = story
    report = build(env.settings, AS_OF, redis=env.redis)
    o, m = report["outstanding"], report["movement"]
    members = [env.member(mid) for mid in MEMBERS + GHOSTS]
    balances = sum(x.balance for x in members)
    lots: dict[str, int] = defaultdict(int)
    for x in members:
        for d, p in x.lots.by_expiry.items():
            if p:
                lots[d.isoformat()] += p
    entries = _ledger(env)
    ledger_sum = sum(e["points"] for e in entries.values())

    assert o["net_points"] == balances == ledger_sum == sum(om.ledger for om in oracle.members.values())
    assert o["points"] == sum(lots.values()) and o["debt_points"] == sum(x.lots.debt for x in members)
    assert {e["expires_on"]: e["points"] for e in o["by_expiry"]} == dict(lots)
    assert sum(s["points"] for s in o["by_status"]) == o["points"]
    assert o["yen"] == str((o["points"] * liability.yen_per_point(load_config(env.settings.config_path))).quantize(
        __import__("decimal").Decimal("0.01")))
    assert report["check"]["equal"] and m["entries_after_as_of"] == 0
    assert m["entries"] == len(entries)

    by_type: dict[str, int] = defaultdict(int)
    by_lot: dict[tuple[str, str], int] = defaultdict(int)
    for e in entries.values():
        by_type[e["type"]] += e["points"]
        if e["lot_expires_on"]:
            by_lot[(e["lot_expires_on"].isoformat(), e["type"])] += e["points"]
    assert {t: v for t, v in m["by_type"].items() if v} == {t: v for t, v in by_type.items() if v}
    assert sum(r["net"] for r in m["monthly"]) == sum(r["net"] for r in m["by_hotel"]) == ledger_sum
    assert sum(r["expired"] for r in m["monthly"]) == -by_type["EXPIRE"] > 0
    for b in m["breakage"]:
        issued = sum(by_lot[(b["lot_expires_on"], t)] for t in ("EARN", "BONUS", "REVERSAL"))
        expired = -by_lot[(b["lot_expires_on"], "EXPIRE")]
        assert (b["issued"], b["expired"]) == (issued, expired)
        assert b["earn_year"] == int(b["lot_expires_on"][:4]) - 3  # default validity: 31 January Y+3
    assert any(b["final"] and b["expired"] > 0 for b in m["breakage"])


def test_bucketed_ledger_reading_and_duplicates(story):
    env, _ = story
    codec = Codec()
    cfg = load_config(env.settings.config_path)
    whole = liability_ledger.as_dict(
        liability_ledger.movement(env.bootstrap, env.topics.ledger, AS_OF, codec), cfg, AS_OF)
    spilled_mv = liability_ledger.movement(env.bootstrap, env.topics.ledger, AS_OF, codec, bucket_entries=500)
    assert spilled_mv.buckets > 3
    spilled = liability_ledger.as_dict(spilled_mv, cfg, AS_OF)
    for k in ("by_type", "monthly", "by_hotel", "breakage", "net_points", "entries"):
        assert spilled[k] == whole[k], k
    # a republished entry (same id, as a replayed batch produces) is counted once
    from tests.lifecycle_support import read_new
    first = read_new(env.bootstrap, env.topics.ledger)[0]
    env.pub.producer.produce(env.topics.ledger, first.value(), first.key())
    env.pub.flush()
    again = liability_ledger.movement(env.bootstrap, env.topics.ledger, AS_OF, codec, bucket_entries=500)
    assert again.duplicates == spilled_mv.duplicates + 1 and again.by_type == spilled_mv.by_type


def test_csv_and_png(story, tmp_path):
    env, _ = story
    from streams.reports.charts import write_png
    from streams.reports.output import text, write_csv
    report = build(env.settings, date(2029, 6, 30), redis=env.redis)
    files = write_csv(report, tmp_path / "liability.csv")
    assert [f.name for f in files] == ["liability.csv", "liability-monthly.csv", "liability-hotels.csv",
                                       "liability-breakage.csv"]
    assert files[0].read_text().splitlines()[0] == "expires_on,status,points,yen"
    pngs = write_png(report, tmp_path / "png")
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 10_000 for p in pngs)
    t = text(report)
    assert "outstanding" in t and "breakage by earn-year" in t
    # as of mid-2029 the movement stops there: later entries are left out, and said so
    assert report["movement"]["entries_after_as_of"] > 0 and not report["check"]["equal"]


def test_print_report_for_the_readme(story):
    """The README's example output and charts (HARMONY_README_CHARTS=1 writes docs/img/*.png)."""
    import os
    from pathlib import Path

    from streams.reports.output import text
    env, _ = story
    report = build(env.settings, date(2030, 2, 1), redis=env.redis)
    assert report["check"]["equal"]
    print("\n" + text(report))
    if os.environ.get("HARMONY_README_CHARTS"):
        from streams.reports.charts import write_png
        write_png(report, Path(__file__).resolve().parents[2] / "docs" / "img")
