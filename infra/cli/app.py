"""The one front door: ``python -m infra.cli <command> [options]`` (``scripts/<command>``).

Every command is parsed, run and mapped onto the exit-code table (infra/cli/exits.py) here, and
nowhere else: a refused input is exit 2 with one message naming the field and the fix, a
service that cannot be reached is exit 3, and any other exception is a bug of ours: exit 3
with one line, the traceback only under ``--debug`` (a message could quote a value read from a
stack, so it is not printed by default).
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from infra.cli import (
    bench,
    config_reference,
    credential_watch,
    nixos_build,
    nixpkgs_pin,
    plan,
    post_review,
    secrets_check,
    verify,
)
from infra.cli.command import Command
from infra.cli.exits import Exit, exit_table
from infra.ground.errors import InternalError, RefusedError, ServiceError

COMMANDS: tuple[Command, ...] = (
    plan.COMMAND,
    verify.COMMAND,
    secrets_check.COMMAND,
    credential_watch.COMMAND,
    nixos_build.COMMAND,
    nixpkgs_pin.COMMAND,
    bench.COMMAND,
    post_review.COMMAND,
    config_reference.COMMAND,
)
ENTRY = "python -m infra.cli"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=ENTRY,
        description="relaymd-infra: every command behind one entry and one exit-code table.",
        epilog=exit_table({}),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        sub = commands.add_parser(
            command.name,
            prog=f"scripts/{command.name}",
            help=command.summary,
            description=f"{command.description}\n\n(Also: {ENTRY} {command.name} ...)",
            epilog=exit_table(command.meanings),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        command.add_arguments(sub)
        sub.add_argument(
            "--debug", action="store_true", help="print the traceback of an internal error"
        )
        sub.set_defaults(command_spec=command, command_parser=sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; every outcome maps to one status of the table. argparse itself exits 2
    on a usage error (an unknown option, a bad value), naming the option."""
    arguments = build_parser().parse_args(argv)
    command: Command = arguments.command_spec
    if command.check is not None:
        command.check(arguments.command_parser, arguments)
    try:
        return int(command.run(arguments))
    except RefusedError as error:
        print(f"error: {error}", file=sys.stderr)
        return Exit.REFUSED
    except ServiceError as error:
        print(f"error: {error}", file=sys.stderr)
        return Exit.INTERNAL
    except InternalError as error:
        # Our own consistency checks: their messages name code, never a value read from input.
        _print_traceback_if(arguments.debug)
        print(f"internal error: {error}", file=sys.stderr)
        return Exit.INTERNAL
    except Exception as error:
        _print_traceback_if(arguments.debug)
        # Only the kind and the place: a message could quote a value read from the stack.
        print(
            f"internal error: {type(error).__name__} at {_innermost_frame(error)}; "
            "this is a bug: rerun with --debug for the traceback and report it",
            file=sys.stderr,
        )
        return Exit.INTERNAL


def _print_traceback_if(debug: bool) -> None:
    if debug:
        traceback.print_exc()


def _innermost_frame(error: BaseException) -> str:
    frames = traceback.extract_tb(error.__traceback__)
    return f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else "(unknown)"
