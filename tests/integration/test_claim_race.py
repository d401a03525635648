"""Two members claim the same charge at the same time (different workers): only one earns it. The
race is made deterministic: another claim takes the charge between this member's decision and its
save (the moment a concurrent worker could), and the engine must decide the member again."""
from __future__ import annotations

from datetime import datetime, timedelta

from processors.model import JST
from schemas.jsonio import from_json
from streams.engine.batch import Message
from streams.redis.kept_charges import charge_key
from streams.runtime.bootstrap import build_engine
from streams.runtime.settings import Settings
from tests.harness import enrollment, posting
from tests.office_support import claim


def test_a_claim_that_loses_the_charge_at_save_time_is_already_credited(redis_url, redis_clean, unique):
    engine = build_engine(Settings(redis_url=redis_url, group=unique)).engine
    t, codec = engine.topics, engine.codec
    bd = (datetime.now(JST).date() - timedelta(days=5)).isoformat()

    def msg(topic, name, obj, offset):
        return Message(topic, 0, offset, None, codec.encode(name, from_json(name, obj)))
    engine.process([msg(t.enrollments, "MemberEnrollment", enrollment("RC1", "2025-01-01"), 0),
                    msg(t.postings, "FolioPosting", posting("RACE-1", None, "30000", bdate=bd), 0)])
    assert redis_clean.exists(charge_key("P:RACE-1"))

    real_find = engine.kept.find

    def find_then_lose(claims):
        found = real_find(claims)  # the charge is free when the member is decided ...
        redis_clean.set(charge_key("P:RACE-1") + ":by", "RC2|OTHER")  # ... and taken before its save
        return found
    engine.kept.find = find_then_lose
    result = engine.process([msg(t.claims, "ChargeClaim", claim("C-RACE", "RC1", "RACE-1"), 1)])
    decisions = [codec.decode(r.value)[1] for r in result.records if r.topic == t.decisions]
    assert [(d["decision_id"], d["outcome"], d["reason"]) for d in decisions] == \
        [("K:C-RACE", "REJECTED", "ALREADY_CREDITED")]
    assert result.cas_retries == 1
    m = engine.store.load("RC1", ["P:RACE-1"])
    assert m.balance == 0 and "P:RACE-1" not in m.src
    assert redis_clean.get(charge_key("P:RACE-1") + ":by") == b"RC2|OTHER"
