"""The self-contained tree under build/<stack>/nixos/ that the pipeline hashes and builds.

nixos/<host>/configuration.nix      rendered per host (imports ../modules/<file>.nix)
nixos/<host>/hardware-configuration.nix   the orchestrator's own file, verbatim
nixos/modules/<file>.nix            every repository module, verbatim
"""

from __future__ import annotations

from infra.decided.hosts import Role
from infra.decided.stack import StackModel
from infra.nixos.render import render_host_configuration
from infra.nixos.sources import hardware_source, module_sources

MODULES_DIR = "nixos/modules"


def host_directory(host_name: str) -> str:
    return f"nixos/{host_name}"


def nixos_tree(model: StackModel) -> dict[str, str]:
    files = {f"{MODULES_DIR}/{name}": text for name, text in module_sources().items()}
    for host in model.hosts:
        directory = host_directory(host.name)
        files[f"{directory}/configuration.nix"] = render_host_configuration(model, host)
        if host.role is Role.ORCHESTRATOR:
            hardware = model.config.orchestrator.hardware_configuration
            files[f"{directory}/hardware-configuration.nix"] = hardware_source(hardware)
    return files
