"""Every NixOS module in nixos/ parses with the real Nix parser; disko is pinned.

The disk layout itself is checked by evaluating whole hosts (test_host_eval.py).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from infra.ground.project import PROJECT_ROOT

NIXOS_DIR = PROJECT_ROOT / "nixos"
MODULES = sorted(NIXOS_DIR.glob("*.nix"))

pytestmark = [
    pytest.mark.nix,
    pytest.mark.skipif(
        shutil.which("nix-instantiate") is None,
        reason="nix-instantiate not installed (apt-get install nix-bin)",
    ),
]


def test_there_are_modules_to_check() -> None:
    assert NIXOS_DIR / "disko.nix" in MODULES


@pytest.mark.parametrize("module", MODULES, ids=lambda path: path.name)
def test_module_parses(module: Path) -> None:
    result = subprocess.run(
        ["nix-instantiate", "--parse", str(module)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_disko_itself_is_pinned_by_release_and_hash() -> None:
    text = (NIXOS_DIR / "disko.nix").read_text()
    assert "nix-community/disko/archive/v1.11.0.tar.gz" in text
    assert 'sha256 = "13brimg7z7k9y36n4jc1pssqyw94nd8qvgfjv53z66lv4xkhin92"' in text
