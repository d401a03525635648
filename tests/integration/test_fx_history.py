"""FX history is durable (issue 9 item 2), through Kafka + Redis.

Rates are published with the binding key ``CURRENCY:RATE_DATE`` (and one with the old key, the
currency alone); a record whose key disagrees with its value, and an undecodable one, go to the
dead-letter topic with their origin headers while the reader moves on. Then the worker stops, the
FX topic is "compacted" (deleted and recreated with only the newest rate per currency — all a
topic keyed by currency keeps, or one whose retention expired) and the worker starts again: a late
posting, a correction and a charge held for its enrollment, all with old business dates, still
decide with the rate of their business date. The same after Redis is lost and `harmony rebuild`
restores it. And `harmony publish fx.rates.v1` writes the new key.
"""
from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

import pytest

from streams.kafka.publishing import publish_file
from streams.runtime.fx_reader import HISTORY_KEY
from streams.runtime.rebuild import rebuild
from tests.harness import enrollment, fx_rate, posting, read_topic, settings_for
from tests.lifecycle_support import LifecycleEnv, recreate_topic, redis_db_url

M, LATE_M = "OHFX0001", "OHFX0002"
USD = [fx_rate("USD", "2026-03-10", "152.30"), fx_rate("USD", "2026-03-15", "151.00"),
       fx_rate("USD", "2026-06-01", "149.00")]
EUR_OLD_KEY = fx_rate("EUR", "2026-03-10", "163.40")


def _usd(pid: str, member: str, amount: str, bdate: str, corrects: str | None = None) -> dict:
    return posting(pid, member, amount, hotel="NIKKO-SAIPAN", currency="USD", bdate=bdate,
                   nights=0 if amount.startswith("-") else 1, corrects=corrects)


def _history(env: LifecycleEnv) -> dict[str, D]:
    return {k.decode(): D(v.decode()) for k, v in env.redis.hgetall(HISTORY_KEY).items()}


def _decisions(env: LifecycleEnv) -> dict[str, dict]:
    return {d["source_id"]: d for d in env.out("decisions") if d["outcome"] != "HELD"}


@pytest.fixture(scope="module")
def story(kafka_bootstrap, redis_url):
    with LifecycleEnv(kafka_bootstrap, redis_url, db=6, name="fxh") as env:
        pub = env.pub
        for r in USD:
            pub.send("fx", r)  # the binding key USD:2026-03-10 ...
        pub.send("fx", EUR_OLD_KEY, key="EUR")  # the key before: accepted
        pub.send("fx", fx_rate("USD", "2026-03-10", "999.00"), key="USD:2026-03-11")  # disagrees: DLQ
        pub.send("fx", None, key="USD:2026-03-12", raw=b"\xc3\x01not avro at all")  # undecodable: DLQ
        pub.send("enrollments", enrollment(M))
        env.sync()
        pub.send("postings", _usd("SPN-1", M, "250.00", "2026-03-14"))  # vector 10: 152.30 -> 761
        pub.send("postings", posting("AMS-1", M, "100.00", hotel="OKURA-AMSTERDAM", currency="EUR",
                                     bdate="2026-03-12"))  # 163.40 -> ¥16,340 -> 326
        pub.send("postings", _usd("SPN-HELD", LATE_M, "100.00", "2026-03-12"))  # held: not enrolled yet
        env.sync()
        out = {"before": _decisions(env), "dlq": [d for d in env.out("dlq") if d["headers"].get("origin.topic")
                                                   == env.topics.fx.encode()],
               "history": _history(env)}

        # a plain restart reads the whole topic again, but dead-letters nothing twice
        env.restart_worker()
        pub.send("postings", _usd("SPN-2", M, "10.00", "2026-03-16"))  # 151.00 -> ¥1,510 -> 30
        env.sync()
        out["dlq_after_plain_restart"] = [d for d in env.out("dlq") if d["headers"].get("origin.topic")
                                          == env.topics.fx.encode()]
        out["plain_restart"] = _decisions(env)

        # stop, "compact" the topic to the newest rate per currency, start again
        def compact():
            recreate_topic(kafka_bootstrap, env.topics.fx)
            pub.send("fx", USD[-1])
            pub.send("fx", EUR_OLD_KEY, key="EUR")
            pub.flush()
        env.restart_worker(compact)
        pub.send("postings", _usd("SPN-LATE", M, "100.00", "2026-03-12"))  # late: 152.30 -> 304
        pub.send("postings", _usd("SPN-FIX", M, "-50.00", "2026-03-16", corrects="SPN-1"))  # a correction
        pub.send("enrollments", enrollment(LATE_M))  # releases SPN-HELD: 152.30 -> 304
        env.sync()
        out["after_restart"] = _decisions(env)
        out["dlq_after_restart"] = [d for d in env.out("dlq") if d["headers"].get("origin.topic")
                                    == env.topics.fx.encode()]

        # Redis lost: rebuilt from Kafka (changelog), and a later late posting still finds its rate
        def lose_redis():
            env.redis.flushdb()
            out["rebuild"] = rebuild(env.settings)
            out["history_rebuilt"] = _history(env)
        env.restart_worker(lose_redis)
        pub.send("postings", _usd("SPN-REBUILT", M, "10.00", "2026-03-13"))  # 152.30 -> ¥1,523 -> 30
        env.sync()
        out["after_rebuild"] = _decisions(env)
        yield out


