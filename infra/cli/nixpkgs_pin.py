"""``nixpkgs-pin``: the settings for the newest revision of a NixOS release branch."""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess

from infra.cli.command import Command
from infra.cli.exits import Exit
from infra.config.settings import DEFAULT_NIXPKGS_RELEASE, NIXPKGS_REPOSITORY, nixpkgs_archive_url
from infra.ground.errors import ConfigError, ConfigIssue, ServiceError, refused
from infra.ground.progress import progress
from infra.nixos.pin import RELEASE_BRANCH, nix_base32_to_sri

DESCRIPTION = """\
Ask GitHub for a NixOS release branch's head (git ls-remote) and let nix-prefetch-url --unpack
download that revision's tarball and hash its unpacked tree. Nothing is written: the settings
are printed for Pulumi.<stack>.yaml (docs/operating.md, "Bumping the nixpkgs pin"). Needs
network.

  scripts/nixpkgs-pin [--branch nixos-YY.MM]"""


def _run(command: list[str]) -> str:
    tool = shutil.which(command[0])
    if tool is None:
        raise ConfigError("environment", [ConfigIssue("PATH", command[0], f"{command[0]} on PATH")])
    result = subprocess.run([tool, *command[1:]], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ServiceError(f"{' '.join(command)} failed:\n{result.stderr}")
    return result.stdout


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--branch",
        default=f"nixos-{DEFAULT_NIXPKGS_RELEASE}",
        help=f"a NixOS release branch (default: nixos-{DEFAULT_NIXPKGS_RELEASE})",
    )


def run(arguments: argparse.Namespace) -> int:
    release = RELEASE_BRANCH.fullmatch(arguments.branch)
    if release is None:
        raise refused("--branch", "--branch", arguments.branch, "nixos-YY.05 or nixos-YY.11")
    progress(f"asking {NIXPKGS_REPOSITORY} for the head of {arguments.branch}")
    heads = _run(["git", "ls-remote", NIXPKGS_REPOSITORY, f"refs/heads/{arguments.branch}"]).split()
    if not heads or re.fullmatch(r"[0-9a-f]{40}", heads[0]) is None:
        raise refused(
            "--branch", "--branch", arguments.branch, f"a branch that {NIXPKGS_REPOSITORY} has"
        )
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
    return Exit.OK


COMMAND = Command(
    name="nixpkgs-pin",
    summary="print the pin settings for the head of a NixOS release branch (needs network)",
    description=DESCRIPTION,
    add_arguments=add_arguments,
    run=run,
    meanings={
        Exit.OK: "the settings were printed",
        Exit.FAILED: "not used",
        Exit.INTERNAL: "git or nix-prefetch-url failed (network), or an internal error",
    },
)
