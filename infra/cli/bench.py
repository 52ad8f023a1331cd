"""Plan timings as whole processes: ``scripts/bench [--runs N] [--relays 1,10,50] [--out FILE]``.

Every figure is a new process of this venv, timed from start to exit, run alternately with the
others so that load on the machine spreads over all of them; each case reports the median,
minimum and maximum of ``--runs`` runs and its peak memory (the largest ``ru_maxrss`` of its
processes). Two ratios come out of them:

- plan / import floor: the example's plan against a process that only imports the provider
  SDK packages the program imports (also shown against every SDK module a plan loads, and
  against a floor that runs the garbage collector as a plan process does);
- N relays / 1 relay: synthetic stacks (the example with N relays) against the 1-relay one.

Like with like: pip byte-compiled the venv's SDKs at install, so the bench byte-compiles this
package too before timing (as ``scripts/plan`` does); otherwise, with ``PYTHONDONTWRITEBYTECODE``
set, every plan would compile ~50 modules from source and the floor would not.

Speed targets live here and nowhere else: the machine a test runs on is not a clock. This
script prints and writes figures; it asserts nothing.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.cli.__main__ import GC_THRESHOLDS
from infra.cli.command import Command
from infra.cli.exits import Exit
from infra.ground.progress import progress
from infra.ground.project import PROJECT_ROOT
from infra.plan.synthetic import synthetic_stack, write_stack

PLAN_OVER_FLOOR_TARGET = 1.3
RELAYS_OVER_ONE_TARGET = 1.6
"""For the largest synthetic stack (50 relays by default) against the 1-relay one."""
DEFAULT_RELAYS = (1, 10, 50)
VERIFY_BENCH = "tests.support.topology.bench"
"""``--verify``: scripts/verify across namespaced hosts, which the test support builds."""
COLLECTOR_FLOOR = "import floor (the plan's collector policy)"
SDK_PREFIX = "pulumi"
"""Top-level names of the SDK packages: pulumi, pulumi_tailscale, pulumiverse_time, ..."""


@dataclass(frozen=True)
class Case:
    name: str
    argv: tuple[str, ...]


@dataclass(frozen=True)
class Run:
    seconds: float
    max_rss_kb: int


def _python(*arguments: str) -> tuple[str, ...]:
    return (sys.executable, *arguments)


def _sdk_modules(code: str) -> list[str]:
    """SDK modules loaded by a child that runs ``code``: what the floor must import."""
    listing = (
        f"{code}\nimport sys\n"
        f"print('\\n'.join(sorted(m for m in sys.modules if m.startswith({SDK_PREFIX!r}))))"
    )
    result = subprocess.run(
        _python("-c", listing),
        capture_output=True,
        text=True,
        check=True,
        cwd=PROJECT_ROOT,
        env=_environment(),
        timeout=300,
    )
    return result.stdout.split()


def _environment() -> dict[str, str]:
    # As scripts/plan runs it: the project from this checkout.
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": f"{PROJECT_ROOT}{os.pathsep + path if path else ''}"}


def _import_case(name: str, modules: Sequence[str]) -> Case:
    return Case(name, _python("-c", "import " + ", ".join(modules)))


def _collector_import_case(name: str, modules: Sequence[str]) -> Case:
    """The floor with a plan process's collector policy (infra/cli/__main__.py)."""
    code = (
        f"import gc\ngc.set_threshold(*{GC_THRESHOLDS!r})\nimport {', '.join(modules)}\ngc.freeze()"
    )
    return Case(name, _python("-c", code))


def _plan_case(name: str, stack: str, project_dir: Path, out: Path) -> Case:
    return Case(
        name,
        _python(
            "-m",
            "infra.cli",  # as scripts/plan runs it
            "plan",
            "--stack",
            stack,
            "--project-dir",
            str(project_dir),
            "--out",
            str(out / stack),
        ),
    )


