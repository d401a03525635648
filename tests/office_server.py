"""`harmony worker` (the faust app with the API and the console) in a subprocess, with a token file:
shared by the API, schemathesis and Chromium tests."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from streams.devstack.process import free_port
from streams.web.auth import new_token, token_hash

ROOT = Path(__file__).resolve().parents[1]
HARMONY = str(ROOT / ".venv" / "bin" / "harmony")


def request(url: str, method: str = "GET", body: bytes | dict | None = None, token: str | None = None,
            headers: dict | None = None) -> tuple[int, dict | str]:
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    h = {"Content-Type": "application/json", **(headers or {})}
    if token:
        h["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(url, data=data, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            status, raw, ctype = r.status, r.read(), r.headers.get("Content-Type", "")
    except urllib.error.HTTPError as e:
        status, raw, ctype = e.code, e.read(), e.headers.get("Content-Type", "")
    return status, json.loads(raw) if "json" in ctype else raw.decode()


class OfficeServer:
    def __init__(self, bootstrap: str, redis_url: str, topics, group: str, workdir: Path, tokens: bool = True,
                 extra_env: dict | None = None):
        self.bootstrap, self.redis_url, self.topics, self.group = bootstrap, redis_url, topics, group
        self.workdir = workdir
        self.office_token, self.app_token = new_token(), new_token()
        self.port = free_port()
        self.tokens_file = workdir / "tokens.toml"
        if tokens:
            self.tokens_file.write_text(
                f'[[tokens]]\nname = "suzuki"\nrole = "office"\nsha256 = "{token_hash(self.office_token)}"\n\n'
                f'[[tokens]]\nname = "member-app"\nrole = "member-app"\nsha256 = "{token_hash(self.app_token)}"\n')
        self.env = dict(os.environ, KAFKA_BOOTSTRAP_SERVERS=bootstrap, REDIS_URL=redis_url,
                        HARMONY_TOPIC_PREFIX=topics.prefix, HARMONY_GROUP=group, HARMONY_WEB_PORT=str(self.port),
                        HARMONY_SESSION_TIMEOUT_MS="6000", **(extra_env or {}))
        if tokens:
            self.env["HARMONY_API_TOKENS_FILE"] = str(self.tokens_file)
        else:
            self.env.pop("HARMONY_API_TOKENS_FILE", None)
        self.proc: subprocess.Popen | None = None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self, timeout: float = 90) -> OfficeServer:
        self.log = open(self.workdir / f"worker-{self.port}.log", "wb")
        self.proc = subprocess.Popen([HARMONY, "worker", "--loglevel", "warning"], env=self.env, cwd=ROOT,
                                     stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"harmony worker exited: {(self.workdir / self.log.name).read_text()[-2000:]}")
            try:
                if request(self.url("/health"))[0] == 200:
                    return self
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"worker not healthy after {timeout} s: see {self.log.name}")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self.log.close()

    def __enter__(self) -> OfficeServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
