"""The repository's static NixOS sources: the template, modules (logic) and hardware files.

Read from the project tree, never from the network, once per run at the edge; the rendered tree
copies modules and hardware files verbatim so that build/<stack>/nixos/ builds on its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from infra.config.settings import StackConfig
from infra.ground.project import PROJECT_ROOT

NIXOS_DIR = PROJECT_ROOT / "nixos"
TEMPLATES_DIR = PROJECT_ROOT / "templates"
TEMPLATE_NAME = "configuration.nix.j2"


@dataclass(frozen=True)
class NixosSources:
    """Everything the renderer reads from the repository, read before anything is decided."""

    template: str
    """The per-host configuration template (Jinja)."""
    modules: Mapping[str, str]
    """File name → text of every module in ``nixos/``."""
    hardware: Mapping[str, str]
    """Path named in the config (``nixos/hardware/...``) → that file's text."""


def module_sources() -> dict[str, str]:
    """File name → text of every module in ``nixos/`` (hardware files are not modules)."""
    return {path.name: path.read_text(encoding="utf-8") for path in sorted(NIXOS_DIR.glob("*.nix"))}


def hardware_file(relative: str) -> Path:
    """Where a ``nixos/hardware/...`` path named in the config lives in the repository."""
    return PROJECT_ROOT / relative


def hardware_source(relative: str) -> str:
    return hardware_file(relative).read_text(encoding="utf-8")


def read_nixos_sources(config: StackConfig) -> NixosSources:
    relative = config.orchestrator.hardware_configuration
    return NixosSources(
        template=(TEMPLATES_DIR / TEMPLATE_NAME).read_text(encoding="utf-8"),
        modules=module_sources(),
        hardware={relative: hardware_source(relative)},
    )
