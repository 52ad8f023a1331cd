"""scripts/bench: its cases, its floors and the shape of build/bench.json (never a timing).

Nothing here times anything: the processes a case starts run once to prove they run and print
what they must, and the report is built from runs given by the test.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from infra.cli import bench
from infra.cli.bench import Case, Run
from infra.plan.floor import BARE_TYPE, declare_bare_resources
from infra.plan.synthetic import synthetic_stack
from tests.support.decided import decided_of

PACKAGES = ("pulumi", "pulumi_proxmoxve")


def test_a_synthetic_stack_is_a_valid_stack_with_that_many_distinct_relays() -> None:
    stack = decided_of(synthetic_stack(3))
    relays = stack.relays
    assert len(relays) == 3
    assert len({relay.spec.ssh.host for relay in relays}) == 3
    assert len({relay.name for relay in relays}) == 3


def test_the_engine_floor_declares_exactly_as_many_bare_resources_as_asked() -> None:
    from infra.plan import floor, mocks

    recorded: list[mocks.RecordedResource] = []
    real_run = mocks.run_mocked

    def watching(*args: object, **kwargs: object) -> tuple[mocks.RecordingMonitor, object]:
        monitor, engine = real_run(*args, **kwargs)  # type: ignore[arg-type]
        recorded.extend(monitor.recorded)
        return monitor, engine

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(floor, "run_mocked", watching)
        assert declare_bare_resources(7) == 7
    assert len(recorded) == 7
    assert {resource.type for resource in recorded} == {BARE_TYPE}
    for resource in recorded:
        # Nothing in it, no option, and the stack as its parent, as any top-level resource.
        assert resource.custom and resource.inputs == {} and resource.dependencies == ()
        assert (resource.parent_urn or "").endswith("pulumi:pulumi:Stack::relaymd-infra-bench")


def test_the_engine_floor_process_prints_what_it_declared() -> None:
    case = bench._engine_floor_case(PACKAGES, 5)
    assert case.prints == "5"
    assert bench.run_case(case).ru_maxrss > 0  # a wrong count would raise


def test_a_floor_that_declares_another_number_stops_the_bench() -> None:
    lying = Case("engine floor, 6 resources", bench._python("-c", "print(5)"), prints="6")
    with pytest.raises(RuntimeError, match="printed '5', expected '6'"):
        bench.run_case(lying)


def test_a_failing_case_stops_the_bench_with_its_errors() -> None:
    failing = Case("plan broken", bench._python("-c", "import sys; sys.exit('broken stack')"))
    with pytest.raises(RuntimeError, match="plan broken exited 1:\nbroken stack"):
        bench.run_case(failing)


def test_the_floor_counts_the_resources_from_the_plans_own_plan_json(tmp_path: Path) -> None:
    resources = [{"type": "t", "name": f"r{index}", "parent": None} for index in range(4)]
    (tmp_path / "plan.json").write_text(json.dumps({"resources": resources}))
    assert bench.resources_declared(tmp_path) == 4


def _runs(*seconds: float, cpu: float | None = None) -> list[Run]:
    return [Run(value, 50_000, value / 2 if cpu is None else cpu) for value in seconds]


def test_the_report_holds_every_case_both_ratios_their_targets_and_the_load() -> None:
    measured = {
        bench.IMPORT_FLOOR: _runs(1.0, 1.2, 0.8),
        bench.LOADED_FLOOR: _runs(1.1, 1.1, 1.1),
        bench.COLLECTOR_FLOOR: _runs(0.5, 0.5, 0.5),
        "plan example": _runs(1.5, 1.5, 1.5, cpu=0.6),
        bench.relay_plan_name(1): _runs(1.4, 1.4, 1.4),
        bench.relay_plan_name(50): _runs(3.0, 3.3, 2.7),
        bench.engine_floor_name(36): _runs(0.7, 0.7, 0.7),
        bench.engine_floor_name(526): _runs(1.0, 1.0, 1.0),
    }
    report = bench.bench_report(measured, {1: 36, 50: 526}, PACKAGES, (2.5, 2, 1), (3, 2, 1))
    assert set(report["cases"]) == set(measured)
    imports = report["cases"][bench.IMPORT_FLOOR]
    assert imports["seconds"] == {"median": 1.0, "min": 0.8, "max": 1.2, "runs": [1.0, 1.2, 0.8]}
    assert imports["cpu_seconds"]["median"] == 0.5
    assert imports["peak_rss_mb"] == round(50_000 / 1024, 1)
    ratios = report["ratios"]
    assert ratios["plan_over_import_floor"] == {"value": 1.5, "cpu": 1.2, "target": 1.2}
    assert ratios["plan_over_engine_floor"] == {
        "1": {"resources": 36, "value": 2.0, "cpu": 2.0, "target": 1.3},
        "50": {"resources": 526, "value": 3.0, "cpu": 3.0, "target": 1.3},
    }
    assert "relays_over_smallest" not in ratios
    assert report["floor_imports"] == list(PACKAGES)
    assert report["runs"] == 3
    machine = report["machine"]
    assert {"cpu", "cpus", "python", "system"} <= set(machine)
    assert machine["load_average_before"] == [2.5, 2, 1]
    assert machine["load_average_after"] == [3, 2, 1]
    table = bench.table(report)
    assert "plan / import floor: 1.50x wall, 1.20x CPU (target ≤ 1.2x)" in table
    assert (
        "plan 50 relays / engine floor, 526 resources: 3.00x wall, 3.00x CPU (target ≤ 1.3x)"
        in (table)
    )
    assert "load average (1, 5, 15 min) 2.50, 2.00, 1.00 before and 3.00, 2.00, 1.00 after" in (
        table
    )


def test_every_plan_case_runs_as_scripts_plan_does(tmp_path: Path) -> None:
    case = bench._plan_case("plan 3 relays", "relays-3", tmp_path, tmp_path / "build")
    assert case.argv[1:4] == ("-m", "infra.cli", "plan")
    assert case.argv[4:] == (
        "--stack",
        "relays-3",
        "--project-dir",
        str(tmp_path),
        "--out",
        str(tmp_path / "build" / "relays-3"),
    )
    assert case.prints is None  # a plan prints its table
