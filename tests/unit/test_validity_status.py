"""Point validity (§3, vector 19) and status qualification (§2, vectors 23, 24)."""
from __future__ import annotations

import dataclasses
import tomllib
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from processors.config import ProgramConfig
from processors.model import Qualifying, Status
from processors.status import evaluate, program_year, status_on, validity
from processors.validity import expires_at, expiry_date, is_expired, jst_date

CONFIG = Path(__file__).resolve().parents[2] / "config" / "program.toml"


@pytest.fixture(scope="module")
def cfg() -> ProgramConfig:
    with CONFIG.open("rb") as f:
        return ProgramConfig.from_mapping(tomllib.load(f), str(CONFIG))


# ---------------------------------------------------------------- validity

@pytest.mark.parametrize("earned,expiry", [
    (date(2026, 3, 14), date(2029, 1, 31)),
    (date(2026, 12, 31), date(2029, 1, 31)),
    (date(2027, 1, 1), date(2030, 1, 31)),
])
def test_vector_19_expiry(cfg, earned, expiry):
    assert expiry_date(earned, cfg) == expiry
    at = expires_at(expiry)
    assert (at.year, at.month, at.day, at.hour, at.minute, at.second) == (expiry.year, 1, 31, 23, 59, 59)
    assert at.utcoffset() == timedelta(hours=9)


def test_expires_at_is_the_last_jst_second():
    at = expires_at(date(2029, 1, 31))
    assert at.astimezone(UTC) == datetime(2029, 1, 31, 14, 59, 59, tzinfo=UTC)
    assert jst_date(at) == date(2029, 1, 31)
    assert jst_date(at + timedelta(seconds=1)) == date(2029, 2, 1)


def test_expired_from_1_february():
    lot = date(2029, 1, 31)
    assert not is_expired(lot, date(2029, 1, 30))
    assert not is_expired(lot, date(2029, 1, 31))
    assert is_expired(lot, date(2029, 2, 1))


def test_jst_date():
    assert jst_date(datetime(2026, 12, 31, 14, 59, 59, tzinfo=UTC)) == date(2026, 12, 31)
    assert jst_date(datetime(2026, 12, 31, 15, 0, tzinfo=UTC)) == date(2027, 1, 1)
    assert jst_date(datetime(2027, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=-5)))) == date(2027, 1, 1)
    with pytest.raises(ValueError):
        jst_date(datetime(2027, 1, 1, 0, 30))


def test_expiry_follows_the_configuration(cfg):
    other = dataclasses.replace(cfg, expiry_years_after=2, expiry_month=2, expiry_day=31)
    assert expiry_date(date(2026, 5, 5), other) == date(2028, 2, 29)  # clamped to the month's end
    assert expiry_date(date(2027, 5, 5), other) == date(2029, 2, 28)
    with pytest.raises(ValueError):
        expiry_date(date(2026, 5, 5), dataclasses.replace(cfg, expiry_month=13))


# ---------------------------------------------------------------- program year and status lookup

@pytest.mark.parametrize("d,year", [
    (date(2027, 3, 31), 2026), (date(2027, 4, 1), 2027), (date(2027, 12, 31), 2027),
    (date(2028, 1, 1), 2027), (date(2028, 3, 31), 2027), (date(2028, 4, 1), 2028),
])
def test_program_year_edges(d, year):
    assert program_year(d) == year


def test_validity_window():
    assert validity(2026) == (date(2027, 4, 1), date(2028, 3, 31))
    start, end = validity(2026)
    assert program_year(start) == program_year(end) == 2027
    assert program_year(start - timedelta(days=1)) == 2026 and program_year(end + timedelta(days=1)) == 2028


def test_status_on():
    statuses = {2026: "LOYAL", 2027: Status.EXCLUSIVE}
    assert status_on(statuses, date(2026, 3, 31)) == "REGULAR"
    assert status_on(statuses, date(2026, 4, 1)) == "LOYAL"
    assert status_on(statuses, date(2027, 3, 31)) == "LOYAL"  # the previous status holds until 1 April
    assert status_on(statuses, date(2027, 4, 1)) == "EXCLUSIVE"
    assert status_on(statuses, date(2028, 3, 31)) == "EXCLUSIVE"
    assert status_on(statuses, date(2028, 4, 1)) == "REGULAR"  # not requalified
    assert type(status_on(statuses, date(2027, 4, 1))) is str


# ---------------------------------------------------------------- evaluation

def ev(cfg, points, nights, carried_points=0, carried_nights=0, year=2026):
    e = evaluate(year, Qualifying(points, nights, carried_points, carried_nights), cfg)
    return e.status, e.qualified_by, e.carried_points, e.carried_nights


def test_vector_23(cfg):
    e = evaluate(2026, Qualifying(points=18_200, nights=12), cfg)
    assert (e.year, e.status, e.qualified_by, e.carried_points, e.carried_nights) == (
        2026, Status.EXCLUSIVE, "POINTS", 3_200, 0)
    assert (e.valid_from, e.valid_until) == (date(2027, 4, 1), date(2028, 3, 31))


def test_vector_24(cfg):
    e = evaluate(2026, Qualifying(points=3_000, nights=14), cfg)
    assert (e.status, e.qualified_by, e.carried_points, e.carried_nights) == (Status.LOYAL, "NIGHTS", 0, 4)
    assert (e.valid_from, e.valid_until) == (date(2027, 4, 1), date(2028, 3, 31))


@pytest.mark.parametrize("points,nights,expected", [
    (4_999, 0, (Status.REGULAR, "NONE", 0, 0)),
    (5_000, 0, (Status.LOYAL, "POINTS", 0, 0)),
    (0, 9, (Status.REGULAR, "NONE", 0, 0)),
    (0, 10, (Status.LOYAL, "NIGHTS", 0, 0)),
    (4_999, 9, (Status.REGULAR, "NONE", 0, 0)),
    (14_999, 0, (Status.LOYAL, "POINTS", 9_999, 0)),
    (15_000, 0, (Status.EXCLUSIVE, "POINTS", 0, 0)),
    (0, 29, (Status.LOYAL, "NIGHTS", 0, 19)),
    (0, 30, (Status.EXCLUSIVE, "NIGHTS", 0, 0)),
    (14_999, 29, (Status.LOYAL, "BOTH", 9_999, 19)),
    (16_000, 35, (Status.EXCLUSIVE, "BOTH", 1_000, 5)),
    (16_000, 20, (Status.EXCLUSIVE, "POINTS", 1_000, 0)),  # 20 nights meet LOYAL only: not carried
    (-100, -1, (Status.REGULAR, "NONE", 0, 0)),           # net of corrections
])
def test_threshold_edges(cfg, points, nights, expected):
    assert ev(cfg, points, nights) == expected


def test_carried_counters_count_toward_qualification(cfg):
    assert ev(cfg, 4_000, 0, carried_points=1_000) == (Status.LOYAL, "POINTS", 0, 0)
    assert ev(cfg, 0, 8, carried_nights=3) == (Status.LOYAL, "NIGHTS", 0, 1)


def test_thresholds_come_from_the_configuration():
    data = tomllib.loads(CONFIG.read_text())
    data["status"]["LOYAL"] = {"points": 100, "nights": 2}
    cfg = ProgramConfig.from_mapping(data)
    assert ev(cfg, 150, 0) == (Status.LOYAL, "POINTS", 50, 0)
