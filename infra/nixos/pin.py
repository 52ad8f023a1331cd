"""Pinning nixpkgs: Nix's base-32 hashes as the SRI form a pinned fetchTarball checks (pure)."""

from __future__ import annotations

import base64
import re

# Nix's own base-32 alphabet (no e, o, t, u), least significant digit last.
_NIX_BASE32 = "0123456789abcdfghijklmnpqrsvwxyz"
_SHA256_BYTES = 32
RELEASE_BRANCH = re.compile(r"^nixos-([0-9]{2}\.(05|11))$")
"""A NixOS release branch, ``nixos-YY.05`` or ``nixos-YY.11``; group 1 is the release."""


def nix_base32_to_sri(digest: str) -> str:
    """``nix-prefetch-url``'s base-32 SHA-256 as the SRI form (``sha256-<base64>``)."""
    if len(digest) != 52 or any(c not in _NIX_BASE32 for c in digest):
        raise ValueError(f"{digest!r} is not a base-32 SHA-256 as Nix prints it")
    raw = bytearray(_SHA256_BYTES)
    for position in range(len(digest)):
        value = _NIX_BASE32.index(digest[len(digest) - position - 1])
        bit = position * 5
        index, shift = divmod(bit, 8)
        raw[index] |= (value << shift) & 0xFF
        if index + 1 < _SHA256_BYTES:
            raw[index + 1] |= value >> (8 - shift)
        elif value >> (8 - shift):
            raise ValueError(f"{digest!r} does not fit 256 bits")
    return "sha256-" + base64.b64encode(bytes(raw)).decode("ascii")
