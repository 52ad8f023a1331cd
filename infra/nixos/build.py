"""How a rendered host is built with the pinned full nixpkgs (pure: argv and expressions only).

The same evaluation the deployment's build step makes: ``<nixpkgs/nixos>`` with the host's
configuration, ``config.system.build.toplevel``.
"""

from __future__ import annotations

from pathlib import Path

from infra.config.settings import NixosSettings
from infra.ground.nix_escape import nix_value

TOPLEVEL = "config.system.build.toplevel"
NIXOS_ENTRY = "<nixpkgs/nixos>"


def fetch_expression(nixos: NixosSettings) -> str:
    """The pinned nixpkgs, fetched by URL and NAR hash (a mismatch fails the fetch)."""
    return (
        f"builtins.fetchTarball {{ url = {nix_value(nixos.nixpkgs_url)}; "
        f"sha256 = {nix_value(nixos.nixpkgs_sha256)}; }}"
    )


def host_command(tool: str, nixpkgs: str, configuration: Path, *, eval_only: bool) -> list[str]:
    """The nix-build (or, ``eval_only``, nix-instantiate) call for one host's configuration."""
    extra = [] if eval_only else ["--no-out-link"]
    return [
        tool,
        NIXOS_ENTRY,
        *extra,
        "-I",
        f"nixpkgs={nixpkgs}",
        "-I",
        f"nixos-config={configuration}",
        "-A",
        TOPLEVEL,
    ]
