"""The repository's static NixOS sources: modules (logic) and per-host hardware files.

Read from the project tree, never from the network; the rendered tree copies them
verbatim so that build/<stack>/nixos/ builds on its own.
"""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent
NIXOS_DIR = PROJECT_ROOT / "nixos"
TEMPLATES_DIR = PROJECT_ROOT / "templates"


def module_sources() -> dict[str, str]:
    """File name → text of every module in ``nixos/`` (hardware files are not modules)."""
    return {path.name: path.read_text(encoding="utf-8") for path in sorted(NIXOS_DIR.glob("*.nix"))}


def hardware_file(relative: str) -> Path:
    """Where a ``nixos/hardware/...`` path named in the config lives in the repository."""
    return PROJECT_ROOT / relative


def hardware_source(relative: str) -> str:
    return hardware_file(relative).read_text(encoding="utf-8")
