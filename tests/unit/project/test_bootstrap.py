"""scripts/lib/bootstrap.sh on a fresh Debian machine, with apt-get played by a recorder."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from infra.edge.loading import PROJECT_ROOT

BOOTSTRAP = PROJECT_ROOT / "scripts" / "lib" / "bootstrap.sh"


def _executable(path: Path, body: str) -> Path:
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)
    return path


def run_bootstrap(
    tmp_path: Path, call: str, uid: int = 0
) -> tuple[subprocess.CompletedProcess[str], str]:
    """Source the bootstrap and run ``call`` with stand-ins for apt-get and id on PATH."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    log = tmp_path / "apt-get.log"
    _executable(bin_dir / "apt-get", f'echo "$*" >> "{log}"')
    _executable(bin_dir / "id", f"echo {uid}")
    result = subprocess.run(
        ["bash", "-c", f'source "{BOOTSTRAP}"; {call}'],
        capture_output=True,
        text=True,
        env={"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path)},
        timeout=60,
        check=False,
    )
    return result, log.read_text() if log.exists() else ""


def test_a_python_without_ensurepip_gets_python3_venv_installed(tmp_path: Path) -> None:
    bare_python = _executable(tmp_path / "python3", "exit 1")  # Debian's python3 alone
    result, apt_calls = run_bootstrap(tmp_path, f'ensure_python_venv "{bare_python}"')
    assert result.returncode == 0, result.stderr
    assert "install -y -qq --no-install-recommends python3-venv" in apt_calls


def test_a_python_with_venv_support_installs_nothing(tmp_path: Path) -> None:
    result, apt_calls = run_bootstrap(tmp_path, f'ensure_python_venv "{sys.executable}"')
    assert result.returncode == 0, result.stderr
    assert apt_calls == ""


def test_without_root_it_says_which_package_to_install(tmp_path: Path) -> None:
    bare_python = _executable(tmp_path / "python3", "exit 1")
    result, apt_calls = run_bootstrap(tmp_path, f'ensure_python_venv "{bare_python}"', uid=1000)
    assert result.returncode != 0
    assert "apt-get install -y python3-venv" in result.stderr
    assert apt_calls == ""
