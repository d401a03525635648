"""The secured HTTP API (issue 12 §3): tokens and roles, refusals that change nothing, 400 naming the
field, adjustments and claims over HTTP with their outcome, the audit log, loopback-only without
a token file."""
from __future__ import annotations

import os
import subprocess
from datetime import datetime, timedelta

import pytest

from processors.model import JST
from tests import office_support  # noqa: F401 - registers the office topics with the harness
from tests.harness import Publisher, enrollment, posting, settings_for, wait_processed
from tests.office_server import HARMONY, ROOT, OfficeServer, request


@pytest.fixture
def server(kafka_bootstrap, redis_url, redis_clean, topics, unique, tmp_path):
    with OfficeServer(kafka_bootstrap, redis_url, topics, unique, tmp_path) as srv:
        yield srv


def test_tokens_roles_and_office_actions(server, kafka_bootstrap, redis_url, redis_clean, topics, unique):
    bd = (datetime.now(JST).date() - timedelta(days=3)).isoformat()
    pub = Publisher(kafka_bootstrap, topics)
    pub.send("enrollments", enrollment("API1", "2025-01-01"))
    pub.send("postings", posting("API-P1", "API1", "10000", bdate=bd))
    pub.send("postings", posting("API-W1", None, "20000", bdate=bd))
    pub.flush()
    wait_processed(settings_for(kafka_bootstrap, redis_url, topics, unique))
    office, app = server.office_token, server.app_token
    adj = {"points": 500, "reason": "GOODWILL", "note": "room not ready", "adjustment_id": "API-A1"}

    # refused: no token, a wrong token, a member-app token on an office action — and nothing changes
    assert request(server.url("/members/API1"))[0] == 401
    assert request(server.url("/members/API1"), token="hmy_wrong")[0] == 401
    assert request(server.url("/members/API1/adjustments"), "POST", adj)[0] == 401
    assert request(server.url("/members/API1/adjustments"), "POST", adj, token="nope")[0] == 401
    assert request(server.url("/members/API1/adjustments"), "POST", adj, token=app)[0] == 403
    assert request(server.url("/members/API1/claims"), "POST", {"source_id": "API-W1"}, token=app)[0] == 403
    status, view = request(server.url("/members/API1"), token=app)
    assert status == 200 and view["balance"] == 200
    assert request(server.url("/members/API1/ledger"), token=app)[0] == 200
    assert request(server.url("/health"))[0] == 200 and request(server.url("/metrics"))[0] == 200
    assert request(server.url("/openapi.json"))[0] == 200

    # 400 naming the field
    for body, field in ((b"{not json", "body"), (b"[]", "body"), ({"points": "5", "reason": "GOODWILL"}, "points"),
                        ({"points": 5}, "reason"), ({"points": 5, "reason": "GOODWILL", "pts": 1}, "pts"),
                        ({"points": True, "reason": "GOODWILL"}, "points")):
        status, err = request(server.url("/members/API1/adjustments"), "POST", body, token=office)
        assert status == 400 and err["field"] == field, (body, err)
    claim_err = request(server.url("/members/API1/claims"), "POST", {"claim_id": "x"}, token=office)[1]
    assert claim_err["field"] == "source_id"
    assert request(server.url("/members/API1"), token=app)[1]["balance"] == 200

    # the office role adjusts and claims, and gets the outcome
    status, out = request(server.url("/members/API1/adjustments"), "POST", adj, token=office)
    assert status == 200 and out["outcome"] == "APPLIED" and out["balance_after"] == 700
    assert "by suzuki" in out["detail"]  # the operator is the token's name
    status, out = request(server.url("/members/API1/adjustments"), "POST", {"points": 0, "reason": "GOODWILL"},
                          token=office)
    assert status == 200 and (out["outcome"], out["reason"]) == ("REJECTED", "ZERO_POINTS")
    status, out = request(server.url("/members/API1/claims"), "POST", {"source_id": "API-W1", "claim_id": "API-C1"},
                          token=office)
    assert status == 200 and out["outcome"] == "EARNED" and out["base_points"] == 400
    status, out = request(server.url("/members/API1/claims"), "POST", {"source_id": "API-W1"}, token=office)
    assert (out["outcome"], out["reason"]) == ("REJECTED", "ALREADY_CREDITED")
    assert request(server.url("/members/API1"), token=app)[1]["balance"] == 1100

    # the CLI: publishes, waits for and prints the outcome
    def cli(*args):
        return subprocess.run([HARMONY, *args], env=server.env, cwd=ROOT, capture_output=True, text=True, timeout=90)
    r = cli("adjust", "API1", "-100", "--reason", "CORRECTION", "--note", "double credit", "--operator", "sato")
    assert r.returncode == 0 and "APPLIED -100 points, balance 1,000" in r.stdout, r.stdout + r.stderr
    r = cli("adjust", "API1", "5", "--reason", "BRIBE")
    assert r.returncode == 1 and "REJECTED UNKNOWN_REASON" in r.stdout, r.stdout + r.stderr
    r = cli("claim", "API1", "API-W1")
    assert r.returncode == 1 and "REJECTED ALREADY_CREDITED" in r.stdout, r.stdout + r.stderr
    r = cli("claim", "API1", "NO-SUCH")
    assert r.returncode == 1 and "REJECTED CHARGE_NOT_FOUND" in r.stdout, r.stdout + r.stderr
    assert request(server.url("/members/API1"), token=app)[1]["balance"] == 1000

    # audited: who, what, when
    audit = [__import__("orjson").loads(x) for x in redis_clean.lrange("audit:log", 0, -1)]
    mine = [a for a in audit if a["path"].endswith("/adjustments") and a["status"] == 200]
    assert mine and all(a["who"] == "suzuki" and a["at"] for a in mine)
    refused = [a for a in audit if a["status"] in (401, 403)]
    assert {a["who"] for a in refused} == {"anonymous", "member-app"}


def test_metrics_can_be_protected(kafka_bootstrap, redis_url, redis_clean, topics, unique, tmp_path):
    with OfficeServer(kafka_bootstrap, redis_url, topics, unique, tmp_path,
                      extra_env={"HARMONY_METRICS_PROTECTED": "1"}) as srv:
        assert request(srv.url("/metrics"))[0] == 401
        assert request(srv.url("/metrics"), token=srv.app_token)[0] == 200
        assert request(srv.url("/health"))[0] == 200


def test_without_token_file_only_loopback(kafka_bootstrap, redis_url, topics, unique):
    env = dict(os.environ, KAFKA_BOOTSTRAP_SERVERS=kafka_bootstrap, REDIS_URL=redis_url,
               HARMONY_TOPIC_PREFIX=topics.prefix, HARMONY_GROUP=unique, HARMONY_WEB_HOST="0.0.0.0")
    env.pop("HARMONY_API_TOKENS_FILE", None)
    r = subprocess.run([HARMONY, "worker"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode != 0
    assert "refusing to serve the API on 0.0.0.0" in (r.stderr + r.stdout)
