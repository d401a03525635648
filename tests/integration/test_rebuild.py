"""`harmony rebuild`: Redis wiped mid-scenario, rebuilt from Kafka, scenario finished — the state
equals that of a run that never lost Redis (invariant: the changelog + ledger are a complete,
consistent copy of member state and input positions)."""
import random
import re

from streams.runtime.rebuild import rebuild
from tests.harness import Publisher, RunningWorker, bill, enrollment, posting, redemption, settings_for, wait_processed


def _events(rnd: random.Random, start: int, n: int, members: int):
    out = []
    for i in range(start, start + n):
        m = f"RB{rnd.randrange(members):03d}"
        r = rnd.random() * 0.9
        if r < 0.6:
            cat = rnd.choice(["ROOM", "ROOM", "FOOD_BEVERAGE", "TAX", "OTHER_SERVICE"])
            out.append(("postings", posting(f"P{i}", m, str(rnd.randrange(1000, 90000)), category=cat,
                                            channel=rnd.choice(["DIRECT", "TRAVEL_AGENCY", "OFFICIAL_WEBSITE"]))))
        elif r < 0.8:
            out.append(("bills", bill(f"B{i}", m, [("FOOD", str(rnd.randrange(1000, 20000))), ("TAX", "800")])))
        elif r < 0.9 and i > start + 5:
            out.append(("postings", posting(f"C{i}", m, "-5000", corrects=f"P{rnd.randrange(start, i)}")))
    return out


def _publish_in_steps(pub, s, events, members, tag):
    """One topic at a time, waiting in between: the order across topics is not defined by Kafka,
    and both runs must see the same order."""
    with RunningWorker(s):
        for kind in ("postings", "bills"):
            for k, e in events:
                if k == kind:
                    pub.send(kind, e)
            pub.flush()
            wait_processed(s)
        pub.send_many("redemptions", [redemption(f"R{tag}{i}", m["member_id"], "BREAKFAST_ADULT")
                                      for i, m in enumerate(members)])
        pub.flush()
        wait_processed(s)


def _normalize(value, prefix: bytes):
    """Topic prefixes differ between the runs, and so do the wall-clock times inputs were held at, the
    save tokens (``n``: random per save) and the versions (``v`` counts saves: one per member and
    batch, so it depends on how the inputs happened to be batched)."""
    if isinstance(value, dict):
        return {k: re.sub(rb'"first_seen":"[^"]*"', b"", v.replace(prefix, b"")) for k, v in value.items()
                if k not in (b"n", b"v")}
    return value


def _state(redis) -> dict:
    snap = {}
    for key in redis.scan_iter(match="{m:*"):
        k = key.decode()
        if k.endswith(":led"):
            snap[k] = redis.lrange(key, 0, -1)
        else:
            snap[k] = redis.hgetall(key)
    for key in redis.scan_iter(match="pos:*"):
        snap[key.decode()] = redis.get(key)
    for key in redis.scan_iter(match="idx:*"):
        if redis.type(key) == b"set":
            snap[key.decode()] = redis.smembers(key)
    return snap


def test_rebuild_after_losing_redis_equals_uninterrupted_run(kafka_bootstrap, redis_url, redis_clean, unique):
    from streams.kafka.admin import create_topics
    from streams.kafka.topics import Topics
    rnd = random.Random(7)
    members = [enrollment(f"RB{i:03d}") for i in range(20)]
    first, second = _events(rnd, 0, 300, 20), _events(rnd, 300, 300, 20)
    results = {}
    for run in ("ref", "reb"):
        redis_clean.flushall()
        topics = Topics(prefix=f"{unique}{run}.")
        create_topics(kafka_bootstrap, topics)
        s = settings_for(kafka_bootstrap, redis_url, topics, f"{unique}-{run}")
        pub = Publisher(kafka_bootstrap, topics)
        pub.send_many("enrollments", members)
        _publish_in_steps(pub, s, first, members, "a")
        if run == "reb":
            before = _state(redis_clean)
            redis_clean.flushall()
            stats = rebuild(s)
            assert stats["members"] >= 20 and stats["positions"] > 0
            assert _state(redis_clean) == before, "rebuilt state differs from the state that was lost"
        _publish_in_steps(pub, s, second, members, "b")
        results[run] = {k.replace(f"{unique}-{run}", "G").replace(f"{unique}{run}.", ""):
                        _normalize(v, f"{unique}{run}.".encode()) for k, v in _state(redis_clean).items()}
    assert results["reb"] == results["ref"]
