"""Corrections through Kafka + Redis (issue 9 items 3–6, 8): the worker applies the same mechanism
as the unit tests of processors/corrections.py.

* item 3: a POS void carrying part of a bill (FOOD −3,000 of a 10,000 bill that earned 100)
  reverses 30, its TAX line ignored; a later void without lines reverses the remaining 70;
* item 4: at the USD hotel a USD 250.00 stay at 152.30 (¥38,075) earns 761; a correction of
  −¥7,615 (20 %) reverses 152, and a USD −50.00 one (20 % again) another 152;
* item 5: a zero-amount correction of a 3-night stay removes only the night it states, no points;
* item 6: earn 1,000, redeem 1,000, full correction (debt 1,000), cancel the redemption: the refund
  repays the debt (balance 0, no lot beside debt), so expiry takes nothing afterwards;
* item 8: a correction of a correction is REJECTED CORRECTS_A_CORRECTION.
"""
from __future__ import annotations

import pytest

from tests.harness import bill, enrollment, fx_rate, posting, redemption
from tests.lifecycle_support import LifecycleEnv

VOID, USD, ZERO, DEBT, CHAIN = "OHCK0001", "OHCK0002", "OHCK0003", "OHCK0004", "OHCK0005"
SAIPAN = "NIKKO-SAIPAN"


@pytest.fixture(scope="module")
def story(kafka_bootstrap, redis_url):
    with LifecycleEnv(kafka_bootstrap, redis_url, db=11, name="ck") as env:
        for m in (VOID, USD, ZERO, DEBT, CHAIN):
            env.send("enrollments", enrollment(m, "2026-01-01"))
        env.send("fx", fx_rate("USD", "2026-03-10", "152.30"))
        env.sync()
        env.send("bills", bill("CK-B1", VOID, [("FOOD", "10000"), ("TAX", "1000")]))
        env.send("postings",
                 posting("CK-U1", USD, "250.00", hotel=SAIPAN, currency="USD"),
                 posting("CK-Z1", ZERO, "30000", nights=3),
                 posting("CK-D1", DEBT, "50000"),
                 posting("CK-C1", CHAIN, "50000"))
        env.sync()
        env.send("bills", bill("CK-B1V", VOID, [("FOOD", "-3000"), ("TAX", "-300")], voids="CK-B1"))
        env.send("postings",
                 posting("CK-U1J", USD, "-7615", hotel=SAIPAN, corrects="CK-U1"),
                 posting("CK-Z1C", ZERO, "0", nights=1, corrects="CK-Z1"),
                 posting("CK-C1A", CHAIN, "-10000", corrects="CK-C1"))
        env.send("redemptions", redemption("CK-R1", DEBT, "UPGRADE_STANDARD_TO_SUPERIOR", channel="DIRECT"))
        env.sync()
        out = {"after_partial": {m: env.member(m) for m in (VOID, USD)}}
        env.send("bills", bill("CK-B1W", VOID, [], voids="CK-B1"))
        env.send("postings",
                 posting("CK-U1U", USD, "-50.00", hotel=SAIPAN, currency="USD", corrects="CK-U1"),
                 posting("CK-D1C", DEBT, "-50000", corrects="CK-D1"),
                 posting("CK-C1B", CHAIN, "-5000", corrects="CK-C1A"))
        env.sync()
        out["in_debt"] = env.member(DEBT)
        env.send("redemptions", redemption("CK-X1", DEBT, "CANCEL", cancels="CK-R1",
                                           at="2026-06-02T10:00:00+09:00"))
        env.sync()
        out["members"] = {m: env.member(m) for m in (VOID, USD, ZERO, DEBT, CHAIN)}
        out["decisions"] = {d["source_id"]: d for d in env.out("decisions") if d["outcome"] != "HELD"}
        out["ledger"] = {m: env.ledger(m) for m in (VOID, USD, ZERO, DEBT, CHAIN)}
        out["invariant"] = {m: env.check_invariant(m) for m in (VOID, USD, ZERO, DEBT, CHAIN)}
        out["expire"] = env.expire("2029-02-01")  # the 2026 lot has expired: nothing left in debt's way
        out["debt_after_expiry"] = env.member(DEBT)
        out["debt_ledger_after_expiry"] = env.ledger(DEBT)
        out["debt_invariant_after_expiry"] = env.check_invariant(DEBT)
        yield out


def reversals(story, member: str) -> list[int]:
    return sorted(e["points"] for e in story["ledger"][member].values() if e["type"] == "REVERSAL")


def test_partial_void_reverses_its_part_then_a_full_void_the_rest(story):
    assert story["after_partial"][VOID].balance == 70
    d = story["decisions"]["B:CK-B1V"]
    assert (d["outcome"], d["reversed_points"]) == ("EARNED", 30)
    assert story["decisions"]["B:CK-B1W"]["reversed_points"] == 70
    m = story["members"][VOID]
    assert m.balance == 0 and m.qualifying[2026].points == 0
    assert reversals(story, VOID) == [-70, -30]


def test_corrections_in_both_currencies_are_prorated_in_jpy(story):
    assert story["decisions"]["P:CK-U1"]["base_points"] == 761
    assert story["after_partial"][USD].balance == 761 - 152
    assert story["decisions"]["P:CK-U1J"]["reversed_points"] == 152
    assert story["decisions"]["P:CK-U1U"]["reversed_points"] == 152
    assert story["members"][USD].balance == 761 - 304


def test_zero_amount_correction_removes_only_its_nights(story):
    m = story["members"][ZERO]
    assert (m.balance, m.qualifying[2026].points, m.qualifying[2026].nights) == (600, 600, 2)
    assert story["decisions"]["P:CK-Z1C"]["nights"] == -1


def test_refund_in_debt_repays_it_and_expiry_takes_nothing_more(story):
    assert story["in_debt"].balance == -1000 and story["in_debt"].lots.debt == 1000
    m = story["members"][DEBT]
    assert (m.balance, m.lots.debt, m.lots.by_expiry) == (0, 0, {})
    m = story["debt_after_expiry"]
    assert (m.balance, m.lots.debt, m.lots.by_expiry) == (0, 0, {}) and story["debt_invariant_after_expiry"] == 0
    assert not [e for e in story["debt_ledger_after_expiry"].values() if e["type"] == "EXPIRE"]


def test_correction_of_a_correction_is_rejected_with_its_reason(story):
    d = story["decisions"]["P:CK-C1B"]
    assert (d["outcome"], d["reason"]) == ("REJECTED", "CORRECTS_A_CORRECTION")
    assert story["members"][CHAIN].balance == 800


def test_every_member_keeps_the_invariant(story):
    assert story["invariant"] == {VOID: 0, USD: 761 - 304, ZERO: 600, DEBT: 0, CHAIN: 800}
