"""``scripts/secrets-check --stack NAME``: is everything RelayMD reads in Infisical?

Read-only: it logs in, lists the secrets at the stack's coordinates and reports, per
component, the required names that are missing, extra names, and values the server trims.
It prints names, never values. Exit 0 when every component has what it requires, 1 when
something required is missing, 2 for a bad stack configuration, 3 when Infisical could
not be read.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from infra.edge.arguments import add_stack_arguments, http_url
from infra.edge.errors import ConfigError
from infra.edge.loading import load_stack, read_stack_file
from infra.edge.progress import progress
from infra.infisical.api import InfisicalApiError, SecretsApi, SecretScope
from infra.infisical.check import check_findings, render_findings
from infra.infisical.identities import IDENTITIES

EXIT_MISSING = 1
EXIT_BAD_CONFIG = 2
EXIT_UNREADABLE = 3


def run_check(arguments: argparse.Namespace) -> int:
    try:
        progress(f"Validating Pulumi.{arguments.stack}.yaml and decrypting its SOPS file")
        project_root = arguments.project_dir.resolve()
        raw = read_stack_file(project_root, arguments.stack)
        stack = load_stack(arguments.stack, raw, project_root=project_root)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_CONFIG
    settings = stack.config.infisical
    site_url = arguments.site_url or settings.site_url
    scope = SecretScope.of(settings)
    location = f"{site_url}, {scope.describe()}"
    progress(f"Reading {location} as the {arguments.identity} identity (read-only)")
    try:
        with SecretsApi(IDENTITIES[arguments.identity](stack.secrets, site_url)) as api:
            live = api.list_values(scope)
    except InfisicalApiError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_UNREADABLE
    wanted = {name: value.get_secret_value() for name, value in stack.secrets.relaymd.items()}
    storage = stack.config.orchestrator.storage_provider
    findings = check_findings(location, storage, live, wanted)
    print(render_findings(findings))
    return EXIT_MISSING if findings.anything_missing else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="secrets-check", description=__doc__)
    add_stack_arguments(parser, project_dir_holds="Pulumi.<stack>.yaml and secrets/")
    parser.add_argument(
        "--identity",
        choices=sorted(IDENTITIES),
        default="deploy",
        help="read as the deploying identity (SOPS infisical.*) or as RelayMD does, with the "
        "orchestrator's INFISICAL_TOKEN (default: deploy)",
    )
    parser.add_argument(
        "--site-url",
        default=None,
        type=http_url,
        help="ask this Infisical instead of the stack's site_url (e.g. a test server)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return run_check(build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
