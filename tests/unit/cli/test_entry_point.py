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


@pytest.mark.parametrize(
    ("argv", "loaded"),
    [
        pytest.param(["plan", "--help"], ["infra.cli.plan"], id="a command loads its module alone"),
        pytest.param(["--help"], "every", id="the help loads every command"),
    ],
)
def test_the_front_door_loads_only_the_command_it_runs(argv: list[str], loaded: object) -> None:
    from infra.cli.app import COMMAND_MODULES

    (printed,) = _python(
        "import contextlib, io, sys\n"
        "from infra.cli.app import COMMAND_MODULES, main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n"
        f"        main({argv!r})\n"
        "    except SystemExit:\n"
        "        pass\n"
        "print(sorted(m for m in COMMAND_MODULES.values() if m in sys.modules))\n"
    )
    expected = sorted(COMMAND_MODULES.values()) if loaded == "every" else loaded
    assert printed == repr(expected)
