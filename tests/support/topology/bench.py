"""``scripts/bench --verify`` (via infra/cli/bench.py): how ``scripts/verify --stack`` scales.

Builds two namespaced topologies, one with a single relay and one with ten, and times the
suite's run against each (the same run ``scripts/verify --stack`` makes: one pytest process,
hosts checked side by side in threads), alternating the sizes so a change in the machine's load
falls on both. Prints every run with the load average at its start, each size's median, and the
ratio of the medians; the target is 10 hosts at most 1.5 times one host. Needs root (network
namespaces).
Figures only: nothing is asserted.
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
from infra.verify.summary import RunVerdict
from tests.support.golden import whole_render
from tests.support.topology.fixtures import skip_reason
from tests.support.topology.topology import Topology

TARGET = 1.5


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _one_run(topology: Topology, scratch: Path) -> tuple[float, float, float]:
    """(wall, CPU, load average at the start) of one green run."""
    assert topology.inventory is not None
    load = os.getloadavg()[0]
    started, cpu = time.perf_counter(), _children_cpu()
    with contextlib.redirect_stdout(io.StringIO()):  # the per-check lines
        verdict = run_suite(topology.inventory, scratch / "junit.xml", [])
    wall, used = time.perf_counter() - started, _children_cpu() - cpu
    if verdict is not RunVerdict.GREEN:
        raise SystemExit(
            f"verify was not green against {len(topology.relays())} relay(s): not a timing"
        )
    return wall, used, load


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/bench --verify", description=__doc__)
    parser.add_argument("--runs", type=int, default=3, help="runs per size (default 3)")
    parser.add_argument("--hosts", type=int, nargs=2, default=(1, 10), metavar=("FEW", "MANY"))
    arguments = parser.parse_args(argv)
    reason = skip_reason()
    if reason:
        print(f"error: {reason}", file=sys.stderr)
        return 2
    few, many = arguments.hosts
    timings: dict[int, list[tuple[float, float, float]]] = {few: [], many: []}
    with tempfile.TemporaryDirectory(prefix="relaymd-verify-bench-") as scratch:
        render = whole_render(Path(scratch) / "example")
        topologies = {size: Topology(render, relays=size) for size in (few, many)}
        try:
            for topology in topologies.values():
                topology.build()
            for topology in topologies.values():  # untimed: first handshakes, caches
                _one_run(topology, Path(scratch))
            for index in range(arguments.runs):
                for size in (few, many) if index % 2 == 0 else (many, few):
                    wall, cpu, load = _one_run(topologies[size], Path(scratch))
                    timings[size].append((wall, cpu, load))
                    print(
                        f"run {index + 1}, {size:2d} relay host(s): {wall:5.2f}s wall, "
                        f"{cpu:5.2f}s CPU, load average {load:.1f} at its start",
                        flush=True,
                    )
        finally:
            for topology in topologies.values():
                topology.close()
    medians = {}
    for size, runs in timings.items():
        medians[size] = statistics.median(wall for wall, _, _ in runs)
        cpu = statistics.median(used for _, used, _ in runs)
        print(f"verify, {size:2d} relay host(s): median {medians[size]:.2f}s wall, {cpu:.2f}s CPU")
    ratio = medians[many] / medians[few]
    loads = [load for runs in timings.values() for _, _, load in runs]
    print(
        f"ratio {many} hosts / {few} host: {ratio:.2f}x (target <= {TARGET}x; "
        f"{os.cpu_count()} CPUs, load average {min(loads):.1f} to {max(loads):.1f} during the runs)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
