"""``verify``: judge one /healthz, or run the testinfra suite against a stack."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from infra.cli.arguments import http_url_problem, stack_name
from infra.cli.command import Command
from infra.cli.exits import Exit
from infra.ground.project import PROJECT_ROOT
from infra.verify import healthz
from infra.verify.inventory import HEALTHZ_TIMEOUT_SECONDS
from infra.verify.skips import SKIPS
from infra.verify.suite import load_inventory, run_suite
from infra.verify.summary import RunVerdict

STATUS = {
    RunVerdict.GREEN: Exit.OK,
    RunVerdict.FAILED: Exit.FAILED,
    RunVerdict.REFUSED: Exit.REFUSED,
    RunVerdict.UNREACHABLE: Exit.INTERNAL,
    RunVerdict.BROKEN: Exit.INTERNAL,
}

DESCRIPTION = """\
Is RelayMD's network right? Judge one orchestrator's /healthz, or run the testinfra suite
(tests/infra) against a deployed stack from the hosts its inventory names.

  scripts/verify --healthz URL [--hostname NAME]
  scripts/verify --stack NAME [--inventory FILE] [--build DIR] [--junit FILE]
                 [--allow-skip NAME ...] [-- PYTEST_ARGS]

--stack prints one line per check as it finishes, host by host (SSH first, once per host),
then the run's verdict. The inventory comes from build/<stack>/ and --inventory FILE; the
Pulumi CLI is asked for the stack outputs only when the file does not give them. Every SSH
connection checks the host key the stack pins (docs/verifying.md).

Green means every check passed: a skipped check proves nothing, so it fails the run unless
named with --allow-skip (names below). Arguments after `--` go to pytest unchanged (e.g.
`-- -k healthz`); pytest refusing them, or their selecting no check, exits 2. Any other
unknown option is refused (exit 2).

Skips --allow-skip accepts:
""" + "\n".join(f"  {name:<15} {meaning}" for name, meaning in SKIPS.items())


def judge_url(url: str, timeout: float, hostname: str | None = None) -> int:
    problem = http_url_problem(url)
    if problem is not None:
        print(
            f"error: --healthz: {url!r} is not a valid URL ({problem}); expected an http(s) "
            "URL, e.g. http://relaymd-orchestrator.<tailnet>.ts.net:36158/healthz",
            file=sys.stderr,
        )
        return Exit.REFUSED
    parts = urlsplit(url)
    if parts.path in ("", "/"):
        url = url.rstrip("/") + "/healthz"
    try:
        status, body = healthz.fetch(url, timeout)
    except OSError as error:
        print(f"unhealthy: {url}: no HTTP answer within {timeout:g}s ({error})")
        return Exit.FAILED
    expected = healthz.expected_from_url_host(parts.hostname or "")
    if hostname is not None:
        expected = healthz.Expected(hostname=hostname, dns_name=expected.dns_name)
    verdict = healthz.judge(status, body, expected)
    print(f"{'healthy' if verdict.healthy else 'unhealthy'}: {verdict.reason}")
    return Exit.OK if verdict.healthy else Exit.FAILED


def add_arguments(parser: argparse.ArgumentParser) -> None:
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--healthz", metavar="URL", help="judge one orchestrator's /healthz")
    mode.add_argument(
        "--stack", metavar="NAME", type=stack_name, help="run the testinfra suite against NAME"
    )
    parser.add_argument(
        "--hostname", help="with --healthz: the tailnet name the orchestrator must report"
    )
    parser.add_argument("--inventory", type=Path, help="inventory JSON (docs/verifying.md)")
    parser.add_argument("--build", type=Path, help="rendered artifacts (default build/<stack>)")
    parser.add_argument("--junit", type=Path, help="JUnit XML report (default: a temp file)")
    parser.add_argument(
        "--allow-skip",
        action="append",
        default=[],
        choices=sorted(SKIPS),
        metavar="NAME",
        help="accept the skips of this name (repeatable; names above)",
    )
    parser.add_argument(
        "--timeout", type=float, default=HEALTHZ_TIMEOUT_SECONDS, help=argparse.SUPPRESS
    )
    parser.add_argument(
        "pytest_args", nargs="*", metavar="-- PYTEST_ARGS", help="passed to pytest unchanged"
    )


def run(arguments: argparse.Namespace) -> int:
    if arguments.healthz:
        return judge_url(arguments.healthz, arguments.timeout, arguments.hostname)
    build_dir = arguments.build or PROJECT_ROOT / "build" / arguments.stack
    inventory = load_inventory(arguments.stack, build_dir, arguments.inventory)
    allowed = arguments.allow_skip
    if arguments.junit is not None:
        verdict = run_suite(inventory, arguments.junit.resolve(), arguments.pytest_args, allowed)
    else:
        with tempfile.TemporaryDirectory(prefix="relaymd-junit-") as scratch:
            junit = Path(scratch) / "junit.xml"
            verdict = run_suite(inventory, junit, arguments.pytest_args, allowed)
    return STATUS[verdict]


COMMAND = Command(
    name="verify",
    summary="judge a /healthz, or run the testinfra suite against a deployed stack",
    description=DESCRIPTION,
    add_arguments=add_arguments,
    run=run,
    meanings={
        Exit.OK: "healthy / every check passed (skips only where --allow-skip names them)",
        Exit.FAILED: "unhealthy / a check failed, or a check skipped without --allow-skip",
        Exit.REFUSED: "bad argument, inventory, or pytest arguments after -- (named with the fix)",
        Exit.INTERNAL: "a host unreachable over SSH (and nothing failed), or the suite broke",
    },
)
