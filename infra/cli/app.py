"""The one front door: ``python -m infra.cli <command> [options]`` (``scripts/<command>``).

Every command is parsed, run and mapped onto the exit-code table (infra/cli/exits.py) here, and
nowhere else: a refused input is exit 2 with one message naming the field and the fix, a
service that cannot be reached is exit 3, and any other exception is a bug of ours: exit 3
with one line, the traceback only under ``--debug`` (a message could quote a value read from a
stack, so it is not printed by default).
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from infra.cli.command import Command
from infra.cli.exits import Exit, exit_table
from infra.ground.errors import InternalError, RefusedError, ServiceError

COMMAND_MODULES: dict[str, str] = {
    "plan": "infra.cli.plan",
    "verify": "infra.cli.verify",
    "secrets-check": "infra.cli.secrets_check",
    "credential-watch": "infra.cli.credential_watch",
    "nixos-build": "infra.cli.nixos_build",
    "nixpkgs-pin": "infra.cli.nixpkgs_pin",
    "bench": "infra.cli.bench",
    "post-review": "infra.cli.post_review",
    "config-reference": "infra.cli.config_reference",
}
"""Each command's name and the module that defines it (its ``COMMAND``), in the order of the
help. A run imports only its own command's module: a plan does not pay for the HTTP clients
of the credential watch or the verify suite (docs/performance.md)."""
ENTRY = "python -m infra.cli"


def command(name: str) -> Command:
    """The command ``name`` (a key of :data:`COMMAND_MODULES`)."""
    spec: Command = importlib.import_module(COMMAND_MODULES[name]).COMMAND
    if spec.name != name:
        raise InternalError(f"{COMMAND_MODULES[name]} defines {spec.name!r}, listed as {name!r}")
    return spec


def all_commands() -> tuple[Command, ...]:
    return tuple(command(name) for name in COMMAND_MODULES)


def build_parser(commands: Sequence[Command] | None = None) -> argparse.ArgumentParser:
    """The parser of ``commands`` (default: every command, as the help lists them)."""
    parser = argparse.ArgumentParser(
        prog=ENTRY,
        description="relaymd-infra: every command behind one entry and one exit-code table.",
        epilog=exit_table({}),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for spec in all_commands() if commands is None else commands:
        sub = subparsers.add_parser(
            spec.name,
            prog=f"scripts/{spec.name}",
            help=spec.summary,
            description=f"{spec.description}\n\n(Also: {ENTRY} {spec.name} ...)",
            epilog=exit_table(spec.meanings),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        spec.add_arguments(sub)
        sub.add_argument(
            "--debug", action="store_true", help="print the traceback of an internal error"
        )
        sub.set_defaults(command_spec=spec, command_parser=sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; every outcome maps to one status of the table. argparse itself exits 2
    on a usage error (an unknown option, a bad value), naming the option."""
    argv = list(sys.argv[1:] if argv is None else argv)
    # A known command's name first: parse with that command alone. Anything else (--help, no
    # command, a misspelt one) gets every command, so the help and the error list them all.
    only = [command(argv[0])] if argv and argv[0] in COMMAND_MODULES else None
    arguments = build_parser(only).parse_args(argv)
    spec: Command = arguments.command_spec
    if spec.check is not None:
        spec.check(arguments.command_parser, arguments)
    try:
        return int(spec.run(arguments))
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
