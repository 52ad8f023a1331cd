"""Running the real Nix parser and evaluator (Debian's nix-bin) from tests."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from infra.ground.nix_escape import nix_value
from infra.verify.artifacts import host_settings

HOST_HARNESS = Path(__file__).resolve().parent / "nix" / "eval_host.nix"


@dataclass(frozen=True)
class PinnedSource:
    """A source tree fetched exactly as a user's machine would: by URL and NAR hash."""

    name: str
    url: str
    sha256: str

    @property
    def fetch_expression(self) -> str:
        return (
            f"builtins.fetchTarball {{ url = {nix_value(self.url)}; "
            f"sha256 = {nix_value(self.sha256)}; }}"
        )


# The real module system (lib.evalModules, types, priorities) at the nixos-26.05 branch point,
# from the lib-only mirror of NixOS/nixpkgs.
NIXPKGS_LIB = PinnedSource(
    "nixpkgs lib (nixos-26.05 branch point)",
    "https://github.com/nix-community/nixpkgs.lib/archive/20dd424ff28fae4e89a8154f744743dafd902fe4.tar.gz",
    "1fzbabkwq7nc7xlxxpp6jnrvjpbjh0xg5k3l1gxbf4waqk5vz73p",
)
# What nixos/disko.nix imports; the module fetches it itself with the same URL and hash.
DISKO = PinnedSource(
    "disko v1.11.0",
    "https://github.com/nix-community/disko/archive/v1.11.0.tar.gz",
    "13brimg7z7k9y36n4jc1pssqyw94nd8qvgfjv53z66lv4xkhin92",
)


def nix_instantiate() -> str:
    binary = shutil.which("nix-instantiate")
    if binary is None:
        pytest.skip("nix-instantiate is not installed (scripts/test installs Debian's nix-bin)")
    return binary


def _run(arguments: list[str]) -> str:
    result = subprocess.run(
        [nix_instantiate(), "--readonly-mode", *arguments],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        raise AssertionError(f"nix-instantiate {' '.join(arguments)} failed:\n{result.stderr}")
    return result.stdout


def parse_file(path: Path) -> str:
    """The parser's normalised form of ``path``; raises on a syntax error."""
    return _run(["--parse", str(path)])


def evaluate_json(expression: str) -> Any:
    return json.loads(_run(["--eval", "--strict", "--json", "--expr", expression]))


@cache
def _fetch_problem(source: PinnedSource) -> str | None:
    result = subprocess.run(
        [nix_instantiate(), "--eval", "--expr", source.fetch_expression],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if result.returncode == 0:
        return None
    last_line = (result.stderr.strip().splitlines() or ["no output"])[-1]
    return f"{source.name} ({source.url}) is neither in the Nix store nor downloadable: {last_line}"


def require_pinned_sources() -> None:
    """Skip, naming what is missing, unless nixpkgs lib and disko can be had by their pins."""
    nix_instantiate()
    for source in (NIXPKGS_LIB, DISKO):
        problem = _fetch_problem(source)
        if problem is not None:
            pytest.skip(problem)


def evaluate_host(
    configuration: Path, extra_modules: tuple[str, ...] = (), package_overrides: str = "{ }"
) -> dict[str, Any]:
    """One rendered host, evaluated whole by the real module system (see eval_host.nix).

    ``extra_modules`` are Nix expressions of further modules, e.g. a test's own additions;
    ``package_overrides`` an attribute set laid over the package stand-ins (another version of a
    package the pinned tree might hold).
    """
    require_pinned_sources()
    library = f'import "${{{NIXPKGS_LIB.fetch_expression}}}/lib"'
    output = _run(
        [
            "--eval",
            "--strict",
            "--json",
            str(HOST_HARNESS),
            "--arg",
            "lib",
            library,
            "--argstr",
            "configuration",
            str(configuration),
            "--arg",
            "extraModules",
            "[ " + " ".join(f"({module})" for module in extra_modules) + " ]",
            "--arg",
            "packageOverrides",
            package_overrides,
        ]
    )
    result: dict[str, Any] = json.loads(output)
    return result


def rendered_settings(configuration: Path) -> dict[str, Any]:
    """A rendered configuration.nix's own settings, and its imports as paths."""
    nix_instantiate()
    settings: dict[str, Any] = host_settings(configuration)
    return settings
