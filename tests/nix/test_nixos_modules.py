"""Every NixOS module in nixos/ parses with the real Nix parser; disko's layout evaluates."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from infra.edge.loading import PROJECT_ROOT

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


def test_disko_layout_is_one_disk_bios_boot_esp_and_ext4_root() -> None:
    # The layout is plain data: evaluate it with a two-function stand-in for nixpkgs' lib
    # (no nixpkgs exists here); the disko import itself is never forced.
    expression = f"""
      let module = import {NIXOS_DIR / "disko.nix"} {{
        config = {{ relaymd.disk.device = "/dev/sda"; }};
        lib = {{ mkOption = attrs: attrs; types.str = "str"; }};
      }};
      in {{ config = module.config; default = module.options.relaymd.disk.device.default; }}
    """
    output = subprocess.run(
        ["nix-instantiate", "--eval", "--strict", "--json", "--expr", expression],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    evaluated = json.loads(output)
    assert evaluated["default"] == "/dev/sda"
    disks = evaluated["config"]["disko"]["devices"]["disk"]
    assert list(disks) == ["main"]
    main = disks["main"]
    assert main["device"] == "/dev/sda"
    assert main["content"]["type"] == "gpt"
    partitions = main["content"]["partitions"]
    assert {name: p["type"] for name, p in partitions.items() if "type" in p} == {
        "bios": "EF02",
        "esp": "EF00",
    }
    assert partitions["bios"]["size"] == "1M"
    assert partitions["esp"]["size"] == "512M"
    assert partitions["esp"]["content"] == {
        "type": "filesystem",
        "format": "vfat",
        "mountpoint": "/boot",
        "mountOptions": ["umask=0077"],
    }
    assert partitions["root"]["size"] == "100%"
    assert partitions["root"]["content"]["format"] == "ext4"
    assert partitions["root"]["content"]["mountpoint"] == "/"
    assert evaluated["config"]["boot"]["loader"]["grub"] == {
        "enable": True,
        "efiSupport": True,
        "efiInstallAsRemovable": True,
    }


def test_disko_itself_is_pinned_by_release_and_hash() -> None:
    text = (NIXOS_DIR / "disko.nix").read_text()
    assert "nix-community/disko/archive/v1.11.0.tar.gz" in text
    assert 'sha256 = "13brimg7z7k9y36n4jc1pssqyw94nd8qvgfjv53z66lv4xkhin92"' in text
