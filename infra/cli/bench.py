"""Plan timings as whole processes: ``scripts/bench [--runs N] [--relays 1,10,50] [--out FILE]``.

Every figure is a new process of this venv, timed from start to exit, run alternately with the
others so that load on the machine spreads over all of them; each case reports the median,
minimum and maximum of ``--runs`` runs, their CPU time (user and system, children such as sops
included) and its peak memory (the largest ``ru_maxrss`` of its processes). Two ratios come
out of them, in wall time (what the targets judge) and in CPU time (steadier on a machine
shared with other work):

- plan / import floor: the example's plan against a process that only imports the provider
  SDK packages the program imports (also shown against every SDK module a plan loads, and
  against a floor that runs the garbage collector as a plan process does);
- plan / engine floor: each synthetic stack (the example with N relays) against the mock
  engine's own floor for as many resources: a process that imports the same SDK packages,
  runs the garbage collector as a plan process does, and declares as many bare resources as
  that plan declared (counted from its plan.json), under the mock engine set up as the plan
  sets it up (infra/plan/floor.py), and nothing else. The floor prints what it declared; a
  count that differs from the plan's stops the bench.

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
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.cli.__main__ import GC_THRESHOLDS
from infra.cli.command import Command
from infra.cli.exits import Exit
from infra.ground.contract import PLAN_FILE
from infra.ground.progress import progress
from infra.ground.project import PROJECT_ROOT
from infra.plan.synthetic import synthetic_stack, write_stack

PLAN_OVER_FLOOR_TARGET = 1.2
"""The example's plan against the import floor."""
PLAN_OVER_ENGINE_FLOOR_TARGET = 1.3
"""Each synthetic stack's plan against the engine floor for as many resources."""
DEFAULT_RELAYS = (1, 10, 50)
VERIFY_BENCH = "tests.support.topology.bench"
"""``--verify``: scripts/verify across namespaced hosts, which the test support builds."""
IMPORT_FLOOR = "import floor"
LOADED_FLOOR = "import floor (every SDK module a plan loads)"
COLLECTOR_FLOOR = "import floor (the plan's collector policy)"
SDK_PREFIX = "pulumi"
"""Top-level names of the SDK packages: pulumi, pulumi_tailscale, pulumiverse_time, ..."""


@dataclass(frozen=True)
class Case:
    name: str
    argv: tuple[str, ...]
    prints: str | None = None
    """What the process must print on stdout, or None to ignore it (a plan prints a table)."""


@dataclass(frozen=True)
class Run:
    seconds: float
    max_rss_kb: int
    cpu_seconds: float = 0.0
    """User and system time of the process and the children it waited for (sops)."""


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


def _engine_floor_case(packages: Sequence[str], resources: int) -> Case:
    """The mock engine's own floor for ``resources`` resources, in a plan process's setup."""
    code = (
        f"import gc\ngc.set_threshold(*{GC_THRESHOLDS!r})\nimport {', '.join(packages)}\n"
        "from infra.plan.floor import declare_bare_resources\n"
        f"print(declare_bare_resources({resources}))\ngc.freeze()"
    )
    return Case(engine_floor_name(resources), _python("-c", code), prints=str(resources))


def engine_floor_name(resources: int) -> str:
    return f"engine floor, {resources} resources"


