"""`harmony bench`: the command, plugged into `harmony` through the entry point group
``harmony.commands`` (pyproject.toml), so the product never imports the bench."""
from __future__ import annotations

from streams.cli.simulate import traffic_options


def cmd_bench(args) -> int:
    from bench.main import main as bench_main
    return bench_main(args)


def register(sub) -> None:
    """bench"""
    b = sub.add_parser("bench", help="end-to-end throughput and latency benchmark")
    b.add_argument("--events", type=int, default=200_000)
    b.add_argument("--members", type=int, default=100_000)
    b.add_argument("--partitions", type=int, default=6)
    b.add_argument("--workers", type=int, default=1)
    b.add_argument("--naive-events", type=int, default=20_000)
    b.add_argument("--latency-rate", type=float, default=2000.0)
    b.add_argument("--latency-seconds", type=float, default=10.0)
    b.add_argument("--latency-sweep", default="500,1000", metavar="RATES",
                   help="more offered rates for the latency phase, comma-separated (default 500,1000; \"\" for none): "
                        "one more run of --latency-seconds each, after the main one")
    b.add_argument("--json", dest="json_out", default=None)
    traffic_options(b)
    b.add_argument("--check", action="store_true",
                   help="replay the same topics with one reference worker and compare every member's balance")
    b.add_argument("--compare", metavar="FILE", default=None,
                   help="compare the balances with an earlier bench JSON of the same traffic")
    b.add_argument("--profile", metavar="FILE", default=None,
                   help="profile worker 0 with cProfile during the timed engine phase (slower)")
    b.add_argument("--py-spy", dest="py_spy", metavar="FILE", default=None,
                   help="sample worker 0 with py-spy during the timed engine phase (raw collapsed stacks)")
    b.add_argument("--py-spy-idle", dest="py_spy_idle", action="store_true",
                   help="with --py-spy: sample waiting threads too (wall-clock profile, not only CPU)")
    b.add_argument("--skip", default="", help="comma-separated phases to skip: ceiling, limit, naive, latency")
    b.add_argument("--broker", choices=("tansu", "kafka"), default="tansu",
                   help="the private broker the bench starts: tansu (default) or kafka (Apache Kafka, one KRaft node; "
                        "needs Java and `make kafka`)")
    b.add_argument("--private", action="store_true",
                   help="start a private broker and Redis even if KAFKA_BOOTSTRAP_SERVERS / REDIS_URL are set")
    b.add_argument("--flush", action="store_true", help="empty the bench's Redis databases first (configured Redis)")
    b.add_argument("--keep", action="store_true", help="keep the work dir (logs) after a successful run")
    b.set_defaults(func=cmd_bench)
