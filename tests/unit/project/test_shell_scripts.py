"""The project's own bash: every entry script, its bootstrap and CI's entry, shellcheck-clean.

The pipeline's steps are checked as they run, assembled (tests/unit/nixos/test_step_scripts.py).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from infra.ground.project import PROJECT_ROOT

BASH_SHEBANG = "#!/usr/bin/env bash"
SOURCED_DIRECTIVE = "# shellcheck shell=bash"


def bash_files() -> list[Path]:
    """Every file under scripts/ and .ci/ written for bash: by its shebang, or, for a file
    that is only sourced, by the directive that tells shellcheck its shell."""
    candidates = [*(PROJECT_ROOT / "scripts").rglob("*"), *(PROJECT_ROOT / ".ci").rglob("*")]
    return sorted(
        path
        for path in candidates
        if path.is_file()
        and path.read_text(errors="replace").startswith((BASH_SHEBANG, SOURCED_DIRECTIVE))
    )


def test_the_entry_scripts_and_their_bootstrap_are_found() -> None:
    names = {path.relative_to(PROJECT_ROOT).as_posix() for path in bash_files()}
    assert {"scripts/plan", "scripts/test", "scripts/lib/bootstrap.sh", ".ci/run"} <= names


def test_no_other_shell_file_escapes_the_check() -> None:
    """A script with another shebang (sh, a bare bash path) would not be found above."""
    others = [
        path.relative_to(PROJECT_ROOT).as_posix()
        for path in [*(PROJECT_ROOT / "scripts").rglob("*"), *(PROJECT_ROOT / ".ci").rglob("*")]
        if path.is_file() and path not in bash_files()
    ]
    assert others == []


@pytest.mark.parametrize(
    "script", bash_files(), ids=lambda path: path.relative_to(PROJECT_ROOT).as_posix()
)
def test_script_passes_shellcheck(script: Path) -> None:
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck is not installed (scripts/test installs Debian's shellcheck)")
    # -x with the script's own folder as the source path: the bootstrap each entry script
    # sources is checked along with it, so a variable it sets counts as set.
    result = subprocess.run(
        [
            "shellcheck",
            "--external-sources",
            "--source-path=SCRIPTDIR",
            "--severity=style",
            "--format=gcc",
            str(script),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
