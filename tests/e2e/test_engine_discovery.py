"""Commands find the engine from anywhere: a running `harmony dev` started in another directory
(its address file in the per-user state directory), and a clear error — never a silent default —
when nothing is configured and nothing runs. The log of `harmony dev` has no cursor-control codes
(its output is a file here, not a terminal)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.test_cli_walkthrough import EXAMPLES, DevStack


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    state = tmp_path_factory.mktemp("state")
    s = DevStack(tmp_path_factory.mktemp("devdir"))
    s.env["HARMONY_STATE_DIR"] = str(state)
    try:
        s.start()
        yield s
    finally:
        s.cleanup()


def _elsewhere(stack, tmp_path: Path, *args: str, state: str | None = None):
    import subprocess

    from tests.e2e.test_cli_walkthrough import HARMONY
    env = dict(stack.env)
    if state is not None:
        env["HARMONY_STATE_DIR"] = state
    return subprocess.run([*HARMONY, *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180)


def test_commands_find_a_running_dev_from_another_directory(stack, tmp_path):
    files = list(Path(stack.env["HARMONY_STATE_DIR"]).glob("dev-*.env"))
    assert len(files) == 1 and f"HARMONY_DEV_PID={stack.proc.pid}" in files[0].read_text()
    r = _elsewhere(stack, tmp_path, "publish", "members.enrollments.v1", str(EXAMPLES / "enrollments.jsonl"))
    assert r.returncode == 0, r.stderr
    assert _elsewhere(stack, tmp_path, "wait", "--timeout", "120").returncode == 0
    r = _elsewhere(stack, tmp_path, "member", "show", "OH0000002", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["enrolled_on"] == "2026-02-01"


def test_nothing_running_is_a_clear_error(stack, tmp_path):
    r = _elsewhere(stack, tmp_path, "member", "show", "OH0000002", state=str(tmp_path / "empty-state"))
    assert r.returncode == 2
    assert "no `harmony dev` running" in r.stderr and "REDIS_URL" in r.stderr


def test_dev_log_has_no_cursor_control_codes(stack):
    log = stack.log()
    assert "\x1b[" not in log and "\b" not in log, repr(log[:500])


def test_stopped_dev_is_not_found(stack, tmp_path):
    stack.interrupt()
    assert not list(Path(stack.env["HARMONY_STATE_DIR"]).glob("dev-*.env"))
    r = _elsewhere(stack, tmp_path, "member", "show", "OH0000002")
    assert r.returncode == 2 and "no `harmony dev` running" in r.stderr
