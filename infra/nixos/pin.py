"""Pinning nixpkgs (pure): Nix's base-32 hashes as the SRI form a pinned fetchTarball checks,
and how old a pin is against its release's support window."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from datetime import date

from infra.config.pin import InfisicalCliPin, PackageAtPin, PinManifest
from infra.config.settings import (
    NIXPKGS_REPOSITORY,
    RELAY_SYSTEM,
    NixosSettings,
    infisical_cli_url,
)
from infra.ground.nix_escape import nix_value

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


def version_key(version: str) -> tuple[int, ...]:
    """A dotted version as numbers, for ordering (``1.98.5`` < ``1.100.0``)."""
    return tuple(int(part) for part in re.split(r"[-+]", version, maxsplit=1)[0].split("."))


def release_end_of_life(release: str) -> date:
    """The last day NixOS supports a release: YY.05 until the end of December, YY.11 until the
    end of June after (as the release notes plan it, e.g. rl-2305 "Support is planned until the
    end of December 2023"; for 26.05, endoflife.date PR #10180 by its release manager:
    "supported until 2026-12-31")."""
    year, month = (int(part) for part in release.split("."))
    if month == 5:
        return date(2000 + year, 12, 31)
    return date(2000 + year + 1, 6, 30)


def pin_warnings(nixos: NixosSettings, manifest: PinManifest, today: date) -> list[str]:
    """What is stale about the stack's pin, each naming the command that fixes it (pure)."""
    warnings = []
    end = release_end_of_life(nixos.nixpkgs_release)
    bump = 'scripts/nixpkgs-pin (docs/operating.md, "Bumping the nixpkgs pin")'
    if today > end:
        newer = _next_release(nixos.nixpkgs_release)
        warnings.append(
            f"NixOS {nixos.nixpkgs_release} went out of support on {end.isoformat()}: its hosts "
            f"get no security fixes. Move to a supported release: "
            f"scripts/nixpkgs-pin --branch nixos-{newer} (docs/operating.md, "
            '"Bumping the nixpkgs pin")'
        )
    if nixos.nixpkgs_revision != manifest.revision:
        warnings.append(
            f"nixos.nixpkgs_revision {nixos.nixpkgs_revision[:12]} is not the committed pin "
            f"({manifest.revision[:12]}, nixos/nixpkgs-pin.json): its age is not known here; "
            f"drop the setting to follow the committed pin, kept current with {bump}"
        )
        return warnings
    age = (today - manifest.committed).days
    if age > nixos.pin_max_age_days:
        warnings.append(
            f"the nixpkgs pin ({manifest.branch} {manifest.revision[:12]} of "
            f"{manifest.committed.isoformat()}) is {age} days old, more than "
            f"nixos.pin_max_age_days ({nixos.pin_max_age_days}): its hosts miss every security "
            f"fix since; NixOS {nixos.nixpkgs_release} is supported until {end.isoformat()}. "
            f"Bump it: {bump}"
        )
    return warnings


def _next_release(release: str) -> str:
    year, month = (int(part) for part in release.split("."))
    return f"{year}.11" if month == 5 else f"{year + 1}.05"


def release_expression(nixpkgs: str) -> str:
    """The release a nixpkgs tree says it is (``lib.trivial.release``)."""
    return f"(import {nix_value(nixpkgs + '/lib')}).trivial.release"


def versions_expression(nixpkgs: str, names: list[str], system: str) -> str:
    """Each named package's version in the tree, for ``system`` (its name's, when it carries no
    ``version`` attribute)."""
    tree = nix_value(nixpkgs)
    packages = " ".join(nix_value(name) for name in names)
    return (
        f"let pkgs = import {tree} {{ system = {nix_value(system)}; config = {{ }}; "
        "overlays = [ ]; }; in builtins.listToAttrs (map (name: { inherit name; value = "
        "pkgs.${name}.version or (builtins.parseDrvName pkgs.${name}.name).version; }) "
        f"[ {packages} ])"
    )


@dataclass(frozen=True)
class ReadPin:
    """What scripts/nixpkgs-pin read about a branch head, all of it from the network."""

    branch: str
    revision: str
    nar_hash: str
    committed: date
    release: str
    versions: dict[str, str]
    infisical_cli_version: str
    infisical_cli_hash: str


def evaluated_manifest(read: ReadPin, previous: PinManifest) -> PinManifest:
    """The manifest for a revision whose tree was evaluated: every version read, none bounded."""
    return PinManifest(
        about=previous.about,
        revision=read.revision,
        nar_hash=read.nar_hash,
        branch=read.branch,
        release=read.release,
        committed=read.committed,
        versions_read="evaluated",
        evidence=[
            f"Revision: the head of {read.branch} (git ls-remote {NIXPKGS_REPOSITORY}); "
            f"NAR hash: nix-prefetch-url --unpack of its GitHub archive; committed: its commit "
            "date; release and versions: nix-instantiate --eval of that tree "
            "(lib.trivial.release, pkgs.<name>.version for x86_64-linux).",
        ],
        packages={
            name: PackageAtPin(
                version=read.versions[name],
                at_least=read.versions[name],
                at_most=read.versions[name],
                evidence=[f"nix-instantiate --eval at {read.revision}"],
            )
            for name in previous.packages
        },
        infisical_cli=InfisicalCliPin(
            version=read.infisical_cli_version,
            hashes={RELAY_SYSTEM: read.infisical_cli_hash},
            evidence=[
                "The release binary an Infisical Relay runs, fetched by this SRI hash (taken "
                f"with nix-prefetch-url of {infisical_cli_url(read.infisical_cli_version)}), "
                "as nixpkgs packages infisical (pkgs/by-name/in/infisical/package.nix).",
            ],
        ),
    )
