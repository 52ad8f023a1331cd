"""``scripts/bench --verify`` (via infra/cli/bench.py): how verify scales with hosts.

Times the testinfra suite (the same run ``scripts/verify --stack`` makes: pytest-xdist,
one group per host) against namespaced topologies with 1 and with 10 relays, and prints
both times and their ratio. The target is a ratio of at most 2: checks run in parallel
across hosts. Needs root (network namespaces). Figures only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from infra.verify.suite import run_suite
from tests.support.golden import whole_render
from tests.support.topology.fixtures import skip_reason
from tests.support.topology.topology import Topology


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_verify(relays: int, runs: int) -> list[tuple[float, float]]:
    """(wall, CPU) seconds of ``runs`` verify runs against a topology with ``relays`` relays.

    CPU counts the suite's processes (pytest, xdist workers, ssh, probes): on a busy
    machine wall time mostly measures the neighbours, CPU time what verify costs.
    """
    with tempfile.TemporaryDirectory(prefix="relaymd-verify-bench-") as scratch:
        topology = Topology(whole_render(Path(scratch) / "example"), relays=relays)
        try:
            inventory = topology.build()
            times = []
            for _ in range(runs):
                started, cpu = time.perf_counter(), _children_cpu()
                with contextlib.redirect_stdout(io.StringIO()):  # the per-check summary
                    passed = run_suite(inventory, Path(scratch) / "junit.xml", [])
                times.append((time.perf_counter() - started, _children_cpu() - cpu))
                if not passed:
                    raise SystemExit(f"verify failed against {relays} relay(s): not a timing")
            return times
        finally:
            topology.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/bench --verify", description=__doc__)
    parser.add_argument("--runs", type=int, default=2, help="verify runs per size (default 2)")
    parser.add_argument("--hosts", type=int, nargs=2, default=(1, 10), metavar=("FEW", "MANY"))
    arguments = parser.parse_args(argv)
    reason = skip_reason()
    if reason:
        print(f"error: {reason}", file=sys.stderr)
        return 2
    few, many = arguments.hosts
    timings = {size: time_verify(size, arguments.runs) for size in (few, many)}
    medians = {}
    for size, times in timings.items():
        walls, cpus = [wall for wall, _ in times], [cpu for _, cpu in times]
        medians[size] = (statistics.median(walls), statistics.median(cpus))
        print(
            f"verify, {size:2d} relay host(s): wall median {medians[size][0]:.2f}s "
            f"(best {min(walls):.2f}s of {len(walls)}), CPU median {medians[size][1]:.2f}s"
        )
    load = os.getloadavg()[0]
    wall_ratio = medians[many][0] / medians[few][0]
    cpu_ratio = medians[many][1] / medians[few][1]
    print(
        f"ratio {many} hosts / {few} host: wall {wall_ratio:.2f}x, CPU {cpu_ratio:.2f}x "
        f"(target <= 2x; {os.cpu_count()} CPUs, load average {load:.1f})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