def _measure(case: Case) -> Run:
    started = time.perf_counter()
    process = subprocess.Popen(
        case.argv,
        cwd=PROJECT_ROOT,
        env=_environment(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    # wait4 gives this child's own peak memory, not the maximum over every child so far.
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    assert process.stderr is not None
    errors = process.stderr.read().decode(errors="replace")
    process.stderr.close()
    if process.returncode != 0:
        raise RuntimeError(f"{case.name} exited {process.returncode}:\n{errors}")
    return Run(seconds, usage.ru_maxrss)


def _summary(runs: Sequence[Run]) -> dict[str, Any]:
    seconds = [run.seconds for run in runs]
    return {
        "seconds": {
            "median": round(statistics.median(seconds), 4),
            "min": round(min(seconds), 4),
            "max": round(max(seconds), 4),
            "runs": [round(value, 4) for value in seconds],
        },
        "peak_rss_mb": round(max(run.max_rss_kb for run in runs) / 1024, 1),
    }


def _machine() -> dict[str, Any]:
    model = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        names = [
            line.split(":", 1)[1].strip()
            for line in cpuinfo.read_text().splitlines()
            if line.startswith("model name")
        ]
        model = names[0] if names else model
    return {
        "cpu": model,
        "cpus": os.cpu_count(),
        "system": platform.platform(),
        "python": platform.python_version(),
        "PYTHONDONTWRITEBYTECODE": os.environ.get("PYTHONDONTWRITEBYTECODE", ""),
        "load_average": [round(value, 2) for value in os.getloadavg()],
    }


def benchmark(runs: int, relays: Sequence[int], work: Path) -> dict[str, Any]:
    progress("Byte-compiling the package, as pip compiled the SDKs")
    if not compileall.compile_dir(PROJECT_ROOT / "infra", quiet=1):
        raise RuntimeError("the package does not compile; run scripts/test")
    progress("Listing the SDK modules the program imports and a plan loads")
    packages = sorted({m.split(".")[0] for m in _sdk_modules("import infra.program.program")})
    plan_code = (
        "import contextlib, io\nfrom infra.plan.render import render_stack\n"
        "with contextlib.redirect_stderr(io.StringIO()):\n    render_stack('example')"
    )
    loaded = _sdk_modules(plan_code)
    for count in relays:
        write_stack(work, f"relays-{count}", synthetic_stack(count))
    out = work / "build"
    cases = [
        _import_case("import floor", packages),
        _import_case("import floor (every SDK module a plan loads)", loaded),
        _collector_import_case(COLLECTOR_FLOOR, packages),
        _plan_case("plan example", "example", PROJECT_ROOT, out),
        *(_plan_case(f"plan {n} relays", f"relays-{n}", work, out) for n in relays),
    ]
    measured: dict[str, list[Run]] = {case.name: [] for case in cases}
    load_before = _machine()["load_average"]
    for round_number in range(runs):
        progress(f"Round {round_number + 1} of {runs}: {len(cases)} processes")
        # Rotate the order each round, so no case always runs right after another.
        shift = round_number % len(cases)
        for case in cases[shift:] + cases[:shift]:
            measured[case.name].append(_measure(case))
    results = {name: _summary(values) for name, values in measured.items()}

    def median(name: str) -> float:
        value: float = results[name]["seconds"]["median"]
        return value

    smallest = f"plan {min(relays)} relays"
    return {
        "runs": runs,
        "machine": {**_machine(), "load_average_before": load_before},
        "floor_imports": packages,
        "cases": results,
        "ratios": {
            "plan_over_import_floor": {
                "value": round(median("plan example") / median("import floor"), 2),
                "target": PLAN_OVER_FLOOR_TARGET,
            },
            "plan_over_loaded_modules_floor": round(
                median("plan example") / median(cases[1].name), 2
            ),
            "plan_over_collector_floor": round(median("plan example") / median(COLLECTOR_FLOOR), 2),
            "relays_over_smallest": {
                str(n): round(median(f"plan {n} relays") / median(smallest), 2) for n in relays
            },
            "relays_target": {"relays": max(relays), "target": RELAYS_OVER_ONE_TARGET},
        },
    }


def table(report: dict[str, Any]) -> str:
    width = max(len(name) for name in report["cases"])
    lines = [f"{'case':<{width}}  {'median':>8} {'min':>8} {'max':>8}  {'peak RSS':>9}"]
    for name, case in report["cases"].items():
        seconds = case["seconds"]
        lines.append(
            f"{name:<{width}}  {seconds['median']:>7.3f}s {seconds['min']:>7.3f}s "
            f"{seconds['max']:>7.3f}s  {case['peak_rss_mb']:>6.1f} MB"
        )
    ratios = report["ratios"]
    floor = ratios["plan_over_import_floor"]
    lines.append("")
    lines.append(
        f"plan / import floor: {floor['value']:.2f}x (target ≤ {floor['target']}x); "
        f"/ every SDK module a plan loads: {ratios['plan_over_loaded_modules_floor']:.2f}x; "
        f"/ with the plan's collector policy: {ratios['plan_over_collector_floor']:.2f}x"
    )
    relays = ratios["relays_over_smallest"]
    target = ratios["relays_target"]
    lines.append(
        "relays / smallest: "
        + ", ".join(f"{n}: {value:.2f}x" for n, value in relays.items())
        + f" (target for {target['relays']}: ≤ {target['target']}x)"
    )
    machine = report["machine"]
    lines.append(
        f"{report['runs']} runs each on {machine['cpu']} ({machine['cpus']} CPUs), "
        f"Python {machine['python']}, load average {machine['load_average_before'][0]} before "
        f"and {machine['load_average'][0]} after"
    )
    return "\n".join(lines)


def _relay_counts(text: str) -> tuple[int, ...]:
    counts = tuple(sorted({int(part) for part in text.split(",") if part.strip()}))
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError("a comma-separated list of relay counts ≥ 1, e.g. 1,10,50")
    return counts


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--runs", type=_runs, default=5, help="runs of each case (default 5)")
    parser.add_argument(
        "--relays",
        type=_relay_counts,
        default=DEFAULT_RELAYS,
        help="synthetic stack sizes (default 1,10,50)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=PROJECT_ROOT / "build" / "bench.json",
        help="where to write the figures (default build/bench.json)",
    )
    parser.add_argument(
        "--verify",
        action="store_true",
        help="instead: time scripts/verify across 1 and 10 namespaced hosts (needs root)",
    )


def _runs(text: str) -> int:
    try:
        runs = int(text)
    except ValueError:
        runs = 0
    if runs < 1:
        raise argparse.ArgumentTypeError(f"got {text!r}; expected a whole number of runs ≥ 1")
    return runs


def run(arguments: argparse.Namespace) -> int:
    if arguments.verify:
        command = _python("-m", VERIFY_BENCH, "--runs", str(arguments.runs))
        return subprocess.run(command, cwd=PROJECT_ROOT, env=_environment(), check=False).returncode
    with tempfile.TemporaryDirectory(prefix="relaymd-bench-") as work:
        report = benchmark(arguments.runs, arguments.relays, Path(work))
    arguments.out.parent.mkdir(parents=True, exist_ok=True)
    arguments.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(table(report))
    print(f"Wrote {arguments.out}")
    return Exit.OK


COMMAND = Command(
    name="bench",
    summary="time plans (and --verify runs) as whole processes; asserts nothing",
    description=__doc__ or "",
    add_arguments=add_arguments,
    run=run,
)
