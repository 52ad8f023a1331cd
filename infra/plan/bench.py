"""Plan timings for the example stack: ``scripts/bench [--runs N]``. Prints figures only.

Speed targets live here rather than in tests: the machine a test runs on is not a clock.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence

from infra.edge.loading import PROJECT_ROOT
from infra.plan.cli import render_stack


def _timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    with contextlib.redirect_stderr(io.StringIO()):  # progress lines are not figures
        action()
    return time.perf_counter() - started


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/bench", description=__doc__)
    parser.add_argument("--runs", type=int, default=5, help="warm runs to time (default 5)")
    parser.add_argument("--stack", default="example")
    arguments = parser.parse_args(argv)

    cold = [
        _timed(
            lambda: subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "infra.plan.cli",
                    "plan",
                    "--stack",
                    arguments.stack,
                    "--check",
                    str(PROJECT_ROOT / "tests" / "golden" / arguments.stack),
                ],
                cwd=PROJECT_ROOT,
                capture_output=True,
                check=False,
            )
        )
        for _ in range(2)
    ]
    warm = [_timed(lambda: render_stack(arguments.stack)) for _ in range(arguments.runs)]
    with contextlib.redirect_stderr(io.StringIO()):
        files, document = render_stack(arguments.stack)
    resources = document["resources"]
    count = len(resources) if isinstance(resources, list) else 0
    print(f"stack {arguments.stack}: {count} resources, {len(files)} rendered files")
    print(f"cold plan (new process, imports included): best {min(cold):.2f}s of {len(cold)}")
    print(
        f"warm plan (in process): median {statistics.median(warm):.3f}s, "
        f"best {min(warm):.3f}s of {len(warm)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
