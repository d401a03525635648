"""schemathesis against the served OpenAPI document (issue 12 §3): generated requests, valid and
invalid, with an office token — no 500s, only documented statuses, responses matching their
schemas, authentication enforced (`ignored_auth`)."""
from __future__ import annotations

import subprocess

from tests.harness import Publisher, enrollment, posting
from tests.office_server import ROOT, OfficeServer


def test_schemathesis_against_openapi(kafka_bootstrap, redis_url, redis_clean, topics, unique, tmp_path):
    with OfficeServer(kafka_bootstrap, redis_url, topics, unique, tmp_path,
                      extra_env={"HARMONY_API_WAIT_SECONDS": "3"}) as srv:
        pub = Publisher(kafka_bootstrap, topics)
        pub.send("enrollments", enrollment("ST1"))
        pub.send("postings", posting("ST-P1", "ST1", "10000"))
        pub.flush()
        cmd = [str(ROOT / ".venv" / "bin" / "schemathesis"), "run", srv.url("/openapi.json"),
               "-H", f"Authorization: Bearer {srv.office_token}", "--checks", "all",
               "--max-examples", "15", "--seed", "12", "--workers", "1", "--request-timeout", "20",
               "--max-time", "90", "--no-shrink", "--warnings", "off"]
        r = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=420)
        out = r.stdout + r.stderr
        (tmp_path.parent / "schemathesis-last.txt").write_text(out)
        assert r.returncode == 0, out[-6000:]
