"""``scripts/nixpkgs-pin [--branch nixos-YY.MM]``: the settings for the newest revision of a
NixOS release branch, with the NAR hash a pinned ``builtins.fetchTarball`` checks.

It asks GitHub for the branch's head (``git ls-remote``) and lets ``nix-prefetch-url --unpack``
download that revision's tarball and hash its unpacked tree; nothing is written, the settings
are printed for Pulumi.<stack>.yaml. Needs network.
"""

from __future__ import annotations

import argparse
import base64
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence

from infra.edge.progress import progress
from infra.edge.settings import DEFAULT_NIXPKGS_RELEASE, NIXPKGS_REPOSITORY, nixpkgs_archive_url

# Nix's own base-32 alphabet (no e, o, t, u), least significant digit last.
_NIX_BASE32 = "0123456789abcdfghijklmnpqrsvwxyz"
_SHA256_BYTES = 32
_BRANCH = re.compile(r"^nixos-([0-9]{2}\.(05|11))$")


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


def _run(command: list[str]) -> str:
    tool = shutil.which(command[0])
    if tool is None:
        raise SystemExit(f"error: {command[0]} is not on PATH")
    result = subprocess.run([tool, *command[1:]], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"error: {' '.join(command)} failed:\n{result.stderr}")
    return result.stdout


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/nixpkgs-pin", description=__doc__)
    parser.add_argument(
        "--branch",
        default=f"nixos-{DEFAULT_NIXPKGS_RELEASE}",
        help=f"a NixOS release branch (default: nixos-{DEFAULT_NIXPKGS_RELEASE})",
    )
    arguments = parser.parse_args(argv)
    release = _BRANCH.fullmatch(arguments.branch)
    if release is None:
        print(
            f"error: --branch {arguments.branch}: expected nixos-YY.05 or nixos-YY.11",
            file=sys.stderr,
        )
        return 2
    progress(f"asking {NIXPKGS_REPOSITORY} for the head of {arguments.branch}")
    heads = _run(["git", "ls-remote", NIXPKGS_REPOSITORY, f"refs/heads/{arguments.branch}"]).split()
    if not heads or re.fullmatch(r"[0-9a-f]{40}", heads[0]) is None:
        print(f"error: {NIXPKGS_REPOSITORY} has no branch {arguments.branch}", file=sys.stderr)
        return 2
    revision = heads[0]
    url = nixpkgs_archive_url(revision)
    progress(f"downloading and hashing {url}")
    digest = _run(["nix-prefetch-url", "--unpack", "--type", "sha256", url])
    print(
        "relaymd-infra:nixos:\n"
        f'  nixpkgs_release: "{release.group(1)}"\n'
        f"  nixpkgs_revision: {revision}\n"
        f"  nixpkgs_sha256: {nix_base32_to_sri(digest.strip().splitlines()[-1])}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
