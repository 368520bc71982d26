"""How fast the model runs: wall time and SimPy events per second for a merchant base over a
simulated day (the goal: 10,000 merchants over 24 h in at most 60 s).

    python -m harness.model.bench [--merchants 1000 10000] [--hours 24] [--seed 7]
"""

from __future__ import annotations

import argparse
import os

from harness.model.sim import simulate
from harness.model.spec import spec_from_topology
from harness.model.workload import LoadProfile
from harness.topology import load_topology


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--topology", default="netsuite-stripe-salesforce")
    parser.add_argument("--merchants", type=int, nargs="+", default=[1000, 10_000])
    parser.add_argument("--declines-per-day", type=float, default=10.0)
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    spec = spec_from_topology(load_topology(args.topology))
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} "
          f"({os.cpu_count()} cores)")
    print(f"{'merchants':>9} {'declines':>9} {'events':>10} {'wall s':>7} {'events/s':>9} "
          f"{'µs/event':>8} {'declines/s':>10}")
    for merchants in args.merchants:
        profile = LoadProfile(merchants=merchants, declines_per_day=args.declines_per_day)
        result = simulate(spec, profile, seed=args.seed, hours=args.hours)
        wall = result.wall_seconds
        print(f"{merchants:9,} {len(result.latencies):9,} {result.events:10,} {wall:7.1f} "
              f"{result.events / wall:9,.0f} {wall / result.events * 1e6:8.1f} "
              f"{len(result.latencies) / wall:10,.0f}")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
