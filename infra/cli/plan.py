"""``plan``: plan a stack offline under Pulumi's mock engine and render its artifacts."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from infra.cli.arguments import add_stack_arguments
from infra.cli.command import Command
from infra.cli.exits import Exit
from infra.plan.files import differing_files, refuse_foreign_directory, write_tree
from infra.plan.render import render_stack
from infra.review.budget import DEFAULT_BUDGET
from infra.review.inputs import read_render_dir
from infra.review.style import Format

# This module imports no Pulumi SDK at its top: render_config imports them once sops runs.

DESCRIPTION = """\
Plan a stack offline: validate Pulumi.<stack>.yaml and its SOPS file, decide the stack, run
the real Pulumi program under the mock engine (no CLI, no credentials, no network) and render
every artifact reviewers diff into build/<stack>/ (plan.json, tailscale/policy.hujson,
nixos/<host>/*.nix, infisical/secrets.json). Never writes a secret value.

  scripts/plan [--stack NAME] [--out DIR]       render into DIR (default build/<stack>)
  scripts/plan --check DIR                      compare DIR with a fresh render (the GitOps gate)
  scripts/plan --review BASE_DIR [--format F] [--budget N]
                                                a pull-request review against BASE_DIR"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_stack_arguments(parser, project_dir_holds="Pulumi.<stack>.yaml and secrets/")
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="where to write the artifacts (default: build/<stack>)",
    )
    parser.add_argument(
        "--check",
        type=Path,
        default=None,
        metavar="DIR",
        help="compare DIR with a fresh render; exit 1 and list differing files",
    )
    parser.add_argument(
        "--review",
        type=Path,
        default=None,
        metavar="BASE_DIR",
        help="compare a committed render (e.g. the target branch's) with a fresh render and "
        "print a pull-request review; writes nothing",
    )
    parser.add_argument(
        "--format",
        choices=[f.value for f in Format],
        default=None,
        help="review format (default: markdown)",
    )
    parser.add_argument(
        "--budget",
        type=int,
        default=None,
        metavar="N",
        help=f"maximum review size in characters, 0 for no limit (default: {DEFAULT_BUDGET})",
    )


def check_arguments(parser: argparse.ArgumentParser, arguments: argparse.Namespace) -> None:
    """Exit 2 (argparse's usage error) on options that cannot go together."""
    if arguments.review is None:
        if arguments.format is not None or arguments.budget is not None:
            parser.error("--format and --budget only apply with --review BASE_DIR")
        return
    if arguments.check is not None or arguments.out is not None:
        parser.error("--review writes nothing: drop --check/--out, or run them separately")
    if arguments.budget is not None and arguments.budget < 0:
        parser.error("--budget: expected 0 (no limit) or a positive number of characters")


def run(arguments: argparse.Namespace) -> int:
    out = arguments.out or arguments.project_dir / "build" / arguments.stack
    if arguments.check is None and arguments.review is None:
        refuse_foreign_directory(out)  # before the work, not after it
    files, document = render_stack(arguments.stack, arguments.project_dir.resolve())
    if arguments.review is not None:
        return _review(arguments, files)
    if arguments.check is not None:
        differences = differing_files(arguments.check, files)
        if differences:
            print(f"{arguments.check} differs from a fresh render of stack {arguments.stack}:")
            print("\n".join(f"  {line}" for line in differences))
            print(f"Re-render with: scripts/plan --stack {arguments.stack} --out {arguments.check}")
            return Exit.FAILED
        print(f"{arguments.check} matches a fresh render ({len(files)} files).")
        return Exit.OK
    from infra.plan.report import render_report  # imports the SDKs (see render_config)

    print(render_report(document))
    write_tree(out, files)
    print(f"Wrote {len(files)} files to {out}")
    return Exit.OK


def _review(arguments: argparse.Namespace, fresh: dict[str, str]) -> int:
    # Imported here: the review imports the Pulumi SDKs, which are loaded only after sops
    # has started (infra/plan/render.py).
    from infra.review.review import ReviewRequest, build_review

    request = ReviewRequest(
        stack=arguments.stack,
        base_label=str(arguments.review),
        format=Format(arguments.format or Format.MARKDOWN),
        budget=DEFAULT_BUDGET if arguments.budget is None else arguments.budget,
    )
    # An unreadable BASE_DIR raises ConfigError, which the front door turns into exit 2.
    sys.stdout.write(build_review(read_render_dir(arguments.review), fresh, request))
    return Exit.OK


COMMAND = Command(
    name="plan",
    summary="plan a stack offline and render its artifacts (the main job)",
    description=DESCRIPTION,
    add_arguments=add_arguments,
    run=run,
    meanings={
        Exit.OK: "rendered, matches (--check) or reviewed (--review)",
        Exit.FAILED: "--check: the directory differs from a fresh render",
    },
    check=check_arguments,
)