def test_key_mismatch_and_undecodable_rates_go_to_the_dlq(story):
    dlq = story["dlq"]
    assert len(dlq) == 2
    by_key = {d["key"]: d for d in dlq}
    mismatch = by_key[b"USD:2026-03-11"]["headers"]
    assert mismatch["error"].startswith(b"KeyMismatch: FX key 'USD:2026-03-11' disagrees with its value")
    assert b"expected 'USD:2026-03-10'" in mismatch["error"]
    assert {"origin.topic", "origin.partition", "origin.offset", "error"} <= set(mismatch)
    assert by_key[b"USD:2026-03-12"]["value"] == b"\xc3\x01not avro at all"
    # ... and the reader moved on: the rates after them were used, the mismatched value never
    assert story["before"]["P:SPN-1"]["fx_rate"] == D("152.30")
    assert story["before"]["P:SPN-1"]["base_points"] == 761
    assert story["before"]["P:AMS-1"]["base_points"] == 326  # the old key (EUR) is accepted


def test_a_restart_does_not_dead_letter_the_same_record_again(story):
    assert len(story["dlq_after_plain_restart"]) == 2
    d = story["plain_restart"]["P:SPN-2"]
    assert (d["fx_rate"], d["base_points"]) == (D("151.00"), 30)


def test_the_history_is_kept_in_redis(story):
    assert story["history"] == {"USD:2026-03-10": D("152.30"), "USD:2026-03-15": D("151.00"),
                                "USD:2026-06-01": D("149.00"), "EUR:2026-03-10": D("163.40")}


def test_after_compaction_and_restart_old_dates_use_their_rate(story):
    after = story["after_restart"]
    late, held, fix = after["P:SPN-LATE"], after["P:SPN-HELD"], after["P:SPN-FIX"]
    assert (late["outcome"], late["fx_rate"], late["base_points"]) == ("EARNED", D("152.30"), 304)
    assert (held["outcome"], held["fx_rate"], held["base_points"]) == ("EARNED", D("152.30"), 304)
    assert fix["outcome"] == "EARNED" and fix["reversed_points"] == 152  # 20 % of 761
    # the restart read the dead letters again but did not send them again
    assert len(story["dlq_after_restart"]) == 2


def test_rebuild_restores_the_history(story):
    assert story["rebuild"]["fx rates"] >= 4
    assert story["history_rebuilt"] == story["history"]
    d = story["after_rebuild"]["P:SPN-REBUILT"]
    assert (d["outcome"], d["fx_rate"], d["base_points"]) == ("EARNED", D("152.30"), 30)


def test_harmony_publish_writes_the_binding_key(kafka_bootstrap, redis_url, unique, tmp_path: Path):
    from streams.kafka.admin import create_topics
    from streams.kafka.topics import Topics
    topics = Topics(prefix=f"{unique}.")
    create_topics(kafka_bootstrap, topics)
    s = settings_for(kafka_bootstrap, redis_db_url(redis_url, 6), topics, f"{unique}-g")
    f = tmp_path / "rates.jsonl"
    f.write_text('{"currency": "USD", "rate_date": "2026-03-10", "jpy_per_unit": "152.30"}\n'
                 '{"currency": "THB", "rate_date": "2026-03-11", "jpy_per_unit": "4.25"}\n')
    assert publish_file(s, "fx.rates.v1", f) == (2, 0)
    assert sorted(m.key() for m in read_topic(kafka_bootstrap, topics.fx)) == [b"THB:2026-03-11",
                                                                               b"USD:2026-03-10"]
