"""``scripts/plan --review BASE_DIR``: the review's command-line options and its run."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from pathlib import Path

from infra.plan.review.budget import DEFAULT_BUDGET
from infra.plan.review.inputs import read_render_dir
from infra.plan.review.style import Format


def add_review_arguments(parser: argparse.ArgumentParser) -> None:
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


def check_review_arguments(parser: argparse.ArgumentParser, arguments: argparse.Namespace) -> None:
    """Exit 2 (argparse's usage error) on options that cannot go together."""
    if arguments.review is None:
        if arguments.format is not None or arguments.budget is not None:
            parser.error("--format and --budget only apply with --review BASE_DIR")
        return
    if arguments.check is not None or arguments.out is not None:
        parser.error("--review writes nothing: drop --check/--out, or run them separately")
    if arguments.budget is not None and arguments.budget < 0:
        parser.error("--budget: expected 0 (no limit) or a positive number of characters")


def run_review(arguments: argparse.Namespace, fresh: Mapping[str, str]) -> int:
    # Imported here: the review imports the Pulumi SDKs, which the command line loads only
    # after it has started sops (infra.plan.cli).
    from infra.plan.review.review import ReviewRequest, build_review

    request = ReviewRequest(
        stack=arguments.stack,
        base_label=str(arguments.review),
        format=Format(arguments.format or Format.MARKDOWN),
        budget=DEFAULT_BUDGET if arguments.budget is None else arguments.budget,
    )
    # An unreadable BASE_DIR raises ConfigError, which the command line turns into exit 2.
    sys.stdout.write(build_review(read_render_dir(arguments.review), fresh, request))
    return 0
