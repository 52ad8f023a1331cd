"""scripts/plan's process: the plan itself, with its garbage collector policy."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from infra.cli.__main__ import GC_THRESHOLDS
from infra.ground.project import PROJECT_ROOT
from tests.support.golden import whole_render


def _python(code: str) -> list[str]:
    """Lines a new interpreter prints running ``code``: the collector state is per process."""
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT_ROOT,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_the_plan_process_checks_the_committed_render_collecting_rarely(tmp_path: Path) -> None:
    committed = whole_render(tmp_path / "example")
    *report, summary = _python(
        "import gc, sys\n"
        "from infra.cli.__main__ import run\n"
        f"sys.argv = ['infra.plan', 'plan', '--check', {str(committed)!r}]\n"
        "status = run()\n"
        "print(status, gc.get_threshold(), gc.get_freeze_count() > 0)\n"
    )
    assert len(report) == 1
    assert report[0].startswith(f"{committed} matches a fresh render")
    assert summary == f"0 {GC_THRESHOLDS} True"


@pytest.mark.parametrize(
    ("code", "printed"),
    [
        pytest.param(
            "import gc\n"
            "before = gc.get_threshold()\n"
            "import infra.cli.plan\n"
            "print(before == gc.get_threshold(), gc.get_freeze_count())\n",
            "True 0",
            id="keeps the interpreter's collector",
        ),
        # render_config imports the SDKs once sops runs, so decryption overlaps their import.
        pytest.param(
            "import sys\nimport infra.cli.plan\n"
            "print(sorted(m for m in sys.modules if 'pulumi' in m))",
            "[]",
            id="loads no pulumi SDK before it starts sops",
        ),
    ],
)
def test_importing_the_command_line(code: str, printed: str) -> None:
    assert _python(code) == [printed]
