"""scripts/lib/bootstrap.sh on a fresh Debian machine, with apt-get played by a recorder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from infra.ground.project import PROJECT_ROOT

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


def _checkout_with_one_module(tmp_path: Path) -> tuple[Path, Path]:
    """A checkout holding the bootstrap, a venv whose python is this one, and one module."""
    root = tmp_path / "checkout"
    (root / "scripts" / "lib").mkdir(parents=True)
    (root / "scripts" / "lib" / "bootstrap.sh").write_text(BOOTSTRAP.read_text())
    (root / ".venv" / "bin").mkdir(parents=True)
    (root / ".venv" / "bin" / "python").symlink_to(sys.executable)
    (root / "infra").mkdir()
    module = root / "infra" / "module.py"
    module.write_text("ANSWER = 1\n")
    return root, module


def _compile_package(root: Path) -> None:
    subprocess.run(
        ["bash", "-c", f'source "{root}/scripts/lib/bootstrap.sh"; compile_package'],
        check=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"},
    )


def test_the_package_is_byte_compiled_and_recompiled_when_a_module_changes(
    tmp_path: Path,
) -> None:
    root, module = _checkout_with_one_module(tmp_path)
    _compile_package(root)
    bytecode = root / "infra" / "__pycache__" / f"module.{sys.implementation.cache_tag}.pyc"
    assert bytecode.is_file()
    first = bytecode.read_bytes()
    module.write_text("ANSWER = 2  # a longer module\n")
    # An edit made later: file times are coarser than two writes in one test.
    later = bytecode.stat().st_mtime + 10
    os.utime(module, (later, later))
    _compile_package(root)
    assert bytecode.read_bytes() != first
