"""The committed nixpkgs pin manifest (``nixos/nixpkgs-pin.json``): which revision every host
builds from by default, and what that revision holds.

``scripts/nixpkgs-pin`` writes it on a machine with network, reading each package version the
modules name from the tree itself (``nix-instantiate --eval``). Where that could not be done
(``versions_read: bounded``), each version is the most likely value between bounds that upstream
dates allow, with the evidence beside it. The stack settings take their defaults from here,
``scripts/plan`` judges the pin's age from ``committed``, and the test suite's package
stand-ins (tests/support/nix/pkgs.nix) read their versions from this same file.
"""

from __future__ import annotations

import json
from datetime import date
from functools import cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from infra.ground.contract import json_text
from infra.ground.errors import ConfigError, ConfigIssue
from infra.ground.project import PROJECT_ROOT

PIN_MANIFEST = PROJECT_ROOT / "nixos" / "nixpkgs-pin.json"
PIN_MANIFEST_NAME = "nixos/nixpkgs-pin.json"

Revision = Annotated[str, Field(pattern=r"^[0-9a-f]{40}$")]
SriSha256 = Annotated[str, Field(pattern=r"^sha256-[A-Za-z0-9+/]{43}=$")]
Version = Annotated[str, Field(pattern=r"^[0-9]+(\.[0-9]+)*([-+][0-9A-Za-z.-]+)?$")]
Release = Annotated[str, Field(pattern=r"^[0-9]{2}\.(05|11)$")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PackageAtPin(_Model):
    """One package a module names, as the pinned tree holds it."""

    version: Version | None
    """Read from the tree, or the most likely value when only bounded; None: not read (no
    module depends on it)."""
    at_least: Version | None
    at_most: Version | None
    """None: nothing found bounds it from above."""
    evidence: list[str]


class InfisicalCliPin(_Model):
    """The Infisical CLI release a relay runs unless its stack takes the pin's own package."""

    version: Version
    hashes: dict[str, SriSha256 | None]
    """System → SRI SHA-256 of ``cli_<version>_<suffix>.tar.gz``; None until downloaded."""
    evidence: list[str]


class PinManifest(_Model):
    about: str
    revision: Revision
    nar_hash: SriSha256
    branch: str
    release: Release
    committed: date
    """The revision's commit date (UTC): what its age is measured from."""
    versions_read: Literal["evaluated", "bounded"]
    """``evaluated``: read from the tree by nix-instantiate; ``bounded``: derived from dates."""
    evidence: list[str]
    packages: dict[str, PackageAtPin]
    infisical_cli: InfisicalCliPin


def parse_manifest(text: str, source: str = PIN_MANIFEST_NAME) -> PinManifest:
    """The manifest, or a ConfigError naming what is wrong in it."""
    try:
        return PinManifest.model_validate(json.loads(text))
    except ValueError as error:
        issues = (
            [
                ConfigIssue(".".join(str(p) for p in e["loc"]), e.get("input"), e["msg"])
                for e in error.errors()
            ]
            if isinstance(error, ValidationError)
            else [ConfigIssue("(file)", None, "JSON text written by scripts/nixpkgs-pin")]
        )
        raise ConfigError(source, issues) from None


def manifest_text(manifest: PinManifest) -> str:
    """How scripts/nixpkgs-pin writes it: the project's one reviewable JSON form."""
    return json_text(manifest.model_dump(mode="json"))


@cache
def committed_pin(path: Path = PIN_MANIFEST) -> PinManifest:
    """The manifest committed in this checkout."""
    return parse_manifest(path.read_text(encoding="utf-8"))
