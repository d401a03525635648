"""The worker as shipped: `harmony worker` (the faust app: batch loop + web views + jobs agent) in a
subprocess, queried over HTTP — GET /members/{id} (the same JSON as `harmony member show --json`),
/members/{id}/ledger paging, /health and /metrics — and a close-year job sent to the jobs topic.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from streams.devstack.process import free_port
from streams.kafka.clients import make_producer
from tests.harness import enrollment, posting, redemption
from tests.lifecycle_support import LifecycleEnv

ROOT = Path(__file__).resolve().parents[2]
HARMONY = str(ROOT / ".venv" / "bin" / "harmony")
M, LOTS = "HT-LEDGER", "HT-LOTS"


class ServedEnv(LifecycleEnv):
    """Like LifecycleEnv, but the worker is `harmony worker` in a subprocess."""

    def __enter__(self):
        from streams.kafka.admin import create_topics
        from tests.harness import Publisher
        from tests.lifecycle_support import connect_flushed
        self.redis = connect_flushed(self.redis_url)
        create_topics(self.bootstrap, self.topics)
        self.pub = Publisher(self.bootstrap, self.topics)
        self.port = free_port()
        self.env = dict(os.environ, KAFKA_BOOTSTRAP_SERVERS=self.bootstrap, REDIS_URL=self.redis_url,
                        HARMONY_TOPIC_PREFIX=self.prefix, HARMONY_GROUP=self.settings.group,
                        HARMONY_WEB_PORT=str(self.port), HARMONY_SESSION_TIMEOUT_MS="6000")
        self.log = open(Path(os.environ.get("TMPDIR", "/tmp")) / f"harmony-worker-{self.port}.log", "wb")
        self.proc = subprocess.Popen([HARMONY, "worker", "--loglevel", "warning"], env=self.env, cwd=ROOT,
                                     stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while True:
            assert self.proc.poll() is None, f"harmony worker exited: see {self.log.name}"
            try:
                if get(self.url("/health"))[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, f"worker not healthy after 60 s: see {self.log.name}"
            time.sleep(0.2)
        from streams.runtime.bootstrap import build_engine
        self.jobs = build_engine(self.settings)
        return self

    def __exit__(self, *exc):
        try:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(30)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
        finally:
            self.log.close()
            self.redis.close()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([HARMONY, *args], env=self.env, cwd=ROOT, capture_output=True, text=True, timeout=60)


def get(url: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read().decode()


def get_json(url: str) -> tuple[int, dict]:
    status, _, body = get(url)
    return status, json.loads(body)


@pytest.fixture(scope="module")
def served(kafka_bootstrap, redis_url):
    with ServedEnv(kafka_bootstrap, redis_url, db=5, name="lch") as e:
        e.send("enrollments", enrollment(M), enrollment(LOTS))
        # 60 earnings (some with a bonus later) + one redemption: 61 ledger entries
        e.send("postings", *(posting(f"HT-{i:02d}", M, str(10_000 + 50 * i), bdate=f"2026-{1 + i % 12:02d}-10")
                             for i in range(60)))
        # three lots, published latest first; 18,200 points and 12 nights in 2026 (vector 23)
        e.send("postings", posting("HL-28", LOTS, "50000", bdate="2028-02-01"),
               posting("HL-27", LOTS, "100000", bdate="2027-02-01"),
               posting("HL-26", LOTS, "910000", nights=12, bdate="2026-05-01"))
        e.sync()
        e.send("redemptions", redemption("HT-R1", M, "BREAKFAST_ADULT", at="2026-12-20T10:00:00+09:00"))
        e.sync()
        yield e


def test_health_and_metrics(served):
    status, body = get_json(served.url("/health"))
    assert status == 200 and body == {"status": "ok", "redis": "ok", "kafka": "ok"}
    status, ctype, text = get(served.url("/metrics"))
    assert status == 200 and ctype.startswith("text/plain")
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    assert samples[f'harmony_events_in_total{{topic="{served.topics.postings}"}}'] == 63
    assert samples['harmony_redemptions_total{outcome="APPROVED",reason=""}'] == 1
    assert any(k.startswith('harmony_config_version_info{version="') for k in samples)
    assert "# TYPE harmony_events_in_total counter" in text


def test_member_view_matches_cli_json(served):
    status, view = get_json(served.url(f"/members/{LOTS}"))
    assert status == 200
    for field in ("member_id", "status", "status_valid_until", "balance", "lots", "qualifying"):
        assert field in view, field
    assert view["member_id"] == LOTS and view["status"] == "REGULAR" and view["status_valid_until"] is None
    assert view["balance"] == 18_200 + 2_000 + 1_000
    assert view["lots"] == [{"expires_on": "2029-01-31", "points": 18_200},  # soonest first
                            {"expires_on": "2030-01-31", "points": 2_000},
                            {"expires_on": "2031-01-31", "points": 1_000}]
    assert view["qualifying"]["2026"] == {"points": 18_200, "nights": 12, "carried_points": 0, "carried_nights": 0}
    cli = served.cli("member", "show", LOTS, "--json")
    assert cli.returncode == 0, cli.stderr
    assert json.loads(cli.stdout) == view
    text = served.cli("member", "show", LOTS)
    assert text.returncode == 0 and "expires 2029-01-31" in text.stdout
    assert get_json(served.url("/members/HT-NOBODY"))[0] == 404
    assert served.cli("member", "show", "HT-NOBODY", "--json").returncode == 1


def test_close_year_through_the_jobs_topic(served):
    """A job request on harmony.jobs.v1 runs close-year in the worker (the crontab sends the same).
    The agent may join its topic after the first send: close-year is idempotent, so send until done."""
    producer = make_producer(served.bootstrap)
    topic = f"{served.prefix}harmony.jobs.v1"
    deadline = time.monotonic() + 60
    view = {}
    while time.monotonic() < deadline:
        producer.produce(topic, json.dumps({"job": "close-year", "year": 2026}).encode())
        producer.flush(10)
        for _ in range(10):
            view = get_json(served.url(f"/members/{LOTS}"))[1]
            if view.get("years_closed") == {"2026": "EXCLUSIVE"}:
                break
            time.sleep(0.3)
        else:
            continue
        break
    assert view.get("years_closed") == {"2026": "EXCLUSIVE"}, view
    assert view["upcoming_status"] == {"2027": {"status": "EXCLUSIVE", "valid_from": "2027-04-01",
                                                "valid_until": "2028-03-31"}} or view["status"] == "EXCLUSIVE"
    assert view["qualifying"]["2027"] == {"points": 2_000, "nights": 1, "carried_points": 3_200, "carried_nights": 0}
    # the job writes Redis first, then publishes: the record follows shortly
    while not served.out("status", LOTS) and time.monotonic() < deadline:
        time.sleep(0.2)
    (change,) = served.out("status", LOTS)
    assert (change["old_status"], change["new_status"], change["carried_points"]) == ("REGULAR", "EXCLUSIVE", 3_200)


def test_ledger_paging(served):
    entries = list(served.ledger(M).values())  # from points.ledger.v1, oldest first
    assert len(entries) == 61
    pages, offset = [], 0
    while offset is not None:
        status, page = get_json(served.url(f"/members/{M}/ledger?offset={offset}&limit=25"))
        assert status == 200 and page["member_id"] == M and page["total_kept"] == 61
        assert page["offset"] == offset and page["limit"] == 25
        pages.append(page)
        offset = page["next_offset"]
    assert [len(p["entries"]) for p in pages] == [25, 25, 11]
    assert [p["next_offset"] for p in pages] == [25, 50, None]
    api = [e for p in pages for e in p["entries"]]
    assert [e["id"] for e in api] == [e["entry_id"] for e in reversed(entries)]  # newest first
    assert [(e["type"], e["points"], e["balance_after"]) for e in api] == \
        [(e["type"], e["points"], e["balance_after"]) for e in reversed(entries)]
    assert api[0]["type"] == "REDEEM" and api[0]["points"] == -2_000
    # the API's balance agrees with the ledger
    assert get_json(served.url(f"/members/{M}"))[1]["balance"] == sum(e["points"] for e in entries)
    # bounds
    assert [e["id"] for e in get_json(served.url(f"/members/{M}/ledger"))[1]["entries"]] == \
        [e["id"] for e in api[:50]]  # default limit 50
    assert len(get_json(served.url(f"/members/{M}/ledger?offset=60&limit=25"))[1]["entries"]) == 1
    assert get_json(served.url(f"/members/{M}/ledger?offset=61"))[1]["entries"] == []
    assert get_json(served.url(f"/members/{M}/ledger?limit=0"))[1]["limit"] == 1
    assert get_json(served.url(f"/members/{M}/ledger?limit=100000"))[1]["limit"] == 500
    assert get_json(served.url(f"/members/{M}/ledger?offset=-3&limit=2"))[1]["offset"] == 0
    assert get_json(served.url(f"/members/{M}/ledger?limit=abc"))[0] == 400
