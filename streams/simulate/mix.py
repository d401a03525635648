"""The traffic mix the generator draws from: shares, weights and base FX rates (see
streams/simulate/generator.py for what they produce), and a fast seeded weighted choice."""
from __future__ import annotations

import bisect
import itertools
import random
from collections.abc import Sequence
from decimal import Decimal

# approximate JPY per unit around which the daily rates walk
BASE_RATES = {"CNY": Decimal("21.05"), "USD": Decimal("151.20"), "THB": Decimal("4.31"),
              "EUR": Decimal("163.40"), "VND": Decimal("0.0061"), "KRW": Decimal("0.1095")}
ZIPF_EXPONENT = 0.8

# hotel weights by code (unknown codes: 1.0; overseas hotels are scaled so they total ~15 %)
HOTEL_WEIGHTS = {"OKURA-TOKYO": 4.0, "OKURA-KYOTO": 2.0, "NIKKO-OSAKA": 2.0, "NIKKO-NARITA": 1.5,
                 "JALCITY-HANEDA": 1.5, "OKURA-FUKUOKA": 1.0, "NIKKO-KANAZAWA": 1.0,
                 "JALCITY-SAPPORO": 1.0, "JALCITY-NAHA": 0.4}
FOREIGN_SHARE = 0.15

POSTING_CATEGORIES = (("ROOM", 42), ("FOOD_BEVERAGE", 17), ("OTHER_SERVICE", 11), ("TAX", 13),
                      ("SERVICE_CHARGE", 10), ("SHOPPING_ARCADE", 7))
CHANNELS = (("RESERVATION_CENTER", 24), ("OFFICIAL_WEBSITE", 34), ("DIRECT", 24), ("TRAVEL_AGENCY", 15),
            ("OTHER", 3))
RATE_PLANS = ((None, 84), ("BAR", 5), ("DYNAMIC_PACKAGE", 7), ("NO_POINTS", 4))
OUTLETS = (("RESTAURANT", 62), ("BAR", 30), ("SHOPPING_ARCADE", 4), ("OTHER", 4))
POSTING_SHARE = 0.64
NO_MEMBER_SHARE = 0.04
CORRECTION_SHARE = 0.015
VOID_SHARE = 0.007
PAID_WITH_POINTS_SHARE = 0.03
CLOSED_SHARE = 0.003


class WeightedPick:
    """Weighted choice with precomputed cumulative weights (fast: one bisection)."""
    __slots__ = ("values", "cum", "total", "rnd")

    def __init__(self, pairs: Sequence[tuple[object, float]], rnd: random.Random):
        self.values = [v for v, _ in pairs]
        self.cum = list(itertools.accumulate(w for _, w in pairs))
        self.total = self.cum[-1]
        self.rnd = rnd

    def __call__(self):
        return self.values[bisect.bisect_right(self.cum, self.rnd.random() * self.total)]