def run_case(case: Case) -> resource.struct_rusage:
    """Run ``case`` once to its end; its resource usage. Raises if it failed or printed
    something other than it must."""
    process = subprocess.Popen(
        case.argv,
        cwd=PROJECT_ROOT,
        env=_environment(),
        stdout=subprocess.DEVNULL if case.prints is None else subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    # wait4 gives this child's own peak memory, not the maximum over every child so far. The
    # pipes hold what the cases write (a few lines) until it returns.
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    printed = process.stdout.read().decode(errors="replace") if process.stdout else None
    assert process.stderr is not None
    errors = process.stderr.read().decode(errors="replace")
    process.stderr.close()
    if process.stdout is not None:
        process.stdout.close()
    if process.returncode != 0:
        raise RuntimeError(f"{case.name} exited {process.returncode}:\n{errors}")
    if case.prints is not None and printed is not None and printed.strip() != case.prints:
        raise RuntimeError(f"{case.name} printed {printed.strip()!r}, expected {case.prints!r}")
    return usage


def _measure(case: Case) -> Run:
    started = time.perf_counter()
    usage = run_case(case)
    seconds = time.perf_counter() - started
    return Run(seconds, usage.ru_maxrss, usage.ru_utime + usage.ru_stime)


def resources_declared(render: Path) -> int:
    """How many resources a plan declared: the entries of its plan.json."""
    resources: list[Any] = json.loads((render / PLAN_FILE).read_text(encoding="utf-8"))["resources"]
    return len(resources)


def _summary(runs: Sequence[Run]) -> dict[str, Any]:
    return {
        "seconds": _spread([run.seconds for run in runs]),
        "cpu_seconds": _spread([run.cpu_seconds for run in runs]),
        "peak_rss_mb": round(max(run.max_rss_kb for run in runs) / 1024, 1),
    }


def _spread(values: Sequence[float]) -> dict[str, Any]:
    return {
        "median": round(statistics.median(values), 4),
        "min": round(min(values), 4),
        "max": round(max(values), 4),
        "runs": [round(value, 4) for value in values],
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
        write_stack(work, relay_stack(count), synthetic_stack(count))
    out = work / "build"
    plans = [
        _plan_case("plan example", "example", PROJECT_ROOT, out),
        *(_plan_case(relay_plan_name(n), relay_stack(n), work, out) for n in relays),
    ]
    progress("Running each plan once (untimed) to count the resources it declares")
    for plan in plans:
        run_case(plan)
    declared = {n: resources_declared(out / relay_stack(n)) for n in relays}
    cases = [
        _import_case(IMPORT_FLOOR, packages),
        _import_case(LOADED_FLOOR, loaded),
        _collector_import_case(COLLECTOR_FLOOR, packages),
        *plans,
        *(_engine_floor_case(packages, resources) for resources in sorted(set(declared.values()))),
    ]
    measured: dict[str, list[Run]] = {case.name: [] for case in cases}
    load_before = os.getloadavg()
    for round_number in range(runs):
        progress(f"Round {round_number + 1} of {runs}: {len(cases)} processes")
        # Rotate the order each round, so no case always runs right after another.
        shift = round_number % len(cases)
        for case in cases[shift:] + cases[:shift]:
            measured[case.name].append(_measure(case))
    return bench_report(measured, declared, packages, load_before, os.getloadavg())


def relay_stack(relays: int) -> str:
    return f"relays-{relays}"


def relay_plan_name(relays: int) -> str:
    return f"plan {relays} relays"


def bench_report(
    measured: Mapping[str, Sequence[Run]],
    declared: Mapping[int, int],
    packages: Sequence[str],
    load_before: Sequence[float],
    load_after: Sequence[float],
) -> dict[str, Any]:
    """build/bench.json's document: every case's figures and the ratios against the targets.

    ``declared`` maps each synthetic stack's relay count to the resources its plan declared.
    """
    results = {name: _summary(values) for name, values in measured.items()}

    def ratio(case: str, floor: str, target: float) -> dict[str, float]:
        """Wall time, the target's measure, and CPU time: on a shared machine the neighbours
        stretch wall time, much less the CPU time a process itself uses."""
        wall = results[case]["seconds"]["median"] / results[floor]["seconds"]["median"]
        cpu = results[case]["cpu_seconds"]["median"] / results[floor]["cpu_seconds"]["median"]
        return {"value": round(wall, 2), "cpu": round(cpu, 2), "target": target}

    def median(name: str) -> float:
        value: float = results[name]["seconds"]["median"]
        return value

    return {
        "runs": min(len(values) for values in measured.values()),
        "machine": {
            **_machine(),
            "load_average_before": [round(value, 2) for value in load_before],
            "load_average_after": [round(value, 2) for value in load_after],
        },
        "floor_imports": list(packages),
        "cases": results,
        "ratios": {
            "plan_over_import_floor": ratio("plan example", IMPORT_FLOOR, PLAN_OVER_FLOOR_TARGET),
            "plan_over_loaded_modules_floor": round(
                median("plan example") / median(LOADED_FLOOR), 2
            ),
            "plan_over_collector_floor": round(median("plan example") / median(COLLECTOR_FLOOR), 2),
            "plan_over_engine_floor": {
                str(n): {
                    "resources": resources,
                    **ratio(
                        relay_plan_name(n),
                        engine_floor_name(resources),
                        PLAN_OVER_ENGINE_FLOOR_TARGET,
                    ),
                }
                for n, resources in sorted(declared.items())
            },
        },
    }


def table(report: Mapping[str, Any]) -> str:
    width = max(len(name) for name in report["cases"])
    lines = [f"{'case':<{width}}  {'median':>8} {'min':>8} {'max':>8}  {'CPU':>8}  {'peak RSS':>9}"]
    for name, case in report["cases"].items():
        seconds = case["seconds"]
        lines.append(
            f"{name:<{width}}  {seconds['median']:>7.3f}s {seconds['min']:>7.3f}s "
            f"{seconds['max']:>7.3f}s  {case['cpu_seconds']['median']:>7.3f}s  "
            f"{case['peak_rss_mb']:>6.1f} MB"
        )
    ratios = report["ratios"]
    floor = ratios["plan_over_import_floor"]
    lines.append("")
    lines.append(
        f"plan / import floor: {_ratio(floor)}; "
        f"/ every SDK module a plan loads: {ratios['plan_over_loaded_modules_floor']:.2f}x; "
        f"/ with the plan's collector policy: {ratios['plan_over_collector_floor']:.2f}x"
    )
    for relays, engine in ratios["plan_over_engine_floor"].items():
        lines.append(
            f"plan {relays} relays / engine floor, {engine['resources']} resources: "
            f"{_ratio(engine)}"
        )
    machine = report["machine"]
    lines.append(
        f"{report['runs']} runs each on {machine['cpu']} ({machine['cpus']} CPUs), "
        f"Python {machine['python']}, load average (1, 5, 15 min) "
        f"{_load(machine['load_average_before'])} before and "
        f"{_load(machine['load_average_after'])} after"
    )
    return "\n".join(lines)


def _ratio(ratio: Mapping[str, float]) -> str:
    return f"{ratio['value']:.2f}x wall, {ratio['cpu']:.2f}x CPU (target ≤ {ratio['target']}x)"


def _load(averages: Sequence[float]) -> str:
    return ", ".join(f"{value:.2f}" for value in averages)


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
    summary="time plans against their floors (and --verify runs); asserts nothing",
    description=__doc__ or "",
    add_arguments=add_arguments,
    run=run,
)
