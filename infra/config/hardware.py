"""What a host's hardware file must declare beyond hardware, read from its Nix text."""

from __future__ import annotations

import re

# Comments first: a commented-out boot loader line declares nothing.
_LINE_COMMENT = re.compile(r"#[^\n]*")
_BLOCK_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
# `boot.loader.x = ...`, `loader.x = ...` inside `boot = { ... }`, or `loader = { ... }`.
_BOOT_LOADER = re.compile(r"(?<![\w.-])(boot\.)?loader(\.[A-Za-z0-9_-]+)*\s*=")


def declares_boot_loader(nix_text: str) -> bool:
    """True when the file sets any boot.loader option.

    nixos-generate-config puts the boot loader into configuration.nix, never into the
    hardware file; a rendered configuration replaces configuration.nix, so without these
    lines the host would have no boot loader (GRUB's own assertion fails the build).
    """
    code = _LINE_COMMENT.sub("", _BLOCK_COMMENT.sub("", nix_text))
    return _BOOT_LOADER.search(code) is not None


_HOST_PLATFORM = re.compile(r"(?<![\w.-])(nixpkgs\.)?hostPlatform\s*=")


def declares_host_platform(nix_text: str) -> bool:
    """True when the file sets ``nixpkgs.hostPlatform`` (nixos-generate-config prints it).

    Without it, ``<nixpkgs/nixos>`` builds for ``builtins.currentSystem``: the deploying
    machine's system, not the host's (nixos/modules/misc/nixpkgs.nix).
    """
    code = _LINE_COMMENT.sub("", _BLOCK_COMMENT.sub("", nix_text))
    return _HOST_PLATFORM.search(code) is not None
