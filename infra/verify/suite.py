"""Running the testinfra suite (tests/infra) against one stack's inventory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from infra.ground.contract import INVENTORY_VARIABLE, PLAN_FILE
from infra.ground.progress import progress
from infra.ground.project import PROJECT_ROOT
from infra.verify.artifacts import inventory_from_build
from infra.verify.inventory import Inventory, InventoryError, inventory_from_document, overlay
from infra.verify.summary import summarize

SUITE = "tests/infra"


def load_inventory(stack: str, build_dir: Path, inventory_file: Path | None) -> Inventory:
    """Artifacts of ``build_dir`` (when rendered), overlaid with ``inventory_file``."""
    document: dict[str, Any] = {}
    if (build_dir / PLAN_FILE).exists():
        progress(f"Deriving the inventory from {build_dir}")
        document = inventory_from_build(stack, build_dir, project_root=PROJECT_ROOT)
    elif inventory_file is None:
        raise InventoryError(
            f"{build_dir}/{PLAN_FILE}: missing; run scripts/plan --stack {stack} first, "
            "or pass --inventory FILE"
        )
    if inventory_file is not None:
        try:
            extra = json.loads(inventory_file.read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError) as error:
            raise InventoryError(f"--inventory {inventory_file}: {error}") from None
        if not isinstance(extra, dict):
            raise InventoryError(f"--inventory {inventory_file}: expected a JSON object")
        document = overlay(document, extra)
    document.setdefault("stack", stack)
    return inventory_from_document(document)


def _xdist_workers(inventory: Inventory) -> int:
    """One per checked host (worker view, orchestrator, each relay), two per CPU at most:
    checks mostly wait on the network, but each worker process costs its imports."""
    return min(2 + len(inventory.relays), 2 * (os.cpu_count() or 1))


def _own_environment() -> dict[str, str]:
    """This environment without a calling pytest's markers, which would confuse the run's own."""
    return {key: value for key, value in os.environ.items() if not key.startswith("PYTEST_")}


def run_suite(inventory: Inventory, junit: Path, extra: Sequence[str]) -> bool:
    """Run every check; True when all passed. The summary goes to stdout."""
    with tempfile.TemporaryDirectory(prefix="relaymd-verify-") as scratch:
        path = Path(scratch) / "inventory.json"
        path.write_text(inventory.to_json(), encoding="utf-8")
        command = [
            sys.executable,
            "-m",
            "pytest",
            SUITE,
            "-n",
            str(_xdist_workers(inventory)),
            "--dist",
            "loadgroup",
            "-p",
            "no:cacheprovider",
            "-q",
            "--no-header",
            "-rN",
            f"--junit-xml={junit}",
            *extra,
        ]
        progress(
            f"Checking stack {inventory.stack}: {len(inventory.nodes())} hosts, "
            f"retry budget {inventory.budget_seconds:g}s"
        )
        started = time.monotonic()
        result = subprocess.run(
            command,
            cwd=PROJECT_ROOT,
            env={**_own_environment(), INVENTORY_VARIABLE: str(path)},
            check=False,
            capture_output=True,
            text=True,
        )
        elapsed = time.monotonic() - started
    if not junit.exists():
        sys.stderr.write(result.stdout[-4000:] + result.stderr[-4000:])
        return False
    print(summarize(junit, elapsed))
    return result.returncode == 0
