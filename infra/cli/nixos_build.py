"""``nixos-build``: build (or only evaluate) what was rendered, with the pinned nixpkgs."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

from infra.cli.arguments import add_stack_arguments
from infra.cli.command import Command
from infra.cli.exits import Exit
from infra.config.hosts import host_specs
from infra.config.loading import parse_config, read_stack_file, stack_file
from infra.config.settings import NixosSettings
from infra.config.sources import read_nixos_sources
from infra.ground.contract import HOST_CONFIGURATION, NIXOS_ROOT
from infra.ground.errors import ConfigError, ConfigIssue, ServiceError
from infra.ground.progress import progress
from infra.nixos.build import TOPLEVEL, fetch_expression, host_command
from infra.nixos.tree import nixos_tree, relative_to_nixos_root
from infra.plan.files import write_tree

DESCRIPTION = """\
Render the stack's NixOS tree (settings only: no secret is needed or read) into
build/<stack>/nixos and build each host's config.system.build.toplevel with the pinned full
nixpkgs, the same way the deployment's build step does. --eval-only instantiates the
derivation instead: the whole configuration is evaluated, nothing is built. This is the
pull-request gate for machines with network access (it downloads nixpkgs by its pin).

  scripts/nixos-build [--stack NAME] [--host NAME] [--eval-only] [--out DIR]"""


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise ConfigError(
            "environment",
            [ConfigIssue("PATH", name, f"{name} on PATH (Debian: apt-get install nix-bin)")],
        )
    return path


def _selected(hosts: list[str], wanted: str | None) -> list[str]:
    if wanted is None:
        return hosts
    if wanted not in hosts:
        raise ConfigError(
            "--host",
            [ConfigIssue("--host", wanted, f"one of the stack's hosts: {', '.join(hosts)}")],
        )
    return [wanted]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_stack_arguments(parser, project_dir_holds="Pulumi.<stack>.yaml")
    parser.add_argument("--host", default=None, help="only this host (default: every host)")
    parser.add_argument(
        "--eval-only",
        action="store_true",
        help="instantiate toplevel (evaluate everything, build nothing)",
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="rendered tree (default: build/<stack>/nixos)"
    )


def run(arguments: argparse.Namespace) -> int:
    project_root: Path = arguments.project_dir.resolve()
    out: Path = arguments.out or project_root / "build" / arguments.stack / NIXOS_ROOT
    progress(f"Rendering stack {arguments.stack} into {out}")
    raw = read_stack_file(project_root, arguments.stack)
    config = parse_config(arguments.stack, raw, stack_file(project_root, arguments.stack).name)
    hosts = host_specs(config)
    selected = _selected([host.name for host in hosts], arguments.host)
    instantiate = _tool("nix-instantiate")
    builder = instantiate if arguments.eval_only else _tool("nix-build")
    # Written only once every input was accepted: a refused run leaves build/ as it was.
    files = nixos_tree(config, hosts, read_nixos_sources(config))
    write_tree(out, relative_to_nixos_root(files))
    nixos: NixosSettings = config.nixos
    progress(f"Fetching the pinned nixpkgs {nixos.nixpkgs_url}")
    fetched = subprocess.run(
        [instantiate, "--eval", "--read-write-mode", "--json", "--expr", fetch_expression(nixos)],
        capture_output=True,
        text=True,
        check=False,
    )
    if fetched.returncode != 0:
        raise ServiceError(f"fetching nixpkgs failed:\n{fetched.stderr}")
    nixpkgs = fetched.stdout.strip().strip('"')
    verb, outcome = ("Instantiating", "evaluate") if arguments.eval_only else ("Building", "build")
    failed = []
    for host in selected:
        progress(f"{verb} {host}'s {TOPLEVEL}")
        configuration = out / host / HOST_CONFIGURATION
        command = host_command(builder, nixpkgs, configuration, eval_only=arguments.eval_only)
        if subprocess.run(command, check=False).returncode != 0:
            failed.append(host)
    if failed:
        print(
            f"error: {', '.join(failed)} failed to {outcome} (see the Nix output above)",
            file=sys.stderr,
        )
        return Exit.FAILED
    progress(f"{len(selected)} host(s) done")
    return Exit.OK


COMMAND = Command(
    name="nixos-build",
    summary="build (or --eval-only evaluate) each rendered host with the pinned nixpkgs",
    description=DESCRIPTION,
    add_arguments=add_arguments,
    run=run,
    meanings={
        Exit.OK: "every selected host built (or evaluated)",
        Exit.FAILED: "a host failed to build or evaluate (the Nix output says why)",
        Exit.INTERNAL: "nixpkgs could not be fetched (or an internal error)",
    },
)
