"""``config-reference``: write docs/configuration.md from the models, or check that it is fresh."""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from infra.cli.command import Command
from infra.cli.exits import Exit
from infra.ground.errors import refused
from infra.ground.project import PROJECT_ROOT

# infra.config.reference is imported by run() alone: the other commands never need it.
REFERENCE_PATH = "docs/configuration.md"
"""Where the page lives, relative to the project root."""
SCRIPT = "scripts/config-reference"

DESCRIPTION = f"""\
Generate the configuration reference from the models that validate a stack (every setting of
Pulumi.<stack>.yaml and every key of the SOPS file, with type, default, accepted values and
meaning; RelayMD's secret catalog) and write it to {REFERENCE_PATH}. Reads no stack and no
secret. --check writes nothing and fails when the committed page differs.

  scripts/config-reference            write {REFERENCE_PATH}
  scripts/config-reference --check    exit 1 when {REFERENCE_PATH} is stale"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--check",
        action="store_true",
        help=f"compare {REFERENCE_PATH} with a fresh one; exit 1 when it differs",
    )
    parser.add_argument(
        "--project-dir",
        type=Path,
        default=PROJECT_ROOT,
        help=f"directory holding {REFERENCE_PATH} (default: this checkout)",
    )


def run(arguments: argparse.Namespace) -> int:
    from infra.config.reference import configuration_reference

    page = configuration_reference(SCRIPT)
    target: Path = arguments.project_dir / REFERENCE_PATH
    if target.is_symlink() or (target.exists() and not target.is_file()):
        raise refused(str(target), REFERENCE_PATH, "not a regular file", "a regular file")
    current = target.read_bytes() if target.is_file() else None
    if arguments.check:
        if current == page.encode("utf-8"):
            print(f"{REFERENCE_PATH} is up to date.")
            return Exit.OK
        state = "missing" if current is None else "stale"
        print(f"{REFERENCE_PATH} is {state}: run {SCRIPT} and commit the result.")
        return Exit.FAILED
    if not target.parent.is_dir():
        raise refused(str(target.parent), "--project-dir", "no docs/ directory", "a checkout")
    if current != page.encode("utf-8"):
        _replace(target, page)
    print(f"Wrote {REFERENCE_PATH} ({page.count(chr(10))} lines).")
    return Exit.OK


def _replace(target: Path, text: str) -> None:
    """Written beside the page and renamed over it: an interrupted run leaves the old page."""
    handle, staging = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as staged:
            staged.write(text.encode("utf-8"))
        os.chmod(staging, 0o644)
        os.replace(staging, target)
    finally:
        if os.path.exists(staging):
            os.unlink(staging)


COMMAND = Command(
    name="config-reference",
    summary="write docs/configuration.md from the models (--check: is it fresh?)",
    description=DESCRIPTION,
    add_arguments=add_arguments,
    run=run,
    meanings={
        Exit.OK: "written, or up to date (--check)",
        Exit.FAILED: f"--check: {REFERENCE_PATH} is missing or stale",
        Exit.REFUSED: f"{REFERENCE_PATH} is not a regular file, or no docs/ directory",
    },
)
