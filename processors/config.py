"""The program configuration: every number of program-rules as data, validated on load.

Pure: it validates an already-parsed mapping (the TOML file is read by ``streams.runtime.config_file``).
Errors name the file, the key and the reason.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from .office_config import OfficeRules, office_rules

EARNING_CATEGORIES = ("ROOM", "FOOD_BEVERAGE", "OTHER_SERVICE")
NEVER_EARNING = ("TAX", "SERVICE_CHARGE", "SHOPPING_ARCADE")
CHANNELS = ("RESERVATION_CENTER", "OFFICIAL_WEBSITE", "DIRECT", "TRAVEL_AGENCY", "OTHER")
STATUSES = ("REGULAR", "LOYAL", "EXCLUSIVE")


class ConfigError(ValueError):
    def __init__(self, source: str, key: str, reason: str):
        super().__init__(f"{source}: {key}: {reason}")
        self.source, self.key, self.reason = source, key, reason


@dataclass(frozen=True, slots=True)
class RatePlan:
    """A rate plan override: earns nothing, or a fixed number of points per night."""
    code: str
    earns: bool = True
    points_per_night: int | None = None


@dataclass(frozen=True, slots=True)
class Hotel:
    code: str
    name: str
    country: str
    currency: str
    participating: bool = True
    # category -> points per 1,000 of JPY (overrides the program default)
    rates_per_1000: Mapping[str, Decimal] = field(default_factory=dict)
    travel_agency_points_per_night: int = 0
    rate_plans: Mapping[str, RatePlan] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Award:
    code: str
    points: int  # per unit (night, person) — or per `per_jpy` yen for PAY_BY_POINTS
    per_jpy: int | None = None  # PAY_BY_POINTS: the amount must be a positive multiple of this
    channels: tuple[str, ...] | None = None  # None: any channel


@dataclass(frozen=True, slots=True)
class Threshold:
    status: str
    points: int
    nights: int


@dataclass(frozen=True, slots=True)
class ProgramConfig:
    version: str
    rates_per_1000: Mapping[str, Decimal]
    earning_channels: tuple[str, ...]
    night_channels: tuple[str, ...]
    bonus_percent: Mapping[str, int]
    fx_max_age_days: int
    unknown_member_grace_hours: int
    hotels: Mapping[str, Hotel]
    rate_plans: Mapping[str, RatePlan]
    thresholds: tuple[Threshold, ...]  # highest status first
    awards: Mapping[str, Award]
    # validity: points earned in year Y expire at the end of `expiry_month`/`expiry_day`
    # of year Y + expiry_years_after (default 31 January Y+3)
    expiry_years_after: int = 3
    expiry_month: int = 1
    expiry_day: int = 31
    # year Y stays open for late postings until its status takes effect: this day of year Y+1 (JST);
    # from then on Y's status and carry-forward are final (processors/year_end.py)
    status_final_month: int = 4
    status_final_day: int = 1
    office: OfficeRules = OfficeRules()  # adjustments and claims (processors/office_config.py)

    def rate(self, hotel: Hotel | None, category: str) -> Decimal:
        """Points per yen for a category at a hotel (hotel override first)."""
        if hotel is not None and category in hotel.rates_per_1000:
            return hotel.rates_per_1000[category] / 1000
        return self.rates_per_1000[category] / 1000

    def rate_plan(self, hotel: Hotel | None, code: str | None) -> RatePlan | None:
        if not code:
            return None
        if hotel is not None and code in hotel.rate_plans:
            return hotel.rate_plans[code]
        return self.rate_plans.get(code)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], source: str = "<config>") -> ProgramConfig:
        return _Loader(source).load(data)


class _Loader:
    def __init__(self, source: str):
        self.source = source

    def fail(self, key: str, reason: str) -> ConfigError:
        return ConfigError(self.source, key, reason)

    def section(self, data: Mapping[str, Any], key: str, path: str) -> Mapping[str, Any]:
        value = data.get(key)
        if not isinstance(value, Mapping):
            raise self.fail(f"{path}{key}", "missing table" if value is None else "must be a table")
        return value

    def integer(self, data: Mapping[str, Any], key: str, path: str, *, minimum: int = 0,
                default: int | None = None) -> int:
        value = data.get(key, default)
        if value is None:
            raise self.fail(f"{path}{key}", "missing")
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(f"{path}{key}", f"must be an integer, got {value!r}")
        if value < minimum:
            raise self.fail(f"{path}{key}", f"must be >= {minimum}, got {value}")
        return value

    def decimal(self, value: Any, key: str) -> Decimal:
        if isinstance(value, (bool, float)):
            raise self.fail(key, f"write rates as integers or quoted decimals, got {value!r}")
        try:
            result = Decimal(str(value))
        except InvalidOperation:
            raise self.fail(key, f"not a number: {value!r}") from None
        if not result.is_finite() or result < 0:
            raise self.fail(key, f"must be a non-negative number, got {value!r}")
        return result

    def rates(self, data: Mapping[str, Any], path: str, *, complete: bool) -> dict[str, Decimal]:
        out: dict[str, Decimal] = {}
        for cat, value in data.items():
            if cat in NEVER_EARNING:
                raise self.fail(f"{path}{cat}", "tax, service charge and shopping arcade never earn")
            if cat not in EARNING_CATEGORIES:
                raise self.fail(f"{path}{cat}", f"unknown category (one of {', '.join(EARNING_CATEGORIES)})")
            out[cat] = self.decimal(value, f"{path}{cat}")
        if complete:
            for cat in EARNING_CATEGORIES:
                if cat not in out:
                    raise self.fail(f"{path}{cat}", "missing rate")
        return out

    def channels(self, data: Mapping[str, Any], key: str, path: str) -> tuple[str, ...]:
        value = data.get(key)
        if not isinstance(value, list) or not value:
            raise self.fail(f"{path}{key}", "must be a non-empty list of channels")
        for ch in value:
            if ch not in CHANNELS:
                raise self.fail(f"{path}{key}", f"unknown channel {ch!r}")
        return tuple(value)

    def rate_plans(self, data: Mapping[str, Any], path: str) -> dict[str, RatePlan]:
        out = {}
        for code, spec in data.items():
            if not isinstance(spec, Mapping):
                raise self.fail(f"{path}{code}", "must be a table")
            earns = spec.get("earns", True)
            if not isinstance(earns, bool):
                raise self.fail(f"{path}{code}.earns", "must be true or false")
            ppn = spec.get("points_per_night")
            if ppn is not None:
                ppn = self.integer(spec, "points_per_night", f"{path}{code}.")
            unknown = set(spec) - {"earns", "points_per_night", "description"}
            if unknown:
                raise self.fail(f"{path}{code}", f"unknown keys {sorted(unknown)}")
            out[code] = RatePlan(code, earns, ppn)
        return out

    def load(self, data: Mapping[str, Any]) -> ProgramConfig:
        version = data.get("version")
        if not isinstance(version, str) or not version:
            raise self.fail("version", "missing (a string naming this edition of the rules)")
        earning = self.section(data, "earning", "")
        rates = self.rates(self.section(earning, "points_per_1000_jpy", "earning."),
                           "earning.points_per_1000_jpy.", complete=True)
        earning_channels = self.channels(earning, "earning_channels", "earning.")
        night_channels = self.channels(earning, "night_channels", "earning.")
        bonus = self.section(data, "bonus_percent", "")
        bonus_percent = {"REGULAR": 0}
        for st in bonus:
            if st not in STATUSES:
                raise self.fail(f"bonus_percent.{st}", "unknown status")
            bonus_percent[st] = self.integer(bonus, st, "bonus_percent.")
        fx = self.section(data, "fx", "")
        holds = self.section(data, "holds", "")
        plans = self.rate_plans(data.get("rate_plans", {}), "rate_plans.")
        hotels = {}
        hotel_list = data.get("hotels")
        if not isinstance(hotel_list, list) or not hotel_list:
            raise self.fail("hotels", "must be a non-empty array of tables ([[hotels]])")
        for i, h in enumerate(hotel_list):
            p = f"hotels[{i}]."
            code = h.get("code")
            if not isinstance(code, str) or not code:
                raise self.fail(f"{p}code", "missing")
            if code in hotels:
                raise self.fail(f"{p}code", f"duplicate hotel {code!r}")
            cur = h.get("currency")
            if not isinstance(cur, str) or len(cur) != 3 or not cur.isupper():
                raise self.fail(f"{p}currency", f"must be an ISO 4217 code, got {cur!r}")
            participating = h.get("participating", True)
            if not isinstance(participating, bool):
                raise self.fail(f"{p}participating", "must be true or false")
            unknown = set(h) - {"code", "name", "brand", "country", "city", "currency", "participating",
                                "points_per_1000_jpy", "travel_agency_points_per_night", "rate_plans"}
            if unknown:
                raise self.fail(p.rstrip("."), f"unknown keys {sorted(unknown)}")
            hotels[code] = Hotel(
                code=code, name=str(h.get("name", code)), country=str(h.get("country", "JP")),
                currency=cur, participating=participating,
                rates_per_1000=self.rates(h.get("points_per_1000_jpy", {}), f"{p}points_per_1000_jpy.",
                                          complete=False),
                travel_agency_points_per_night=self.integer(h, "travel_agency_points_per_night", p, default=0),
                rate_plans=self.rate_plans(h.get("rate_plans", {}), f"{p}rate_plans."),
            )
        status = self.section(data, "status", "")
        final_month = self.integer(status, "final_month", "status.", default=4, minimum=1)
        final_day = self.integer(status, "final_day", "status.", default=1, minimum=1)
        try:
            date(2027, final_month, final_day)
        except ValueError:
            raise self.fail("status.final_day", f"not a day of the year: {final_month}-{final_day}") from None
        thresholds = []
        for st in ("EXCLUSIVE", "LOYAL"):
            t = self.section(status, st, "status.")
            thresholds.append(Threshold(st, self.integer(t, "points", f"status.{st}.", minimum=1),
                                        self.integer(t, "nights", f"status.{st}.", minimum=1)))
        if thresholds[0].points < thresholds[1].points or thresholds[0].nights < thresholds[1].nights:
            raise self.fail("status.EXCLUSIVE", "thresholds must not be below LOYAL's")
        awards = {}
        for code, a in self.section(data, "awards", "").items():
            p = f"awards.{code}."
            chans = a.get("channels")
            if chans is not None:
                chans = self.channels(a, "channels", p)
            per_jpy = a.get("per_jpy")
            if per_jpy is not None:
                per_jpy = self.integer(a, "per_jpy", p, minimum=1)
            awards[code] = Award(code, self.integer(a, "points", p, minimum=1), per_jpy, chans)
        validity = data.get("validity", {})
        return ProgramConfig(
            version=version,
            rates_per_1000=rates,
            earning_channels=earning_channels,
            night_channels=night_channels,
            bonus_percent=bonus_percent,
            fx_max_age_days=self.integer(fx, "max_age_days", "fx."),
            unknown_member_grace_hours=self.integer(holds, "unknown_member_grace_hours", "holds."),
            hotels=hotels,
            rate_plans=plans,
            thresholds=tuple(thresholds),
            awards=awards,
            expiry_years_after=self.integer(validity, "years_after", "validity.", default=3, minimum=1),
            expiry_month=self.integer(validity, "month", "validity.", default=1, minimum=1),
            expiry_day=self.integer(validity, "day", "validity.", default=31, minimum=1),
            status_final_month=final_month,
            status_final_day=final_day,
            office=office_rules(data, self.fail),
        )
