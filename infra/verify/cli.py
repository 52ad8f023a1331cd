"""``scripts/verify``: judge one /healthz, or run the testinfra suite against a stack.

    scripts/verify --healthz URL
    scripts/verify --stack NAME [--inventory FILE] [--junit FILE] [--build DIR]

Exit status: 0 healthy / every check passed, 1 unhealthy / a check failed, 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from infra.edge.arguments import http_url_problem, stack_name
from infra.edge.loading import PROJECT_ROOT
from infra.edge.progress import progress
from infra.verify import healthz
from infra.verify.artifacts import inventory_from_build
from infra.verify.inventory import (
    HEALTHZ_TIMEOUT_SECONDS,
    Inventory,
    InventoryError,
    inventory_from_document,
    overlay,
)
from infra.verify.summary import summarize

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
SUITE = "tests/infra"
INVENTORY_VARIABLE = "RELAYMD_INVENTORY"


def judge_url(url: str, timeout: float, hostname: str | None = None) -> int:
    problem = http_url_problem(url)
    if problem is not None:
        print(
            f"error: --healthz: {url!r} is not a valid URL ({problem}); expected an http(s) "
            "URL, e.g. http://relaymd-orchestrator.<tailnet>.ts.net:36158/healthz",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    parts = urlsplit(url)
    if parts.path in ("", "/"):
        url = url.rstrip("/") + "/healthz"
    try:
        status, body = healthz.fetch(url, timeout)
    except OSError as error:
        print(f"unhealthy: {url}: no HTTP answer within {timeout:g}s ({error})")
        return EXIT_FAILED
    expected = healthz.expected_from_url_host(parts.hostname or "")
    if hostname is not None:
        expected = healthz.Expected(hostname=hostname, dns_name=expected.dns_name)
    verdict = healthz.judge(status, body, expected)
    print(f"{'healthy' if verdict.healthy else 'unhealthy'}: {verdict.reason}")
    return 0 if verdict.healthy else EXIT_FAILED


def load_inventory(stack: str, build_dir: Path, inventory_file: Path | None) -> Inventory:
    """Artifacts of ``build_dir`` (when rendered), overlaid with ``inventory_file``."""
    document: dict[str, Any] = {}
    if (build_dir / "plan.json").exists():
        progress(f"Deriving the inventory from {build_dir}")
        document = inventory_from_build(stack, build_dir, project_root=PROJECT_ROOT)
    elif inventory_file is None:
        raise InventoryError(
            f"{build_dir}/plan.json: missing; run scripts/plan --stack {stack} first, "
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


def run_suite(inventory: Inventory, junit: Path, extra: Sequence[str]) -> int:
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
        return EXIT_FAILED
    print(summarize(junit, elapsed))
    return 0 if result.returncode == 0 else EXIT_FAILED


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/verify", description=__doc__.split("\n")[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--healthz", metavar="URL", help="judge one orchestrator's /healthz")
    mode.add_argument(
        "--stack", metavar="NAME", type=stack_name, help="run the testinfra suite against NAME"
    )
    parser.add_argument(
        "--hostname", help="with --healthz: the tailnet name the orchestrator must report"
    )
    parser.add_argument("--inventory", type=Path, help="inventory JSON (README: Testing)")
    parser.add_argument("--build", type=Path, help="rendered artifacts (default build/<stack>)")
    parser.add_argument("--junit", type=Path, help="JUnit XML report (default: a temp file)")
    parser.add_argument(
        "--timeout", type=float, default=HEALTHZ_TIMEOUT_SECONDS, help=argparse.SUPPRESS
    )
    arguments, extra = parser.parse_known_args(argv)
    if arguments.healthz:
        return judge_url(arguments.healthz, arguments.timeout, arguments.hostname)
    build_dir = arguments.build or PROJECT_ROOT / "build" / arguments.stack
    try:
        inventory = load_inventory(arguments.stack, build_dir, arguments.inventory)
    except InventoryError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if arguments.junit is not None:
        return run_suite(inventory, arguments.junit.resolve(), extra)
    with tempfile.TemporaryDirectory(prefix="relaymd-junit-") as scratch:
        return run_suite(inventory, Path(scratch) / "junit.xml", extra)


if __name__ == "__main__":
    sys.exit(main())
