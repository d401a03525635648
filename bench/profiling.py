"""`harmony bench --profile`: run a `harmony` command under cProfile switched on and off by signals.

    python -m bench.profiling OUT.prof worker --plain

SIGUSR1 starts profiling the main thread (where `worker --plain` runs its batch loop), SIGUSR2
stops it and writes the statistics to OUT.prof (so the bench profiles only its timed phase, not the
start-up or the idle time); they are written at exit too if profiling is still on.
"""
from __future__ import annotations

import cProfile
import signal
import sys


def main(argv: list[str]) -> int:
    out, args = argv[0], argv[1:]
    prof = cProfile.Profile()
    on = False

    def start(*_):
        nonlocal on
        if not on:
            on = True
            prof.enable()

    def stop(*_):
        nonlocal on
        if on:
            prof.disable()
            on = False
            prof.dump_stats(out)

    signal.signal(signal.SIGUSR1, start)
    signal.signal(signal.SIGUSR2, stop)
    from streams.cli.main import main as harmony
    try:
        return harmony(args)
    finally:
        stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
