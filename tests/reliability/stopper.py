"""`harmony worker --plain` that freezes itself (SIGSTOP) at a chosen point, for the zombie-worker test.

HARMONY_STOP_AT = after_load (the members of a batch are loaded, nothing saved yet: the worker holds a
snapshot that is about to go stale), or one of the FaultPoints names (before_apply, after_apply,
after_publish); HARMONY_STOP_AFTER = n (the n-th time). The test sends SIGCONT later. Nothing of the
engine is changed: the hooks only wrap it.
"""
from __future__ import annotations

import logging
import os
import signal
import sys

from streams.engine import batch as engine
from streams.redis import member_store
from streams.runtime import worker

log = logging.getLogger("stopper")
AT = os.environ.get("HARMONY_STOP_AT", "")
AFTER = int(os.environ.get("HARMONY_STOP_AFTER", "1"))
_seen = 0


def _maybe_stop(name: str) -> None:
    global _seen
    if name != AT:
        return
    _seen += 1
    if _seen == AFTER:
        log.warning("stopper: SIGSTOP at %s", name)
        for h in logging.getLogger().handlers:
            h.flush()
        os.kill(os.getpid(), signal.SIGSTOP)
        log.warning("stopper: resumed after %s", name)


_point = worker.FaultPoints.point


def point(self, name: str) -> None:
    _maybe_stop(name)
    _point(self, name)


_load_many = member_store.MemberStore.load_many


def load_many(self, wants, cacheable=()):
    members = _load_many(self, wants, cacheable)
    if wants:
        _maybe_stop("after_load")
    return members


_process = engine.Engine.process


def process(self, messages):
    result = _process(self, messages)
    if result.cas_retries:  # evidence for the test that a stale snapshot was refused
        log.warning("stopper: batch needed %d compare-and-set retries", result.cas_retries)
    return result


# the stopper's worker process runs with these patched in (the point of this module)
worker.FaultPoints.point = point  # type: ignore[method-assign]  # patched on purpose
member_store.MemberStore.load_many = load_many  # type: ignore[method-assign]  # patched on purpose
engine.Engine.process = process  # type: ignore[method-assign]  # patched on purpose

if __name__ == "__main__":
    from streams.cli.main import main
    sys.exit(main(["worker", "--plain"]))
