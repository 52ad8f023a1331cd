"""Running the testinfra suite (tests/infra) against one stack's inventory.

The suite runs in its own pytest process (no xdist: its engine checks hosts side by side in
threads). Its lines arrive as JSON events on a pipe as checks finish and are printed at once;
pytest's own output is kept aside and shown only when pytest itself fails. The JUnit report's
suite is named after the stack and lists its hosts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from infra.ground.contract import INVENTORY_VARIABLE, PLAN_FILE
from infra.ground.progress import progress
from infra.ground.project import PROJECT_ROOT
from infra.verify.artifacts import read_render, stack_outputs
from infra.verify.derive import missing_outputs
from infra.verify.inventory import Inventory, InventoryError, inventory_from_document, overlay
from infra.verify.policy import untestable_sources
from infra.verify.summary import Report, RunVerdict, header

SUITE = "tests/infra"
REPORT_PLUGIN = "tests.infra.report"
EVENTS_VARIABLE = "RELAYMD_VERIFY_EVENTS_FD"
"""Where the plugin writes its events (tests/infra/report.py reads the same name)."""
PYTEST_USAGE_ERROR = 4
PYTEST_NO_TESTS = 5
MAX_EVENT_BYTES = 1024 * 1024


def _inventory_file(inventory_file: Path | None) -> dict[str, Any]:
    if inventory_file is None:
        return {}
    try:
        extra = json.loads(inventory_file.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as error:
        raise InventoryError(f"--inventory {inventory_file}: {error}") from None
    if not isinstance(extra, dict):
        raise InventoryError(f"--inventory {inventory_file}: expected a JSON object")
    return extra


def load_inventory(stack: str, build_dir: Path, inventory_file: Path | None) -> Inventory:
    """Artifacts of ``build_dir`` (when rendered), overlaid with ``inventory_file``. The stack
    outputs (Pulumi) are read only for what the file does not give."""
    extra = _inventory_file(inventory_file)
    if (build_dir / PLAN_FILE).exists():
        progress(f"Deriving the inventory from {build_dir}")
        render = read_render(build_dir)
        document = overlay(render.inventory(stack, None), extra)
        if missing_outputs(document):
            outputs = stack_outputs(stack, PROJECT_ROOT, render.plan)
            document = overlay(render.inventory(stack, outputs), extra)
    elif inventory_file is None:
        raise InventoryError(
            f"{build_dir}/{PLAN_FILE}: missing; run scripts/plan --stack {stack} first, "
            "or pass --inventory FILE"
        )
    else:
        document = extra
    document.setdefault("stack", stack)
    return inventory_from_document(document)


def _own_environment() -> dict[str, str]:
    """This environment without a calling pytest's markers, which would confuse the run's own."""
    return {key: value for key, value in os.environ.items() if not key.startswith("PYTEST_")}


def _command(inventory: Inventory, junit: Path, extra: Sequence[str]) -> list[str]:
    return [
        sys.executable,
        "-m",
        "pytest",
        SUITE,
        "-p",
        REPORT_PLUGIN,
        "-p",
        "no:cacheprovider",
        "-p",
        "no:xdist",
        # Its start-up alone takes a second or two; the suite has no use for it.
        "-p",
        "no:hypothesispytest",
        # A run where every check skipped is judged here (skips fail unless allowed).
        "-p",
        "no:tests.support.no_empty_runs",
        # Verdicts come from the checks, not from assert rewriting (which recompiles modules).
        "--assert=plain",
        "-q",
        "--no-header",
        "-o",
        f"junit_suite_name={inventory.stack}",
        "-o",
        "junit_family=xunit1",
        f"--junit-xml={junit}",
        *extra,
    ]


def _events(stream: Iterable[bytes]) -> Iterable[dict[str, Any]]:
    for raw in stream:
        if len(raw) > MAX_EVENT_BYTES:
            continue
        try:
            event = json.loads(raw)
        except ValueError:
            continue
        if isinstance(event, dict):
            yield event


def run_suite(
    inventory: Inventory,
    junit: Path,
    extra: Sequence[str],
    allowed_skips: Iterable[str] = (),
) -> RunVerdict:
    """Run every check, printing one line per check as it finishes; the run's verdict."""
    hosts = [f"{node.hostname} ({node.host})" for node in inventory.nodes()]
    for line in header(
        inventory.stack,
        [*hosts, f"LAN probe ({inventory.lan_probe})"],
        inventory.budget_seconds,
        inventory.probe_timeout_seconds,
        untestable_sources(inventory.tailnet_policy),
    ):
        print(line, flush=True)
    report = Report(frozenset(allowed_skips))
    collect_errors: list[str] = []
    with tempfile.TemporaryDirectory(prefix="relaymd-verify-") as scratch:
        path = Path(scratch) / "inventory.json"
        path.write_text(inventory.to_json(), encoding="utf-8")
        log = Path(scratch) / "pytest.log"
        reader, writer = os.pipe()
        started = time.monotonic()
        with log.open("wb") as output:
            process = subprocess.Popen(
                _command(inventory, junit, extra),
                cwd=PROJECT_ROOT,
                env={
                    **_own_environment(),
                    INVENTORY_VARIABLE: str(path),
                    EVENTS_VARIABLE: str(writer),
                },
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                pass_fds=(writer,),
            )
        os.close(writer)
        with os.fdopen(reader, "rb") as stream:
            for event in _events(stream):
                if event.get("event") == "collect-error":
                    collect_errors.append(str(event.get("text", "")))
                    continue
                for line in report.add(event):
                    print(line, flush=True)
        status = process.wait()
        elapsed = time.monotonic() - started
        pytest_output = log.read_text(encoding="utf-8", errors="replace")
    if status == PYTEST_NO_TESTS:
        print(f"error: the pytest arguments {' '.join(extra)!r} select no check", file=sys.stderr)
        return RunVerdict.REFUSED
    if status == PYTEST_USAGE_ERROR:
        tail = pytest_output.strip().splitlines()[-3:]
        print("error: pytest refused the arguments after --:", *tail, sep="\n", file=sys.stderr)
        return RunVerdict.REFUSED
    if collect_errors or not report.lines or status not in (0, 1):
        print(
            f"the suite could not run (pytest exit status {status}):\n"
            + "\n".join(collect_errors)
            + pytest_output[-4000:],
            file=sys.stderr,
        )
        return RunVerdict.BROKEN
    for line in report.closing(elapsed):
        print(line, flush=True)
    return report.verdict()
