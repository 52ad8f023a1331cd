"""Command line: ``python -m infra.plan plan [--stack NAME] [--check DIR | --out DIR |
--review BASE_DIR]``."""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path

from infra.decided.stack import decide_stack
from infra.edge.arguments import add_stack_arguments
from infra.edge.errors import ConfigError
from infra.edge.loading import PROJECT_ROOT, begin_loading, read_stack_file
from infra.edge.progress import progress
from infra.plan.files import differing_files, refuse_foreign_directory, write_tree
from infra.plan.input_errors import InputSchemaError
from infra.plan.review.command import add_review_arguments, check_review_arguments, run_review

# This module imports no Pulumi SDK at its top: render_config imports them once sops runs.

EXIT_OK = 0
EXIT_DIFFERS = 1
"""``--check`` found files that differ from a fresh render."""
EXIT_BAD_INPUT = 2
"""The stack file, its SOPS file or the command line was refused; nothing was written."""
EXIT_INTERNAL = 3
"""A bug in this program; ``--debug`` prints the traceback."""


def render_stack(
    stack: str, project_root: Path = PROJECT_ROOT
) -> tuple[dict[str, str], dict[str, object]]:
    """Validate, decide once, run the program on that decision under the mock engine and
    render every artifact: one SOPS decryption, one decided stack, one render."""
    progress(f"Validating Pulumi.{stack}.yaml and decrypting its SOPS file")
    return render_config(stack, read_stack_file(project_root, stack), project_root)


def render_config(
    stack: str, raw: dict[str, object], project_root: Path = PROJECT_ROOT
) -> tuple[dict[str, str], dict[str, object]]:
    """:func:`render_stack` for settings already read (``Pulumi.<stack>.yaml``'s config)."""
    started = time.monotonic()
    with begin_loading(stack, raw, project_root=project_root) as pending:
        # The Pulumi SDKs take longer to import than sops takes to decrypt: importing them
        # only now lets sops, a process of its own, run meanwhile.
        from infra.plan.document import plan_document, plan_text
        from infra.plan.engine import run_program

        loaded = pending.finish()
    progress("Deciding the stack (the tailnet policy's own tests included) and rendering it")
    decided = decide_stack(loaded.config, loaded.secrets, loaded.sources)
    progress("Running the Pulumi program under the mock engine (offline, preview)")
    deployment = run_program(stack, raw, preview=True, decided=decided)
    document = plan_document(deployment)
    files = dict(decided.artifacts)
    files["plan.json"] = plan_text(document)
    progress(f"Done in {time.monotonic() - started:.1f}s")
    return files, document


def _plan(arguments: argparse.Namespace) -> int:
    out = arguments.out or arguments.project_dir / "build" / arguments.stack
    if arguments.check is None and arguments.review is None:
        refuse_foreign_directory(out)  # before the work, not after it
    files, document = render_stack(arguments.stack, arguments.project_dir.resolve())
    if arguments.review is not None:
        return run_review(arguments, files)
    if arguments.check is not None:
        differences = differing_files(arguments.check, files)
        if differences:
            print(f"{arguments.check} differs from a fresh render of stack {arguments.stack}:")
            print("\n".join(f"  {line}" for line in differences))
            print(f"Re-render with: scripts/plan --stack {arguments.stack} --out {arguments.check}")
            return EXIT_DIFFERS
        print(f"{arguments.check} matches a fresh render ({len(files)} files).")
        return EXIT_OK
    from infra.plan.report import render_report  # imports the SDKs (see render_config)

    print(render_report(document))
    write_tree(out, files)
    print(f"Wrote {len(files)} files to {out}")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="relaymd-infra", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    plan = commands.add_parser(
        "plan", help="show every resource of a stack and render its artifacts, offline"
    )
    add_stack_arguments(plan, project_dir_holds="Pulumi.<stack>.yaml and secrets/")
    plan.add_argument(
        "--out",
        type=Path,
        default=None,
        help="where to write the artifacts (default: build/<stack>)",
    )
    plan.add_argument(
        "--check",
        type=Path,
        default=None,
        metavar="DIR",
        help="compare DIR with a fresh render; exit 1 and list differing files",
    )
    plan.add_argument(
        "--debug", action="store_true", help="print the traceback of an internal error (exit 3)"
    )
    add_review_arguments(plan)
    plan.set_defaults(handler=_plan)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run a command; every outcome maps to one exit status (see the README's table)."""
    parser = build_parser()
    arguments = parser.parse_args(argv)
    if arguments.command == "plan":
        check_review_arguments(parser, arguments)
    try:
        status: int = arguments.handler(arguments)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except InputSchemaError as error:
        print(f"internal error: {error}", file=sys.stderr)
        return EXIT_INTERNAL
    except Exception as error:
        if arguments.debug:
            traceback.print_exc()
        else:
            # Only the kind and the place: a message could quote a value read from the stack.
            print(
                f"internal error: {type(error).__name__} at {_innermost_frame(error)}; "
                "this is a bug: rerun with --debug for the traceback and report it",
                file=sys.stderr,
            )
        return EXIT_INTERNAL
    return status


def _innermost_frame(error: BaseException) -> str:
    frames = traceback.extract_tb(error.__traceback__)
    return f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else "(unknown)"


if __name__ == "__main__":
    sys.exit(main())
