"""`harmony` — the command line of the One Harmony engine (interfaces.md)."""
from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from importlib.metadata import entry_points

# commands that do not need the engine's addresses (dev starts its own; bench starts private ones
# unless they are configured; docs only reads the schemas)
NO_ENGINE = {"dev", "bench", "docs", "api-token"}


def locate_engine(args) -> None:
    """Environment, else a running `harmony dev` (streams/runtime/engine_address.py), else exit with a clear error."""
    from streams.runtime.engine_address import EngineNotFound, locate
    if args.command in NO_ENGINE or (args.command == "simulate" and args.dry_run):
        return
    try:
        source = locate()
    except EngineNotFound as exc:
        print(f"harmony {args.command}: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    logging.getLogger(__name__).info("engine addresses from %s", source)


# ---------------------------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    """Every command group registers its own subcommands (one module each in streams/cli); tooling
    installed beside the engine (`harmony bench`) plugs in through the ``harmony.commands`` entry points."""
    p = argparse.ArgumentParser(prog="harmony", description="One Harmony points engine")
    sub = p.add_subparsers(dest="command", required=True)
    from streams.cli import dlq, docs, local, members, office, report, simulate, tail, topics
    for module in (local, topics, members, simulate, tail, dlq, report, docs, office):
        module.register(sub)
    for plugin in entry_points(group="harmony.commands"):
        plugin.load()(sub)
    return p


# commands that talk to a configured broker: they check first that it accepts the client settings
# (KAFKA_CONFIG_*), so wrong credentials fail in seconds with the broker's reason instead of hanging
BROKER_COMMANDS = frozenset({"worker", "topics", "publish", "wait", "close-year", "expire", "rebuild", "simulate",
                             "adjust", "claim", "tail", "dlq", "report"})


def check_broker(args) -> str | None:
    """None when the broker answers with the configured settings, else the error to print."""
    if args.command not in BROKER_COMMANDS or getattr(args, "dry_run", False):
        return None
    from streams.cli.common import settings
    from streams.kafka.clients import BrokerConnectionError, check_connection
    try:
        s = settings()
        check_connection(s.bootstrap, timeout=s.connect_timeout)
    except BrokerConnectionError as exc:
        return f"harmony {args.command}: {exc}"
    return None


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=os.environ.get("HARMONY_LOGLEVEL", "WARNING").upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    locate_engine(args)
    from streams.runtime.settings_errors import SettingsError
    try:
        problem = check_broker(args)
        if problem:
            print(problem, file=sys.stderr)
            return 2
        if args.command == "dev" or (args.command == "worker" and not args.plain):
            signal.signal(signal.SIGTERM, signal.default_int_handler)
        return args.func(args) or 0
    except SettingsError as exc:  # a wrong environment variable: say which, no traceback
        for line in exc.problems:
            print(f"harmony {args.command}: {line}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
