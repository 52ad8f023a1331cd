"""The self-contained tree under build/<stack>/nixos/ that the pipeline hashes and builds.

nixos/<host>/configuration.nix      rendered per host (imports ../modules/<file>.nix)
nixos/<host>/hardware-configuration.nix   the orchestrator's own file, verbatim
nixos/modules/<file>.nix            every repository module, verbatim
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from infra.decided.hosts import HostSpec, Role
from infra.edge.settings import StackConfig
from infra.nixos.render import render_host_configuration
from infra.nixos.sources import NixosSources

RENDERED_NIXOS_ROOT = "nixos/"
"""Where the NixOS files sit among the rendered artifacts."""
MODULES_DIR = "modules"


def host_directory(host_name: str) -> str:
    return f"{RENDERED_NIXOS_ROOT}{host_name}"


def nixos_tree(
    config: StackConfig, hosts: Sequence[HostSpec], sources: NixosSources
) -> dict[str, str]:
    """Every NixOS file of the stack, by its path under ``build/<stack>/``."""
    files = {
        f"{RENDERED_NIXOS_ROOT}{MODULES_DIR}/{name}": text for name, text in sources.modules.items()
    }
    for host in hosts:
        directory = host_directory(host.name)
        files[f"{directory}/configuration.nix"] = render_host_configuration(
            config, host, sources.template
        )
        if host.role is Role.ORCHESTRATOR:
            hardware = sources.hardware[config.orchestrator.hardware_configuration]
            files[f"{directory}/hardware-configuration.nix"] = hardware
    return files


def relative_to_nixos_root(files: Mapping[str, str]) -> dict[str, str]:
    """The NixOS files among rendered ``files``, by their path relative to ``nixos/``."""
    return {
        path.removeprefix(RENDERED_NIXOS_ROOT): text
        for path, text in files.items()
        if path.startswith(RENDERED_NIXOS_ROOT)
    }


def host_tree(nixos_files: Mapping[str, str], host: str) -> dict[str, str]:
    """The files one host builds, relative to ``nixos/``: its own directory and the shared
    modules, never another host's."""
    own = (f"{host}/", f"{MODULES_DIR}/")
    return {
        path: text
        for path, text in relative_to_nixos_root(nixos_files).items()
        if path.startswith(own)
    }
