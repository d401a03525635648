"""`harmony simulate`: seeded PMS/POS traffic published to the engine's topics (streams/simulate)."""
from __future__ import annotations


def cmd_simulate(args) -> int:
    from streams.simulate.run import main as simulate_main
    return simulate_main(args)


def register(sub) -> None:
    """simulate"""
    sim = sub.add_parser("simulate", help="publish realistic PMS/POS traffic")
    sim.add_argument("--events", type=int, default=10_000)
    sim.add_argument("--members", type=int, default=1_000)
    sim.add_argument("--rate", type=float, default=0, help="events/s (0: as fast as possible)")
    sim.add_argument("--seed", type=int, default=1)
    sim.add_argument("--start", default="2026-04-01", help="first business date")
    sim.add_argument("--days", type=int, default=180)
    sim.add_argument("--zipf", type=float, default=0.8, help="member activity skew: weight of rank r is r^-zipf")
    sim.add_argument("--charges-only", action="store_true",
                     help="send only the charges (the enrollments and FX rates were sent by an earlier run)")
    sim.add_argument("--dry-run", action="store_true", help="generate and describe, send nothing")
    sim.add_argument("--no-create-topics", action="store_true", help="do not create missing topics first")
    sim.set_defaults(func=cmd_simulate)
