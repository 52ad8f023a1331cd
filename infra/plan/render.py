"""One plan: validate, decide once, run the program on that decision under the mock engine and
render every artifact (one SOPS decryption, one decided stack, one render)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from infra.config.loading import begin_loading, read_stack_file
from infra.config.pin import committed_pin
from infra.ground.contract import PLAN_FILE
from infra.ground.progress import progress
from infra.ground.project import PROJECT_ROOT
from infra.nixos.pin import pin_warnings
from infra.stack.decided import decide_stack

# This module imports no Pulumi SDK at its top: render_config imports them once sops runs.


def render_stack(
    stack: str, project_root: Path = PROJECT_ROOT
) -> tuple[dict[str, str], dict[str, Any]]:
    """Every artifact of ``stack`` by its path under ``build/<stack>/``, and plan.json's
    document."""
    progress(f"Validating Pulumi.{stack}.yaml and decrypting its SOPS file")
    return render_config(stack, read_stack_file(project_root, stack), project_root)


def render_config(
    stack: str, raw: dict[str, object], project_root: Path = PROJECT_ROOT
) -> tuple[dict[str, str], dict[str, Any]]:
    """:func:`render_stack` for settings already read (``Pulumi.<stack>.yaml``'s config)."""
    started = time.monotonic()
    with begin_loading(stack, raw, project_root=project_root) as pending:
        # The Pulumi SDKs take longer to import than sops takes to decrypt: importing them
        # only now lets sops, a process of its own, run meanwhile.
        from infra.plan.document import plan_document, plan_text
        from infra.plan.engine import run_program

        loaded = pending.finish()
    # A stale pin is worth saying on every plan, never worth failing one: stderr only.
    today = datetime.now(UTC).date()
    for warning in pin_warnings(loaded.config.nixos, committed_pin(), today):
        progress(f"warning: {warning}")
    progress("Deciding the stack (the tailnet policy's own tests included) and rendering it")
    decided = decide_stack(loaded.config, loaded.secrets, loaded.sources)
    progress("Running the Pulumi program under the mock engine (offline, preview)")
    deployment = run_program(stack, raw, preview=True, decided=decided)
    document = plan_document(deployment)
    files = dict(decided.artifacts)
    files[PLAN_FILE] = plan_text(document)
    progress(f"Done in {time.monotonic() - started:.1f}s")
    return files, document
