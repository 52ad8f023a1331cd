"""``nixpkgs-pin``: pin the newest revision of a NixOS release branch in the committed manifest."""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from infra.cli.command import Command
from infra.cli.exits import Exit
from infra.config.pin import PIN_MANIFEST, committed_pin, manifest_text, parse_manifest
from infra.config.settings import (
    DEFAULT_NIXPKGS_RELEASE,
    NIXPKGS_REPOSITORY,
    RELAY_SYSTEM,
    infisical_cli_url,
    nixpkgs_archive_url,
)
from infra.ground.errors import ConfigError, ConfigIssue, ServiceError, refused
from infra.ground.progress import progress
from infra.nixos.pin import (
    RELEASE_BRANCH,
    ReadPin,
    evaluated_manifest,
    nix_base32_to_sri,
    release_expression,
    versions_expression,
)

DESCRIPTION = """\
Pin the head of a NixOS release branch: ask GitHub for it (git ls-remote) and its commit date
(a one-commit fetch), let nix-prefetch-url --unpack download and hash its tree, read the
tree's release and the version of every package the modules name (nix-instantiate --eval), and
hash the Infisical CLI release an Infisical Relay runs. Writes nixos/nixpkgs-pin.json (review
and commit it; docs/operating.md, "Bumping the nixpkgs pin") and prints the matching settings
for a stack that pins on its own. Needs network and Nix.

  scripts/nixpkgs-pin [--branch nixos-YY.MM] [--infisical-cli VERSION] [--manifest PATH]"""


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise ConfigError("environment", [ConfigIssue("PATH", name, f"{name} on PATH")])
    return path


def _run(command: list[str]) -> str:
    result = subprocess.run(
        [_tool(command[0]), *command[1:]], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise ServiceError(f"{' '.join(command[:3])} ... failed:\n{result.stderr}")
    return result.stdout


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--branch",
        default=f"nixos-{DEFAULT_NIXPKGS_RELEASE}",
        help=f"a NixOS release branch (default: nixos-{DEFAULT_NIXPKGS_RELEASE})",
    )
    parser.add_argument(
        "--infisical-cli",
        default=None,
        metavar="VERSION",
        help="the Infisical CLI release relays run (default: the manifest's)",
    )
    parser.add_argument(
        "--manifest",
        type=Path,
        default=PIN_MANIFEST,
        help="the manifest to write (default: nixos/nixpkgs-pin.json)",
    )


def _commit_date(revision: str) -> datetime:
    """The revision's commit time, from a fetch of that one commit object (no trees)."""
    with tempfile.TemporaryDirectory() as directory:
        _run(["git", "init", "--quiet", "--bare", directory])
        fetch = ["git", "-C", directory, "fetch", "--quiet", "--depth=1", "--filter=tree:0"]
        _run([*fetch, NIXPKGS_REPOSITORY, revision])
        stamp = _run(["git", "-C", directory, "show", "--no-patch", "--format=%ct", revision])
    return datetime.fromtimestamp(int(stamp.strip()), tz=UTC)


def run(arguments: argparse.Namespace) -> int:
    release = RELEASE_BRANCH.fullmatch(arguments.branch)
    if release is None:
        raise refused("--branch", "--branch", arguments.branch, "nixos-YY.05 or nixos-YY.11")
    cli_version = arguments.infisical_cli
    if cli_version is not None and re.fullmatch(r"[0-9]+\.[0-9]+\.[0-9]+", cli_version) is None:
        raise refused("--infisical-cli", "--infisical-cli", cli_version, "a version like 0.43.121")
    manifest_path: Path = arguments.manifest
    previous = (
        parse_manifest(manifest_path.read_text(encoding="utf-8"), str(manifest_path))
        if manifest_path.is_file()
        else committed_pin()
    )
    progress(f"asking {NIXPKGS_REPOSITORY} for the head of {arguments.branch}")
    heads = _run(["git", "ls-remote", NIXPKGS_REPOSITORY, f"refs/heads/{arguments.branch}"]).split()
    if not heads or re.fullmatch(r"[0-9a-f]{40}", heads[0]) is None:
        raise refused(
            "--branch", "--branch", arguments.branch, f"a branch that {NIXPKGS_REPOSITORY} has"
        )
    revision = heads[0]
    progress(f"reading the commit date of {revision}")
    committed = _commit_date(revision)
    url = nixpkgs_archive_url(revision)
    progress(f"downloading and hashing {url}")
    # --print-path: the hash, then the unpacked tree's store path.
    prefetched = _run(["nix-prefetch-url", "--unpack", "--print-path", "--type", "sha256", url])
    digest, tree = prefetched.strip().splitlines()[-2:]
    progress(f"reading the release and package versions of {tree}")
    tree_release = (
        _run(["nix-instantiate", "--eval", "--json", "--expr", release_expression(tree)])
        .strip()
        .strip('"')
    )
    if tree_release != release.group(1):
        raise ServiceError(
            f"{arguments.branch} at {revision} says it is release {tree_release}, not "
            f"{release.group(1)}"
        )
    names = list(previous.packages)
    evaluate = ["nix-instantiate", "--eval", "--strict", "--json", "--expr"]
    versions_text = _run([*evaluate, versions_expression(tree, names, RELAY_SYSTEM)])
    versions = {name: str(value) for name, value in json.loads(versions_text).items()}
    cli_version = cli_version or previous.infisical_cli.version
    cli_url = infisical_cli_url(cli_version)
    progress(f"downloading and hashing {cli_url}")
    cli_digest = _run(["nix-prefetch-url", "--type", "sha256", cli_url]).strip().splitlines()[-1]
    manifest = evaluated_manifest(
        ReadPin(
            branch=arguments.branch,
            revision=revision,
            nar_hash=nix_base32_to_sri(digest),
            committed=committed.date(),
            release=tree_release,
            versions=versions,
            infisical_cli_version=cli_version,
            infisical_cli_hash=nix_base32_to_sri(cli_digest),
        ),
        previous,
    )
    manifest_path.write_text(manifest_text(manifest), encoding="utf-8")
    print(
        f"Wrote {manifest_path}: {arguments.branch} {revision} of "
        f"{committed.date().isoformat()}, "
        + ", ".join(f"{name} {version}" for name, version in sorted(versions.items()))
        + f"; Infisical CLI {cli_version}.\n"
        "Review and commit it; every stack without a pin of its own follows it. A stack that "
        "pins on its own sets:\n"
        "relaymd-infra:nixos:\n"
        f'  nixpkgs_release: "{tree_release}"\n'
        f"  nixpkgs_revision: {revision}\n"
        f"  nixpkgs_sha256: {manifest.nar_hash}"
    )
    return Exit.OK


COMMAND = Command(
    name="nixpkgs-pin",
    summary="pin the head of a NixOS release branch in nixos/nixpkgs-pin.json (needs network)",
    description=DESCRIPTION,
    add_arguments=add_arguments,
    run=run,
    meanings={
        Exit.OK: "the manifest was written and the settings printed",
        Exit.FAILED: "not used",
        Exit.INTERNAL: "git, nix-prefetch-url or nix-instantiate failed (network), or an "
        "internal error",
    },
)
