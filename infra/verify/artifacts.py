"""Reads a stack's rendered artifacts and outputs into an inventory (the I/O side)."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.ground import hujson
from infra.ground.contract import HOST_CONFIGURATION, NIXOS_ROOT, PLAN_FILE, POLICY_FILE
from infra.ground.nix_escape import nix_value
from infra.ground.progress import progress
from infra.verify.derive import inventory_document
from infra.verify.inventory import InventoryError

SETTINGS_EXPRESSION = (
    "let c = import {path} {{ }}; in "
    '(removeAttrs c [ "imports" ]) // {{ imports = map toString c.imports; }}'
)
"""A rendered configuration.nix is a function of ``{ ... }`` returning plain data; its
imports come back as the paths they resolve to."""


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InventoryError(
            f"{path}: missing; render it with scripts/plan --stack <stack>"
        ) from None
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as error:
        # JSONDecodeError is a ValueError; nesting thousands deep exhausts the recursion.
        raise InventoryError(f"{path}: not readable JSON ({error})") from None


def host_settings(configuration: Path) -> Any:
    """A rendered configuration.nix's own settings and imports, from the real Nix evaluator."""
    binary = shutil.which("nix-instantiate")
    if binary is None:
        raise InventoryError("nix-instantiate is missing; install Debian's nix-bin")
    # An absolute path as an escaped Nix string: no file name can change the expression.
    expression = SETTINGS_EXPRESSION.format(path=nix_value(str(configuration.resolve())))
    result = subprocess.run(
        [binary, "--readonly-mode", "--eval", "--strict", "--json", "--expr", expression],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        raise InventoryError(f"{configuration}: Nix could not evaluate it:\n{result.stderr}")
    return json.loads(result.stdout)


def stack_outputs(stack: str, project_root: Path, plan: Any) -> Any:
    """``pulumi stack output --json`` when the CLI is there; else the planned outputs."""
    pulumi = shutil.which("pulumi")
    if pulumi is None:
        progress("no pulumi CLI: taking the stack outputs from plan.json")
        return plan.get("outputs", {})
    progress(f"Reading `pulumi stack output --json --stack {stack}`")
    result = subprocess.run(
        [pulumi, "stack", "output", "--json", "--stack", stack],
        cwd=project_root,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        raise InventoryError(
            f"pulumi stack output --stack {stack} failed: {result.stderr.strip()}; "
            "log in to the stack's backend, or give what it would in --inventory FILE"
        )
    try:
        outputs = json.loads(result.stdout)
    except (ValueError, RecursionError):
        raise InventoryError(f"pulumi stack output --stack {stack}: printed no JSON") from None
    if not isinstance(outputs, dict):
        raise InventoryError(f"pulumi stack output --stack {stack}: printed no JSON object")
    return outputs


@dataclass(frozen=True)
class Render:
    """What ``scripts/plan`` wrote for one stack, read once."""

    plan: Any
    policy: Any
    settings: dict[str, Any]

    def inventory(self, stack: str, outputs: Any | None) -> dict[str, Any]:
        return inventory_document(stack, self.plan, self.policy, self.settings, outputs)


def read_render(build_dir: Path) -> Render:
    plan = _read_json(build_dir / PLAN_FILE)
    policy_path = build_dir / POLICY_FILE
    try:
        policy = hujson.parse(policy_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InventoryError(f"{policy_path}: missing; render it with scripts/plan") from None
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as error:
        raise InventoryError(f"{policy_path}: unreadable ({error}); re-render it") from None
    settings = {
        path.parent.name: host_settings(path)
        for path in sorted((build_dir / NIXOS_ROOT).glob(f"*/{HOST_CONFIGURATION}"))
    }
    return Render(plan, policy, settings)


def inventory_from_build(
    stack: str, build_dir: Path, outputs: Any | None = None, project_root: Path | None = None
) -> dict[str, Any]:
    """The inventory document for ``stack`` from ``build_dir`` (``build/<stack>/``)."""
    render = read_render(build_dir)
    if outputs is None:
        outputs = stack_outputs(stack, project_root or build_dir, render.plan)
    return render.inventory(stack, outputs)
