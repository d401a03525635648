"""A claimed foreign-currency charge whose rate is not there yet, through Kafka and Redis: the claim's
HELD decision and, when the rate arrives (after a worker restart, so the hold is read back from
Redis), its EARNED decision carry the claim's ids — never the charge's own id, which its NO_MEMBER
decision carries (a consumer deduplicating by decision_id would drop the points' decision). A replay
re-emits the same ids; `harmony rebuild` restores the hold with its claim, and the release from the
rebuilt state is the same."""
from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from processors.model import JST
from streams.runtime.rebuild import rebuild
from streams.web.office_requests import OfficeClient
from tests.harness import Publisher, RunningWorker, decoded, enrollment, fx_rate, posting, settings_for, wait_processed
from tests.office_support import claim, member_state

TODAY = datetime.now(JST).date()
BD = (TODAY - timedelta(days=10)).isoformat()
ENROLLED = (TODAY - timedelta(days=60)).isoformat()
AT = f"{TODAY.isoformat()}T09:00:00+09:00"
WALK_IN = posting("FXW-1", None, "300", hotel="NIKKO-SAIPAN", currency="USD", bdate=BD)  # 300 USD, 1 night


def _send(pub, s, kind, events):
    pub.send_many(kind, events)
    pub.flush()
    wait_processed(s)


def test_claimed_charge_released_by_its_rate_keeps_the_claims_id(kafka_bootstrap, redis_url, redis_clean, topics,
                                                                  unique):
    s = settings_for(kafka_bootstrap, redis_url, topics, unique)
    pub = Publisher(kafka_bootstrap, topics)
    with RunningWorker(s):
        _send(pub, s, "enrollments", [enrollment("FXM", ENROLLED)])
        _send(pub, s, "postings", [WALK_IN])
        _send(pub, s, "claims", [claim("FXC1", "FXM", "FXW-1", AT)])
    office = OfficeClient(s, redis_clean)
    assert office.claim_outcome("FXM", "FXC1")["outcome"] == "HELD"  # `harmony claim`, POST …/claims
    held_state = member_state(redis_clean, "FXM")
    held = held_state["held"]
    assert list(held) == [b"P:FXW-1"] and b'"claim":"FXC1"' in held[b"P:FXW-1"]
    redis_clean.flushall()  # harmony rebuild restores the hold with its claim (changelog)
    rebuild(s)
    assert member_state(redis_clean, "FXM") == held_state
    with RunningWorker(s):  # a new worker reads the hold back from Redis
        _send(pub, s, "fx", [fx_rate("USD", BD, "150")])
        decisions = decoded(kafka_bootstrap, topics.decisions)
        state = member_state(redis_clean, "FXM")
        # a replay of every input re-emits only ids already emitted, and changes nothing
        _send(pub, s, "postings", [WALK_IN])
        _send(pub, s, "claims", [claim("FXC1", "FXM", "FXW-1", AT)])
    released = office.claim_outcome("FXM", "FXC1")
    assert (released["outcome"], released["reason"], released["base_points"]) == ("EARNED", None, 900)
    by_id = {d["decision_id"]: d for d in decisions}
    assert sorted(by_id) == ["K:FXC1", "K:FXC1/HELD/AWAITING_FX_RATE", "P:FXW-1"]
    assert by_id["P:FXW-1"]["member_id"] is None  # the charge's own decision: NO_MEMBER
    assert (by_id["K:FXC1/HELD/AWAITING_FX_RATE"]["outcome"], by_id["K:FXC1"]["outcome"]) == ("HELD", "EARNED")
    earned = by_id["K:FXC1"]
    assert (earned["member_id"], earned["source_id"], earned["base_points"], earned["nights"]) == \
        ("FXM", "P:FXW-1", 900, 1)
    assert [e["entry_id"] for e in decoded(kafka_bootstrap, topics.ledger)] == ["FXM/P:FXW-1/EARN"] * 2
    again = Counter(d["decision_id"] for d in decoded(kafka_bootstrap, topics.decisions))
    assert set(again) == set(by_id) and again["K:FXC1"] == 2
    assert _settled(member_state(redis_clean, "FXM")) == _settled(state)


def _settled(state: dict) -> dict:
    """A member's state without the marker of its released hold (removed in the engine's own time)."""
    assert all(b'"reason":"RELEASED"' in h for h in state["held"].values()), state["held"]
    return {**state, "held": None}
