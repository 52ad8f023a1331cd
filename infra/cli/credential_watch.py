"""``credential-watch``: when does each credential the stack depends on stop working?"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime

from infra.cli.arguments import add_stack_arguments, http_url
from infra.cli.command import Command
from infra.cli.exits import Exit
from infra.config.loading import load_stack, read_stack_file
from infra.ground.http import RetryPolicy
from infra.ground.progress import progress
from infra.watch.model import System, Verdict
from infra.watch.options import WatchOptions
from infra.watch.report import SCHEMA, render_table, to_document
from infra.watch.run import secret_values, watch_stack

DESCRIPTION = """\
Read-only: when each credential the stack depends on ends, against a window: the Tailscale API
credential, the worker key (and when its rotation is due), each host key not used yet, the
deploy identity's and the orchestrator's Infisical client secrets (TTL and uses left) and the
Proxmox API token. It prints no secret value. Its cost: one Infisical login as the deploy
identity (one use of that client secret when it is use-limited) and a few reads per service.

  scripts/credential-watch [--stack NAME] [--window-days N] [--format table|json]
                           [--skip tailscale|infisical|proxmox]"""

_EXIT_OF = {
    Verdict.GREEN: Exit.OK,
    Verdict.RED: Exit.FAILED,
    Verdict.REFUSED: Exit.REFUSED,
    Verdict.UNREACHABLE: Exit.INTERNAL,
}


def _window_days(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= 365:
        raise argparse.ArgumentTypeError(f"got {value!r}; expected whole days from 1 to 365")
    return int(value)


def _seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds <= 300:
        raise argparse.ArgumentTypeError(f"got {value!r}; expected seconds, more than 0, up to 300")
    return seconds


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_stack_arguments(parser, project_dir_holds="Pulumi.<stack>.yaml and secrets/")
    parser.add_argument(
        "--window-days",
        type=_window_days,
        default=14,
        help="red when a credential ends within this many days (default: 14)",
    )
    parser.add_argument(
        "--format",
        choices=("table", "json"),
        default="table",
        help="a table for people, or JSON of a stable schema (--schema) for machines",
    )
    parser.add_argument(
        "--skip",
        action="append",
        choices=[system.value for system in System],
        default=[],
        help="do not ask this service (e.g. proxmox from a runner outside the LAN); repeatable",
    )
    parser.add_argument(
        "--timeout",
        type=_seconds,
        default=30.0,
        help="deadline of each request in seconds, its whole answer included (default: 30); "
        "retries of 429 and 5xx answers stop after three times that",
    )
    for system, default in (
        ("tailscale", "https://api.tailscale.com"),
        ("infisical", "the stack's infisical.site_url"),
        ("proxmox", "the stack's proxmox.endpoint"),
    ):
        parser.add_argument(
            f"--{system}-url",
            type=http_url,
            default=None,
            help=f"ask this {system.capitalize()} API instead of {default} (e.g. a test server)",
        )
    parser.add_argument(
        "--schema",
        action="store_true",
        help="print the JSON output's schema and exit (reads no stack)",
    )


def run(arguments: argparse.Namespace) -> int:
    if arguments.schema:
        print(json.dumps(SCHEMA, indent=2))
        return Exit.OK
    progress(f"Validating Pulumi.{arguments.stack}.yaml and decrypting its SOPS file")
    project_root = arguments.project_dir.resolve()
    stack = load_stack(
        arguments.stack, read_stack_file(project_root, arguments.stack), project_root=project_root
    )
    timeout = arguments.timeout
    options = WatchOptions(
        now=datetime.now(UTC),
        window_days=arguments.window_days,
        infisical_url=arguments.infisical_url,
        proxmox_url=arguments.proxmox_url,
        policy=RetryPolicy(request_seconds=timeout, total_seconds=3 * timeout),
        **({"tailscale_url": arguments.tailscale_url} if arguments.tailscale_url else {}),
    )
    skip = {System(name) for name in arguments.skip}
    asked = [system for system in System if system not in skip]
    cost = "; Infisical: one login as the deploy identity" if System.INFISICAL in asked else ""
    progress(f"Asking {', '.join(asked) or 'nothing'} (read-only{cost})")
    watch = watch_stack(stack, options, skip).redacted(secret_values(stack.secrets))
    status = _EXIT_OF[watch.verdict]
    if arguments.format == "json":
        print(json.dumps(to_document(watch, int(status)), indent=2))
    else:
        print(render_table(watch, int(status)))
    return status


COMMAND = Command(
    name="credential-watch",
    summary="read-only: which credentials expire or run out of uses within a window?",
    description=DESCRIPTION,
    add_arguments=add_arguments,
    run=run,
    meanings={
        Exit.OK: "no credential ends within the window",
        Exit.FAILED: "a credential expires, runs out of uses or is refused within the window",
        Exit.REFUSED: "bad stack, SOPS file, argument or setting, a missing permission, or an "
        "answer the watch will not use",
        Exit.INTERNAL: "a service could not be reached (or an internal error)",
    },
)
