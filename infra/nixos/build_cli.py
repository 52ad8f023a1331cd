"""``scripts/nixos-build [--stack NAME] [--host NAME] [--eval-only]``: build what was rendered.

Renders the stack's NixOS tree (settings only: no secret is needed or read) into
``build/<stack>/nixos`` and builds each host's ``config.system.build.toplevel`` with the pinned
full nixpkgs, the same way the deployment's build step does. ``--eval-only`` instantiates the
derivation instead of building it: the whole configuration is evaluated, nothing is built. This
is the pull-request gate for machines with network access (it downloads nixpkgs by its pin).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from infra.decided.hosts import host_specs
from infra.edge.arguments import add_stack_arguments
from infra.edge.errors import ConfigError, ConfigIssue
from infra.edge.loading import parse_config, read_stack_file, stack_file
from infra.edge.progress import progress
from infra.edge.settings import NixosSettings
from infra.nixos.nix_escape import nix_value
from infra.nixos.sources import read_nixos_sources
from infra.nixos.tree import nixos_tree, relative_to_nixos_root
from infra.plan.files import write_tree

EXIT_BUILD_FAILED = 1
EXIT_BAD_INPUT = 2
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


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise ConfigError(
            "environment",
            [ConfigIssue("PATH", name, f"{name} on PATH (Debian: apt-get install nix-bin)")],
        )
    return path


def _render_tree(stack: str, project_root: Path, out: Path) -> tuple[NixosSettings, list[str]]:
    raw = read_stack_file(project_root, stack)
    config = parse_config(stack, raw, stack_file(project_root, stack).name)
    hosts = host_specs(config)
    files = nixos_tree(config, hosts, read_nixos_sources(config))
    write_tree(out, relative_to_nixos_root(files))
    return config.nixos, [host.name for host in hosts]


def _selected(hosts: list[str], wanted: str | None) -> list[str]:
    if wanted is None:
        return hosts
    if wanted not in hosts:
        raise ConfigError(
            "--host",
            [ConfigIssue("--host", wanted, f"one of the stack's hosts: {', '.join(hosts)}")],
        )
    return [wanted]


def run(arguments: argparse.Namespace) -> int:
    project_root: Path = arguments.project_dir.resolve()
    out: Path = arguments.out or project_root / "build" / arguments.stack / "nixos"
    try:
        progress(f"Rendering stack {arguments.stack} into {out}")
        nixos, hosts = _render_tree(arguments.stack, project_root, out)
        selected = _selected(hosts, arguments.host)
        instantiate = _tool("nix-instantiate")
        builder = instantiate if arguments.eval_only else _tool("nix-build")
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    progress(f"Fetching the pinned nixpkgs {nixos.nixpkgs_url}")
    fetched = subprocess.run(
        [instantiate, "--eval", "--read-write-mode", "--json", "--expr", fetch_expression(nixos)],
        capture_output=True,
        text=True,
        check=False,
    )
    if fetched.returncode != 0:
        print(f"error: fetching nixpkgs failed:\n{fetched.stderr}", file=sys.stderr)
        return EXIT_BUILD_FAILED
    nixpkgs = fetched.stdout.strip().strip('"')
    verb, outcome = ("Instantiating", "evaluate") if arguments.eval_only else ("Building", "build")
    failed = []
    for host in selected:
        progress(f"{verb} {host}'s {TOPLEVEL}")
        configuration = out / host / "configuration.nix"
        command = host_command(builder, nixpkgs, configuration, eval_only=arguments.eval_only)
        if subprocess.run(command, check=False).returncode != 0:
            failed.append(host)
    if failed:
        print(
            f"error: {', '.join(failed)} failed to {outcome} (see the Nix output above)",
            file=sys.stderr,
        )
        return EXIT_BUILD_FAILED
    progress(f"{len(selected)} host(s) done")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="scripts/nixos-build", description=__doc__)
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return run(build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
