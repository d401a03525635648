"""streams/runtime/engine_address.py: environment first, then a live `harmony dev`'s address file; a file
whose process is gone is ignored (and removed); nothing found is an error, never a default."""
from __future__ import annotations

import os
import subprocess

import pytest

from streams.runtime import engine_address as ea


@pytest.fixture
def state(tmp_path, monkeypatch):
    monkeypatch.setenv("HARMONY_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.chdir(tmp_path)
    return tmp_path / "state"


def test_environment_wins(state):
    env = {"KAFKA_BOOTSTRAP_SERVERS": "k:1", "REDIS_URL": "redis://r:2/0"}
    assert ea.locate(env) == "environment" and env["REDIS_URL"] == "redis://r:2/0"


def test_live_dev_file_is_used_and_dead_one_ignored(state, tmp_path):
    dead = subprocess.Popen(["true"])
    dead.wait()
    state.mkdir(parents=True)
    (state / f"dev-{dead.pid}.env").write_text(
        f"KAFKA_BOOTSTRAP_SERVERS=dead:1\nREDIS_URL=redis://dead:1/0\nHARMONY_DEV_PID={dead.pid}\n")
    with pytest.raises(ea.EngineNotFound, match="no `harmony dev` running"):
        ea.locate({})
    assert not (state / f"dev-{dead.pid}.env").exists()
    other = tmp_path / "project"
    other.mkdir()
    files = ea.write({"KAFKA_BOOTSTRAP_SERVERS": "live:9092", "REDIS_URL": "redis://live:6379/0"}, other)
    assert files[1].parent == state and f"HARMONY_DEV_PID={os.getpid()}" in files[1].read_text()
    env: dict = {}
    assert "harmony dev" in ea.locate(env)
    assert env["KAFKA_BOOTSTRAP_SERVERS"] == "live:9092" and env["REDIS_URL"] == "redis://live:6379/0"


def test_xdg_state_home(monkeypatch, tmp_path):
    monkeypatch.delenv("HARMONY_STATE_DIR", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert ea.state_dir() == tmp_path / "harmony"
