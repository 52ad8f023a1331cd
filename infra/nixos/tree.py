"""The self-contained tree under build/<stack>/nixos/ that the pipeline hashes and builds.

nixos/<host>/configuration.nix      rendered per host (imports ../modules/<file>.nix)
nixos/<host>/hardware-configuration.nix   the orchestrator's own file, verbatim
nixos/modules/<file>.nix            every repository module, verbatim
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from infra.config.hosts import Host, OrchestratorHost
from infra.config.settings import StackConfig
from infra.config.sources import NixosSources
from infra.ground.contract import (
    HOST_CONFIGURATION,
    HOST_HARDWARE,
    NIXOS_ROOT,
    SHARED_MODULES,
    host_directory,
)
from infra.nixos.render import render_host_configuration


def nixos_tree(config: StackConfig, hosts: Sequence[Host], sources: NixosSources) -> dict[str, str]:
    """Every NixOS file of the stack, by its path under ``build/<stack>/``."""
    files = {f"{NIXOS_ROOT}{SHARED_MODULES}/{name}": text for name, text in sources.modules.items()}
    for host in hosts:
        directory = host_directory(host.name)
        files[f"{directory}/{HOST_CONFIGURATION}"] = render_host_configuration(
            config, host, sources.template
        )
        if isinstance(host, OrchestratorHost):
            hardware = sources.hardware[host.settings.hardware_configuration]
            files[f"{directory}/{HOST_HARDWARE}"] = hardware
    return files


def relative_to_nixos_root(files: Mapping[str, str]) -> dict[str, str]:
    """The NixOS files among rendered ``files``, by their path relative to ``nixos/``."""
    return {
        path.removeprefix(NIXOS_ROOT): text
        for path, text in files.items()
        if path.startswith(NIXOS_ROOT)
    }


def host_tree(nixos_files: Mapping[str, str], host: str) -> dict[str, str]:
    """The files one host builds, relative to ``nixos/``: its own directory and the shared
    modules, never another host's."""
    own = (f"{host}/", f"{SHARED_MODULES}/")
    return {
        path: text
        for path, text in relative_to_nixos_root(nixos_files).items()
        if path.startswith(own)
    }
