"""The README walk-through, run through the real `harmony` CLI as separate processes.

`harmony dev` starts (in its own process group, in a temporary working directory, so its
`.harmony/dev.env` lands there and the other commands find the broker and Redis through it), every
example file is published with `harmony publish`, `harmony wait` waits for the worker, and
`harmony member show ID --json` and `GET /members/ID` must give the figures computed by hand from
program-rules.md (the same figures as the README's walk-through). Finally Ctrl-C (SIGINT to the
process group) must stop the worker, the broker and Redis within 20 s.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
_SCRIPT = Path(sys.executable).with_name("harmony")
HARMONY = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "streams.cli"]

# Hand-computed from program-rules.md and config/program.toml (see README "Walk-through").
EXPECTED = {
    # 700 (P-1001) + 89 (P-1004) + 761 (SPN-7001: USD 250.00 x 152.30) + 123 (B-2001)
    # - 175 (P-1006 corrects P-1001 by -8,750) = 1,498; 4 nights (1 + 1 + 2 travel agency);
    # RQ-1 pays ¥1,000 with 800 points -> 698.
    "OH0000001": {
        "balance": 698,
        "lots": [{"expires_on": "2029-01-31", "points": 698}],
        "qualifying": {"2026": {"points": 1498, "nights": 4, "carried_points": 0, "carried_nights": 0}},
    },
    # 3,600 (FUK-4001 at 30/¥1,000) + 50 (NRT-5001: travel agency, 50/night) + 505 (SHA-6001:
    # CNY 1,200.00 x 21.05) + 150 (P-1101 spa) + 68 (FUK-B-77 bar) = 4,373; 5 nights;
    # RQ-2 two children's breakfasts 2,200 -> 2,173; RQ-3 (¥700) rejected.
    "OH0000002": {
        "balance": 2173,
        "lots": [{"expires_on": "2029-01-31", "points": 2173}],
        "qualifying": {"2026": {"points": 4373, "nights": 5, "carried_points": 0, "carried_nights": 0}},
    },
    # 1,200 in 2025 (P-0902) + 1,372 in 2026 (AMS-9001: EUR 420.00 x 163.40); P-0901 is before
    # enrollment. RQ-4 (2,000) takes the 2028 lot's 1,200 first, then 800 of the 2029 lot -> 572.
    "OH0000003": {
        "balance": 572,
        "lots": [{"expires_on": "2029-01-31", "points": 572}],
        "qualifying": {"2025": {"points": 1200, "nights": 2, "carried_points": 0, "carried_nights": 0},
                       "2026": {"points": 1372, "nights": 2, "carried_points": 0, "carried_nights": 0}},
    },
}

FIRST_BATCH = [  # published before the first `harmony wait`
    ("members.enrollments.v1", "enrollments.jsonl"),
    ("fx.rates.v1", "fx-rates.jsonl"),
    ("pms.folio-postings.v1", "postings.jsonl"),
    ("pos.bills.v1", "bills.jsonl"),
]
SECOND_BATCH = [("redemptions.requests.v1", "redemptions.jsonl")]  # once the points are there

STOP_WITHIN = 20.0


def _children(pid: int) -> dict[int, str]:
    """Direct children of ``pid``: pid -> command line."""
    out = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            ppid = int(stat[stat.rindex(")") + 2:].split()[1])
            if ppid == pid:
                out[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, ValueError):
            continue
    return out


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"  # a zombie has stopped


class DevStack:
    def __init__(self, workdir: Path, broker: str = "tansu"):
        self.workdir = workdir
        self.broker = broker  # `harmony dev --broker`: tansu, or kafka in the Apache Kafka pass
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("KAFKA_", "HARMONY_")) and k not in ("REDIS_URL", "SCHEMA_REGISTRY_URL")}
        self.env["PYTHONUNBUFFERED"] = "1"
        self.log_path = workdir / "harmony-dev.log"
        self.proc: subprocess.Popen | None = None
        self.api = ""
        self.children: dict[int, str] = {}

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def start(self, timeout: float = 120.0) -> None:
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([*HARMONY, "dev", "--broker", self.broker], cwd=self.workdir, env=self.env,
                                     stdin=subprocess.DEVNULL,
                                     stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while True:
            m = re.search(r"API on (http://[^/\s]+)/", self.log())
            if m:
                self.api = m.group(1)
                break
            assert self.proc.poll() is None, f"harmony dev exited with {self.proc.returncode}:\n{self.log()}"
            assert time.monotonic() < deadline, f"no 'API on' from harmony dev after {timeout:.0f}s:\n{self.log()}"
            time.sleep(0.1)
        self.children = _children(self.proc.pid)
        while True:
            try:
                with urllib.request.urlopen(f"{self.api}/health", timeout=5) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            assert self.proc.poll() is None, f"harmony dev exited with {self.proc.returncode}:\n{self.log()}"
            assert time.monotonic() < deadline, f"/health not 200 after {timeout:.0f}s:\n{self.log()}"
            time.sleep(0.25)

    def run(self, *args: str, timeout: float = 180.0) -> subprocess.CompletedProcess:
        return subprocess.run([*HARMONY, *args], cwd=self.workdir, env=self.env, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=timeout)

    def ok(self, *args: str, timeout: float = 180.0) -> str:
        r = self.run(*args, timeout=timeout)
        assert r.returncode == 0, f"harmony {' '.join(args)} -> {r.returncode}\n{r.stdout}\n{r.stderr}\n" \
                                  f"--- harmony dev log ---\n{self.log()[-4000:]}"
        return r.stdout

    def interrupt(self) -> float:
        """Ctrl-C: SIGINT to the process group of `harmony dev`; seconds until everything stopped."""
        started = time.monotonic()
        proc = self.proc
        assert proc is not None, "start() first"
        os.killpg(proc.pid, signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(STOP_WITHIN)
        while any(_alive(p) for p in self.children) and time.monotonic() - started < STOP_WITHIN:
            time.sleep(0.1)
        return time.monotonic() - started

    def cleanup(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        for pid in self.children:  # they run in their own sessions: kill them one by one
            if _alive(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        self._log.close()


@pytest.fixture(scope="module")
def dev(tmp_path_factory, broker_kind):
    """`harmony dev` running (`--broker kafka` in the Apache Kafka pass), with every example file
    published and processed."""
    stack = DevStack(tmp_path_factory.mktemp("walkthrough"), "tansu" if broker_kind == "tansu" else "kafka")
    try:
        stack.start()
        for topic, name in FIRST_BATCH:
            out = stack.ok("publish", topic, str(EXAMPLES / name))
            assert re.search(rf"published \d+ records to {re.escape(topic)}$", out.strip()), out
        stack.ok("wait", "--timeout", "120")
        for topic, name in SECOND_BATCH:
            stack.ok("publish", topic, str(EXAMPLES / name))
        stack.ok("wait", "--timeout", "120")
        yield stack
    finally:
        stack.cleanup()


def _figures(view: dict) -> dict:
    return {k: view[k] for k in ("balance", "lots", "qualifying")}


@pytest.mark.parametrize("member_id", sorted(EXPECTED))
def test_member_show_json(dev, member_id):
    view = json.loads(dev.ok("member", "show", member_id, "--json"))
    assert view["member_id"] == member_id
    assert _figures(view) == EXPECTED[member_id]
    assert (view["status"], view["status_valid_until"]) == ("REGULAR", None)
    assert view["debt"] == 0 and view["held"] == []


def test_ledger_of_the_first_member(dev):
    view = json.loads(dev.ok("member", "show", "OH0000001", "--json"))
    entries = sorted((e["source_id"], e["type"], e["points"]) for e in view["last_entries"])
    assert entries == sorted([("P:P-1001", "EARN", 700), ("P:P-1004", "EARN", 89), ("P:SPN-7001", "EARN", 761),
                              ("B:B-2001", "EARN", 123), ("P:P-1006", "REVERSAL", -175),
                              ("R:RQ-1", "REDEEM", -800)])
    text = dev.ok("member", "show", "OH0000001")
    assert "balance  698 points" in text and "expires 2029-01-31" in text


def test_http_member_matches(dev):
    with urllib.request.urlopen(f"{dev.api}/members/OH0000001", timeout=10) as r:
        assert r.status == 200
        view = json.loads(r.read())
    assert _figures(view) == EXPECTED["OH0000001"]
    assert view["status"] == "REGULAR"
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(f"{dev.api}/members/OH0009999", timeout=10)
    assert err.value.code == 404


def test_unknown_member_show_fails(dev):
    r = dev.run("member", "show", "OH0009999", "--json")
    assert r.returncode == 1 and "unknown member OH0009999" in r.stderr


def test_bad_lines_are_reported_and_not_sent(dev, tmp_path):
    good = (EXAMPLES / "postings.jsonl").read_text().splitlines()[0]  # P-1001 again: a replay, changes nothing
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join([
        good,
        good.replace('"member_id"', '"membr_id"').replace("P-1001", "P-BAD-1"),  # unknown field
        '{"posting_id": "P-BAD-2", ',  # not JSON
        good.replace('"35000"', '"35,000"').replace("P-1001", "P-BAD-3"),  # not a decimal
    ]) + "\n")
    r = dev.run("publish", "pms.folio-postings.v1", str(bad))
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert f"{bad}:2:" in r.stderr and "membr_id" in r.stderr
    assert f"{bad}:3:" in r.stderr and "not JSON" in r.stderr
    assert f"{bad}:4:" in r.stderr and "amount" in r.stderr
    assert f"{bad}:1:" not in r.stderr
    assert "published 1 records" in r.stdout and "3 bad lines not sent" in r.stdout
    dev.ok("wait", "--timeout", "120")
    view = json.loads(dev.ok("member", "show", "OH0000001", "--json"))
    assert _figures(view) == EXPECTED["OH0000001"]  # the replayed P-1001 earned nothing twice


def test_ctrl_c_stops_everything(dev):
    """Last in this module: stops the stack the other tests use."""
    names = " ".join(dev.children.values())
    assert "redis-server" in names and ("tansu" if dev.broker == "tansu" else "kafka.Kafka") in names, dev.children
    dev_env = dev.workdir / ".harmony" / "dev.env"
    assert dev_env.exists()
    took = dev.interrupt()
    assert dev.proc.poll() is not None, f"harmony dev still running {STOP_WITHIN:.0f}s after SIGINT:\n{dev.log()}"
    left = {pid: cmd for pid, cmd in dev.children.items() if _alive(pid)}
    assert not left, f"still running {took:.1f}s after SIGINT: {left}"
    assert took <= STOP_WITHIN
    assert not dev_env.exists(), "dev.env is removed on exit"
    assert "Traceback" not in dev.log(), dev.log()


def test_second_run_in_the_same_directory(dev):
    """`make dev` twice in the same checkout: the new (empty) broker must not meet the Redis state of
    the first run (its partition positions would make the worker skip the new records)."""
    if dev.proc.poll() is None:
        dev.interrupt()
    again = DevStack(dev.workdir, dev.broker)
    again.log_path = dev.workdir / "harmony-dev-2.log"
    try:
        again.start()
        for topic, name in FIRST_BATCH:
            again.ok("publish", topic, str(EXAMPLES / name))
        again.ok("wait", "--timeout", "120")
        view = json.loads(again.ok("member", "show", "OH0000001", "--json"))
        assert view["balance"] == 1498  # everything but the redemption (not published this time)
        assert view["qualifying"] == EXPECTED["OH0000001"]["qualifying"]
        again.interrupt()
        assert again.proc.poll() is not None and not any(_alive(p) for p in again.children)
    finally:
        again.cleanup()
