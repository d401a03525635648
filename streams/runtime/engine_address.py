"""Where the commands find the broker and Redis (interfaces.md, "Command line").

Order: the environment (``KAFKA_BOOTSTRAP_SERVERS`` / ``REDIS_URL``), else the addresses a running
``harmony dev`` wrote, wherever it was started, else a clear error — never a silent default that
reaches some other Redis.

``harmony dev`` writes one address file per process under the per-user state directory
(``$HARMONY_STATE_DIR``, else ``$XDG_STATE_HOME/harmony``, else ``~/.local/state/harmony``):
``dev-<pid>.env`` with ``KEY=value`` lines (the addresses, ``HARMONY_DEV_PID`` and ``HARMONY_DEV_DIR``),
and the same lines in ``.harmony/dev.env`` of its own directory. A file whose process is gone (a
``harmony dev`` killed with -9) is ignored and removed. With several running, the one started in
the current directory (or a parent of it) wins, else the newest.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

ADDRESS_KEYS = ("KAFKA_BOOTSTRAP_SERVERS", "REDIS_URL", "HARMONY_WEB_PORT", "HARMONY_TOPIC_PREFIX",
                "SCHEMA_REGISTRY_URL")
LOCAL_FILE = Path(".harmony") / "dev.env"


class EngineNotFound(RuntimeError):
    pass


def state_dir() -> Path:
    if os.environ.get("HARMONY_STATE_DIR"):
        return Path(os.environ["HARMONY_STATE_DIR"])
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "harmony"


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive, but not ours to use
        return False
    try:  # a pid reused by a zombie is not a running `harmony dev`
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def parse(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip():
            out[key.strip()] = value.strip()
    return out


def write(values: dict[str, str], directory: Path) -> list[Path]:
    """Written by `harmony dev` once its broker and Redis run; returns the files (removed on exit)."""
    lines = {k: values[k] for k in ADDRESS_KEYS if values.get(k)}
    lines["HARMONY_DEV_PID"] = str(os.getpid())
    lines["HARMONY_DEV_DIR"] = str(directory.resolve())
    text = "".join(f"{k}={v}\n" for k, v in lines.items())
    files = [directory / LOCAL_FILE, state_dir() / f"dev-{os.getpid()}.env"]
    for f in files:
        f.parent.mkdir(parents=True, exist_ok=True)
        tmp = f.with_suffix(".tmp")
        tmp.write_text(text)
        tmp.replace(f)
    return files


def running_devs() -> list[dict[str, str]]:
    """The address files of live `harmony dev` processes, newest first (dead ones are removed)."""
    found = []
    d = state_dir()
    for f in sorted(d.glob("dev-*.env")) if d.is_dir() else []:
        try:
            values = parse(f.read_text())
            mtime = f.stat().st_mtime
        except OSError:
            continue
        if _alive(int(values.get("HARMONY_DEV_PID", "0") or 0)):
            found.append((mtime, values))
        else:
            f.unlink(missing_ok=True)
    local = Path.cwd() / LOCAL_FILE
    if local.exists():
        values = parse(local.read_text())
        pid = values.get("HARMONY_DEV_PID")
        if pid is None or _alive(int(pid)):  # a file without a pid: written by an older version
            found.append((float("inf"), values))
    found.sort(key=lambda x: -x[0])
    return [v for _, v in found]


def _choose(devs: list[dict[str, str]]) -> dict[str, str]:
    cwd = Path.cwd().resolve()
    for v in devs:
        d = v.get("HARMONY_DEV_DIR")
        if d and (cwd == Path(d) or Path(d) in cwd.parents):
            return v
    if len(devs) > 1:
        print(f"harmony: {len(devs)} `harmony dev` are running; using the newest (pid "
              f"{devs[0].get('HARMONY_DEV_PID')}, started in {devs[0].get('HARMONY_DEV_DIR')})", file=sys.stderr)
    return devs[0]


def locate(environ=None) -> str:
    """Fill ``environ`` (default os.environ) with the addresses to use; returns where they came from.
    Raises EngineNotFound when neither the environment nor a running `harmony dev` gives them."""
    env = os.environ if environ is None else environ
    if env.get("KAFKA_BOOTSTRAP_SERVERS") and env.get("REDIS_URL"):
        return "environment"
    devs = running_devs()
    if not devs:
        missing = [k for k in ("KAFKA_BOOTSTRAP_SERVERS", "REDIS_URL") if not env.get(k)]
        raise EngineNotFound(
            f"no engine configured and no `harmony dev` running: {' and '.join(missing)} not set, and no "
            f"address file of a live `harmony dev` in {state_dir()} (start `harmony dev`, or set the variables)")
    chosen = _choose(devs)
    for k in ADDRESS_KEYS:
        if chosen.get(k) and not env.get(k):
            env[k] = chosen[k]
    return f"harmony dev (pid {chosen.get('HARMONY_DEV_PID', '?')}, {chosen.get('HARMONY_DEV_DIR', '?')})"
