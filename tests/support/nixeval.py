"""Running the real Nix parser and evaluator (Debian's nix-bin) from tests."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from infra.nixos.nix_escape import nix_value

HARNESS = Path(__file__).resolve().parent / "nix" / "module_harness.nix"


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


def evaluate_module(
    module: Path, configuration: Path, system: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """What ``module`` declares for the options ``configuration`` sets (see the harness)."""
    output = _run(
        [
            "--eval",
            "--strict",
            "--json",
            str(HARNESS),
            "--argstr",
            "module",
            str(module),
            "--argstr",
            "configuration",
            str(configuration),
            "--arg",
            "system",
            nix_value(dict(system or {})),
        ]
    )
    result: dict[str, Any] = json.loads(output)
    return result


def rendered_settings(configuration: Path) -> dict[str, Any]:
    """A rendered configuration.nix's own settings, and its imports as paths."""
    path = nix_value(str(configuration))
    result: dict[str, Any] = evaluate_json(
        f"let c = import {path} {{ }}; in "
        '(removeAttrs c [ "imports" ]) // { imports = map toString c.imports; }'
    )
    return result
