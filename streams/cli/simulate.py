"""`harmony simulate`: seeded PMS/POS traffic published to the engine's topics (streams/simulate)."""
from __future__ import annotations

from streams.simulate.mix import ZIPF_EXPONENT


def cmd_simulate(args) -> int:
    from streams.simulate.run import main as simulate_main
    return simulate_main(args)


def traffic_options(parser) -> None:
    """The generator's options (streams/simulate/generator.py), shared with `harmony bench`: the
    seed, the business dates and the skew of member activity."""
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--start", default="2026-04-01", help="first business date of the traffic")
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--zipf", type=float, default=ZIPF_EXPONENT,
                        help="member activity skew: weight of rank r is r^-zipf")


def register(sub) -> None:
    """simulate"""
    sim = sub.add_parser("simulate", help="publish realistic PMS/POS traffic")
    sim.add_argument("--events", type=int, default=10_000)
    sim.add_argument("--members", type=int, default=1_000)
    sim.add_argument("--rate", type=float, default=0, help="events/s (0: as fast as possible)")
    traffic_options(sim)
    sim.add_argument("--charges-only", action="store_true",
                     help="send only the charges (the enrollments and FX rates were sent by an earlier run)")
    sim.add_argument("--dry-run", action="store_true", help="generate and describe, send nothing")
    sim.add_argument("--no-create-topics", action="store_true", help="do not create missing topics first")
    sim.set_defaults(func=cmd_simulate)
