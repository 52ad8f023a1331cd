"""scripts/bench: valid synthetic stacks and the shape of build/bench.json (never a timing)."""

from __future__ import annotations

import json
from pathlib import Path

from infra.cli import app, bench
from infra.plan.synthetic import synthetic_stack
from tests.support.decided import decided_of


def test_a_synthetic_stack_is_a_valid_stack_with_that_many_distinct_relays() -> None:
    stack = decided_of(synthetic_stack(3))
    relays = stack.relays
    assert len(relays) == 3
    assert len({relay.spec.ssh.host for relay in relays}) == 3
    assert len({relay.name for relay in relays}) == 3


def test_one_run_writes_every_case_and_ratio(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    assert app.main(["bench", "--runs", "1", "--relays", "1", "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    assert set(report["cases"]) == {
        "import floor",
        "import floor (every SDK module a plan loads)",
        bench.COLLECTOR_FLOOR,
        "plan example",
        "plan 1 relays",
    }
    for case in report["cases"].values():
        assert set(case["seconds"]) == {"median", "min", "max", "runs"}
        assert len(case["seconds"]["runs"]) == 1
        assert case["peak_rss_mb"] > 0
    assert "pulumi" in report["floor_imports"]
    assert "pulumi_proxmoxve" in report["floor_imports"]
    assert report["ratios"]["relays_over_smallest"] == {"1": 1.0}
    assert report["ratios"]["plan_over_import_floor"]["target"] == bench.PLAN_OVER_FLOOR_TARGET
    assert {"cpu", "cpus", "python", "load_average"} <= set(report["machine"])
