"""Secured clients: Apache Kafka with a SASL_SSL listener (SCRAM-SHA-512), every client of the engine
configured only through `KAFKA_CONFIG_*`.

Invariant: the `KAFKA_CONFIG_*` settings reach every Kafka client the engine creates — `harmony
topics create`, `harmony publish`, the worker's batch loop (consumers, publisher), the worker's faust
app (its agent runs a job published to harmony.jobs.v1), the jobs' publisher (`harmony expire`) and
`harmony wait` — so the engine works on a cluster that only speaks SASL_SSL; and with a wrong
password every command fails within seconds with the broker's reason, not a hang.

The test makes its own CA and broker certificate (openssl), starts a one-node Kafka with a PLAINTEXT
listener (for the test's own admin work) and a SASL_SSL listener, and creates the SCRAM user through
the Admin API. The engine is only told the SASL_SSL address. Runs in the Apache Kafka pass
(--broker=kafka|kafka3), not against Tansu (no TLS, no SASL).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from streams.devstack.process import free_port

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
_SCRIPT = Path(sys.executable).with_name("harmony")
HARMONY = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "streams.cli"]
USER, PASSWORD = "harmony-engine", "s3cret-Scram-512"
STORE_PASSWORD = "keystore-pass"
FAIL_WITHIN = 30.0  # seconds a command may take to fail with wrong credentials


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_certificates(d: Path) -> dict[str, Path]:
    """A self-signed CA, and a broker certificate for 127.0.0.1/localhost signed by it (PKCS12 keystore)."""
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt",
             "-days", "2", "-subj", "/CN=harmony-test-ca", cwd=d)
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "broker.key", "-out", "broker.csr",
             "-subj", "/CN=localhost", cwd=d)
    (d / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    _openssl("x509", "-req", "-in", "broker.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
             "-out", "broker.crt", "-days", "2", "-extfile", "san.ext", cwd=d)
    _openssl("pkcs12", "-export", "-in", "broker.crt", "-inkey", "broker.key", "-certfile", "ca.crt",
             "-out", "broker.p12", "-passout", f"pass:{STORE_PASSWORD}", "-name", "broker", cwd=d)
    return {"ca": d / "ca.crt", "keystore": d / "broker.p12"}


@pytest.fixture(scope="module")
def secured(tmp_path_factory, broker_kind):
    """(SASL_SSL bootstrap, CA file): a one-node Kafka with a SCRAM-SHA-512 user."""
    if broker_kind == "tansu":
        pytest.skip("SASL_SSL needs Apache Kafka: runs in the --broker=kafka pass")
    from confluent_kafka.admin import AdminClient, ScramCredentialInfo, ScramMechanism, UserScramCredentialUpsertion

    from streams.devstack.kafka import KafkaCluster
    d = tmp_path_factory.mktemp("sasl")
    certs = make_certificates(d)
    sasl_port = free_port()
    config = {
        "_listeners": {"SASL_SSL": sasl_port},
        "sasl.enabled.mechanisms": "SCRAM-SHA-512",
        "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config":
            "org.apache.kafka.common.security.scram.ScramLoginModule required;",
        "ssl.keystore.type": "PKCS12",
        "ssl.keystore.location": certs["keystore"],
        "ssl.keystore.password": STORE_PASSWORD,
        "ssl.key.password": STORE_PASSWORD,
    }
    with KafkaCluster(nodes=1, workdir=d / "kafka", config=config) as cluster:
        admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
        cred = UserScramCredentialUpsertion(USER, ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 8192),
                                            PASSWORD.encode())
        for fut in admin.alter_user_scram_credentials([cred]).values():
            fut.result(30)
        yield f"127.0.0.1:{sasl_port}", certs["ca"]


def _env(bootstrap: str, ca: Path, redis_url: str, prefix: str, group: str, password: str = PASSWORD) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "HARMONY_"))}
    env.update({
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap, "REDIS_URL": redis_url, "HARMONY_TOPIC_PREFIX": prefix,
        "HARMONY_GROUP": group, "HARMONY_SESSION_TIMEOUT_MS": "6000", "PYTHONUNBUFFERED": "1",
        "HARMONY_WEB_PORT": str(free_port()), "HARMONY_CONNECT_TIMEOUT": "20",
        "KAFKA_CONFIG_SECURITY_PROTOCOL": "SASL_SSL",
        "KAFKA_CONFIG_SASL_MECHANISM": "SCRAM-SHA-512",
        "KAFKA_CONFIG_SASL_USERNAME": USER,
        "KAFKA_CONFIG_SASL_PASSWORD": password,
        "KAFKA_CONFIG_SSL_CA_LOCATION": str(ca),
    })
    return env


def _run(env: dict, *args: str, timeout: float = 120.0) -> subprocess.CompletedProcess:
    return subprocess.run([*HARMONY, *args], cwd=ROOT, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=timeout)


def _ok(env: dict, *args: str, timeout: float = 120.0) -> str:
    r = _run(env, *args, timeout=timeout)
    assert r.returncode == 0, f"harmony {' '.join(args)} -> {r.returncode}\n{r.stdout}\n{r.stderr}"
    return r.stdout


def test_every_client_works_over_sasl_ssl(secured, redis_url, redis_clean, unique, tmp_path):
    bootstrap, ca = secured
    env = _env(bootstrap, ca, redis_url, f"{unique}.", unique)
    _ok(env, "topics", "create")
    log_path = tmp_path / "worker.log"
    with open(log_path, "wb") as log:
        worker = subprocess.Popen([*HARMONY, "worker", "--loglevel", "info"], cwd=ROOT, env=env,
                                  stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                  start_new_session=True)
    try:
        for topic, name in (("members.enrollments.v1", "enrollments.jsonl"), ("fx.rates.v1", "fx-rates.jsonl"),
                            ("pms.folio-postings.v1", "postings.jsonl"), ("pos.bills.v1", "bills.jsonl")):
            assert "published" in _ok(env, "publish", topic, str(EXAMPLES / name))
        _ok(env, "wait", "--timeout", "90")
        view = json.loads(_ok(env, "member", "show", "OH0000001", "--json"))
        assert view["balance"] == 1498, view  # the README walk-through before its redemption
        assert _health(env, worker, log_path)["kafka"] == "ok"
        # the jobs' publisher (ledger and balances of an expiry run) over SASL_SSL
        report = json.loads(_ok(env, "expire", "--as-of", "2026-12-01"))
        assert isinstance(report, dict), report
        # the faust app's agent consumes harmony.jobs.v1 over SASL_SSL (its consumer starts at latest:
        # publish the request again until the agent has joined and run it)
        _faust_runs_a_job(env, worker, log_path, f"{unique}.harmony.jobs.v1")
    finally:
        worker.terminate()
        try:
            worker.wait(40)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
    log_text = log_path.read_text(errors="replace")
    assert "SASL authentication" not in log_text and "Authentication failed" not in log_text, log_text[-3000:]


def _health(env: dict, worker: subprocess.Popen, log_path: Path, timeout: float = 90.0) -> dict:
    deadline = time.monotonic() + timeout
    body: dict = {}
    while time.monotonic() < deadline:
        assert worker.poll() is None, f"worker exited {worker.returncode}:\n{log_path.read_text()[-3000:]}"
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{env['HARMONY_WEB_PORT']}/health", timeout=5) as r:
                body = json.loads(r.read())
                if r.status == 200:
                    return body
        except (urllib.error.URLError, OSError, ValueError):
            pass
        time.sleep(0.5)
    raise AssertionError(f"/health not ok after {timeout:.0f}s: {body}\n{log_path.read_text()[-3000:]}")


def _faust_runs_a_job(env: dict, worker: subprocess.Popen, log_path: Path, jobs_topic: str,
                      timeout: float = 120.0) -> None:
    from streams.kafka.clients import make_producer
    os.environ.update({k: v for k, v in env.items() if k.startswith("KAFKA_CONFIG_")})
    try:
        producer = make_producer(env["KAFKA_BOOTSTRAP_SERVERS"])
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert worker.poll() is None, f"worker exited {worker.returncode}:\n{log_path.read_text()[-3000:]}"
            producer.produce(jobs_topic, json.dumps({"job": "expire", "as_of": "2026-12-02"}).encode())
            assert producer.flush(30) == 0
            until = time.monotonic() + 5
            while time.monotonic() < until:
                if "job done" in log_path.read_text(errors="replace"):
                    return
                time.sleep(0.25)
        raise AssertionError(f"the faust agent ran no job in {timeout:.0f}s:\n{log_path.read_text()[-4000:]}")
    finally:
        for k in env:
            if k.startswith("KAFKA_CONFIG_"):
                os.environ.pop(k, None)


@pytest.mark.parametrize("command", [
    ("topics", "create"),
    ("publish", "members.enrollments.v1", str(EXAMPLES / "enrollments.jsonl")),
    ("wait", "--timeout", "60"),
    ("expire", "--as-of", "2026-12-01"),
    ("worker",),
])
def test_wrong_password_fails_fast_and_says_why(secured, redis_url, unique, command):
    bootstrap, ca = secured
    env = _env(bootstrap, ca, redis_url, f"{unique}.", unique, password="not-the-password")
    started = time.monotonic()
    r = _run(env, *command, timeout=FAIL_WITHIN + 30)
    took = time.monotonic() - started
    assert r.returncode != 0, (r.stdout, r.stderr)
    assert took < FAIL_WITHIN, f"harmony {command[0]} took {took:.1f}s to fail"
    assert "Authentication failed" in r.stderr or "SASL authentication error" in r.stderr, r.stderr[-2000:]
