"""streams/runtime/settings.py: the environment read by pydantic-settings, and a wrong value as one clear message."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from streams.kafka.admin import default_partitions, default_replication
from streams.kafka.topics import Topics
from streams.runtime.settings import DEFAULT_CONFIG, Settings, SettingsError

ROOT = Path(__file__).resolve().parents[2]

# every variable Settings reads, with its field
VARIABLES = {
    "KAFKA_BOOTSTRAP_SERVERS": "bootstrap", "REDIS_URL": "redis_url", "HARMONY_TOPIC_PREFIX": "topics",
    "HARMONY_GROUP": "group", "HARMONY_CONFIG": "config_path", "HARMONY_BATCH_SIZE": "batch_size",
    "HARMONY_WEB_PORT": "web_port", "HARMONY_WEB_HOST": "web_host", "SCHEMA_REGISTRY_URL": "registry_url",
    "HARMONY_SESSION_TIMEOUT_MS": "session_timeout_ms", "HARMONY_CHANGELOG": "changelog",
    "HARMONY_MEMBER_CACHE": "member_cache", "HARMONY_GC_GEN0": "gc_gen0", "HARMONY_SWEEP_SECONDS": "sweep_seconds",
    "HARMONY_PARTITIONS": "partitions", "HARMONY_REPLICATION_FACTOR": "replication_factor",
    "HARMONY_CONNECT_TIMEOUT": "connect_timeout", "HARMONY_API_WAIT_SECONDS": "api_wait_seconds",
}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)


def test_every_field_has_its_variable():
    assert {f.validation_alias: name for name, f in Settings.model_fields.items()} == VARIABLES


def test_defaults():
    s = Settings()
    assert (s.bootstrap, s.redis_url, s.group, s.config_path) == (
        "127.0.0.1:9092", "redis://127.0.0.1:6379/0", "harmony-engine", DEFAULT_CONFIG)
    assert s.topics.prefix == "" and s.topics.postings == "pms.folio-postings.v1"
    assert (s.batch_size, s.web_port, s.web_host, s.registry_url) == (2000, 6066, "127.0.0.1", None)
    assert (s.session_timeout_ms, s.changelog, s.member_cache, s.gc_gen0, s.sweep_seconds) == (
        10000, True, 0, 50000, 30.0)
    assert (s.partitions, s.replication_factor, s.connect_timeout, s.api_wait_seconds) == (6, -1, 20.0, 10.0)


def test_environment(monkeypatch, tmp_path):
    env = {"KAFKA_BOOTSTRAP_SERVERS": "k:1", "REDIS_URL": "redis://r:2/3", "HARMONY_TOPIC_PREFIX": "t1.",
           "HARMONY_GROUP": "g", "HARMONY_CONFIG": str(tmp_path / "p.toml"), "HARMONY_BATCH_SIZE": "25",
           "HARMONY_WEB_PORT": "8080", "HARMONY_WEB_HOST": "0.0.0.0", "SCHEMA_REGISTRY_URL": "http://sr:8081",
           "HARMONY_SESSION_TIMEOUT_MS": "3000", "HARMONY_CHANGELOG": "0", "HARMONY_MEMBER_CACHE": "100",
           "HARMONY_GC_GEN0": "0", "HARMONY_SWEEP_SECONDS": "0.2", "HARMONY_PARTITIONS": "3",
           "HARMONY_REPLICATION_FACTOR": "3", "HARMONY_CONNECT_TIMEOUT": "5", "HARMONY_API_WAIT_SECONDS": "0"}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    s = Settings()
    assert (s.bootstrap, s.redis_url, s.group, s.config_path) == ("k:1", "redis://r:2/3", "g", tmp_path / "p.toml")
    assert isinstance(s.topics, Topics) and s.topics.postings == "t1.pms.folio-postings.v1"
    assert (s.batch_size, s.web_port, s.web_host, s.registry_url) == (25, 8080, "0.0.0.0", "http://sr:8081")
    assert (s.session_timeout_ms, s.changelog, s.member_cache, s.gc_gen0, s.sweep_seconds) == (
        3000, False, 100, 0, 0.2)
    assert (s.partitions, s.replication_factor, s.connect_timeout, s.api_wait_seconds) == (3, 3, 5.0, 0.0)
    assert (default_partitions(), default_replication()) == (3, 3)


@pytest.mark.parametrize("text,value", [("1", True), ("true", True), ("yes", True), ("0", False),
                                        ("false", False), ("no", False), ("off", False), ("FALSE", False)])
def test_changelog_switch(monkeypatch, text, value):
    monkeypatch.setenv("HARMONY_CHANGELOG", text)
    assert Settings().changelog is value


def test_empty_variable_counts_as_unset(monkeypatch):
    for name in ("KAFKA_BOOTSTRAP_SERVERS", "HARMONY_BATCH_SIZE", "SCHEMA_REGISTRY_URL", "HARMONY_CHANGELOG"):
        monkeypatch.setenv(name, "")
    s = Settings()
    assert (s.bootstrap, s.batch_size, s.registry_url, s.changelog) == ("127.0.0.1:9092", 2000, None, True)


def test_keywords_override_the_environment(monkeypatch):
    monkeypatch.setenv("HARMONY_GROUP", "from-env")
    monkeypatch.setenv("HARMONY_BATCH_SIZE", "7")
    topics = Topics("x.")
    s = Settings(bootstrap="b:1", redis_url="redis://h/1", topics=topics, group="kw", session_timeout_ms=6000,
                 sweep_seconds=0.2, member_cache=10)
    assert (s.bootstrap, s.redis_url, s.group, s.session_timeout_ms, s.sweep_seconds, s.member_cache) == (
        "b:1", "redis://h/1", "kw", 6000, 0.2, 10)
    assert s.topics is topics and s.batch_size == 7  # not given by keyword: the environment's
    copy = s.model_copy(update={"group": "other"})
    assert (copy.group, copy.bootstrap, s.group) == ("other", "b:1", "kw")


BAD = [
    ("HARMONY_BATCH_SIZE", "abc", "expected an integer >= 1"),
    ("HARMONY_BATCH_SIZE", "0", "expected an integer >= 1"),
    ("HARMONY_BATCH_SIZE", "1.5", "expected an integer >= 1"),
    ("HARMONY_WEB_PORT", "0", "expected an integer from 1 to 65535"),
    ("HARMONY_WEB_PORT", "70000", "expected an integer from 1 to 65535"),
    ("HARMONY_WEB_PORT", "http", "expected an integer from 1 to 65535"),
    ("HARMONY_SESSION_TIMEOUT_MS", "999", "expected an integer >= 1000"),
    ("HARMONY_SESSION_TIMEOUT_MS", "10s", "expected an integer >= 1000"),
    ("HARMONY_MEMBER_CACHE", "-1", "expected an integer >= 0"),
    ("HARMONY_MEMBER_CACHE", "lots", "expected an integer >= 0"),
    ("HARMONY_GC_GEN0", "-5", "expected an integer >= 0"),
    ("HARMONY_GC_GEN0", "x", "expected an integer >= 0"),
    ("HARMONY_SWEEP_SECONDS", "0", "expected a number > 0"),
    ("HARMONY_SWEEP_SECONDS", "nan", "expected a number > 0"),
    ("HARMONY_SWEEP_SECONDS", "30s", "expected a number > 0"),
    ("HARMONY_PARTITIONS", "0", "expected an integer >= 1"),
    ("HARMONY_PARTITIONS", "six", "expected an integer >= 1"),
    ("HARMONY_REPLICATION_FACTOR", "0", "expected an integer >= 1, or -1 (the broker's default)"),
    ("HARMONY_REPLICATION_FACTOR", "-2", "expected an integer >= 1, or -1 (the broker's default)"),
    ("HARMONY_REPLICATION_FACTOR", "three", "expected an integer >= 1, or -1 (the broker's default)"),
    ("HARMONY_CONNECT_TIMEOUT", "0", "expected a number > 0"),
    ("HARMONY_CONNECT_TIMEOUT", "inf", "expected a number > 0"),
    ("HARMONY_API_WAIT_SECONDS", "-1", "expected a number >= 0"),
    ("HARMONY_API_WAIT_SECONDS", "ten", "expected a number >= 0"),
    ("HARMONY_CHANGELOG", "maybe", "expected a boolean (1/0, true/false, yes/no, on/off)"),
]


@pytest.mark.parametrize("name,value,expected", BAD, ids=[f"{n}={v}" for n, v, _ in BAD])
def test_a_bad_value_names_variable_value_and_expectation(monkeypatch, name, value, expected):
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as info:
        Settings()
    assert str(info.value) == f"{name}={value!r}: {expected}"
    assert info.value.problems == [str(info.value)]
    assert info.value.__cause__ is None and info.value.__suppress_context__  # no pydantic chain behind it


def test_every_bad_variable_at_once(monkeypatch):
    monkeypatch.setenv("HARMONY_BATCH_SIZE", "abc")
    monkeypatch.setenv("HARMONY_WEB_PORT", "99999")
    with pytest.raises(SettingsError) as info:
        Settings()
    assert info.value.problems == ["HARMONY_BATCH_SIZE='abc': expected an integer >= 1",
                                   "HARMONY_WEB_PORT='99999': expected an integer from 1 to 65535"]


def test_a_bad_keyword_names_the_field():
    with pytest.raises(SettingsError) as info:
        Settings(batch_size=0, no_such_setting=1)
    assert info.value.problems == ["batch_size=0: expected an integer >= 1", "no_such_setting: not a setting"]


def test_settings_error_is_a_value_error():
    assert issubclass(SettingsError, ValueError)  # callers that caught the old int() ValueError still do


def test_topic_helpers_and_office_wait_use_the_same_checks(monkeypatch):
    monkeypatch.setenv("HARMONY_API_WAIT_SECONDS", "3")
    assert Settings().api_wait_seconds == 3.0  # what the office API waits (its Settings, read at start)
    monkeypatch.setenv("HARMONY_PARTITIONS", "many")
    with pytest.raises(SettingsError, match=r"^HARMONY_PARTITIONS='many': expected an integer >= 1$"):
        default_partitions()


def harmony(*args: str, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in VARIABLES}
    # addresses given, so no `harmony dev` is looked for; nothing is contacted before the settings are read
    base.update(KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:9", REDIS_URL="redis://127.0.0.1:9/0", **env)
    return subprocess.run([sys.executable, "-m", "streams.cli.main", *args], cwd=ROOT, env=base,
                          capture_output=True, text=True, timeout=120)


def test_cli_exits_2_with_the_message_not_a_traceback():
    p = harmony("worker", "--plain", HARMONY_BATCH_SIZE="abc", HARMONY_SESSION_TIMEOUT_MS="10")
    assert p.returncode == 2, p.stderr
    assert "Traceback" not in p.stderr
    assert p.stderr.splitlines() == ["harmony worker: HARMONY_BATCH_SIZE='abc': expected an integer >= 1",
                                     "harmony worker: HARMONY_SESSION_TIMEOUT_MS='10': expected an integer >= 1000"]
