"""``secrets-check``: is everything RelayMD reads in Infisical, where it reads it?"""

from __future__ import annotations

import argparse

from infra.cli.arguments import add_stack_arguments, http_url
from infra.cli.command import Command
from infra.cli.exits import Exit
from infra.config.loading import load_stack, read_stack_file
from infra.ground.errors import ServiceError
from infra.ground.progress import progress
from infra.infisical.api import InfisicalApiError, SecretsApi, SecretScope
from infra.infisical.check import check_findings, render_findings
from infra.infisical.identities import IDENTITIES

DESCRIPTION = """\
Read-only: log in to Infisical, list the secrets at the stack's coordinates and report, per
RelayMD component, the required names that are missing, extra names, and values the server
trims. It prints names, never values.

  scripts/secrets-check [--stack NAME] [--identity deploy|orchestrator] [--site-url URL]"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
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


def run(arguments: argparse.Namespace) -> int:
    progress(f"Validating Pulumi.{arguments.stack}.yaml and decrypting its SOPS file")
    project_root = arguments.project_dir.resolve()
    raw = read_stack_file(project_root, arguments.stack)
    stack = load_stack(arguments.stack, raw, project_root=project_root)
    settings = stack.config.infisical
    site_url = arguments.site_url or settings.site_url
    scope = SecretScope.of(settings)
    location = f"{site_url}, {scope.describe()}"
    progress(f"Reading {location} as the {arguments.identity} identity (read-only)")
    try:
        with SecretsApi(IDENTITIES[arguments.identity](stack.secrets, site_url)) as api:
            live = api.list_values(scope)
    except InfisicalApiError as error:
        raise ServiceError(str(error)) from None
    wanted = {name: value.get_secret_value() for name, value in stack.secrets.relaymd.items()}
    storage = stack.config.orchestrator.storage_provider
    findings = check_findings(location, storage, live, wanted)
    print(render_findings(findings))
    return Exit.FAILED if findings.anything_missing else Exit.OK


COMMAND = Command(
    name="secrets-check",
    summary="read-only: is every secret RelayMD requires in Infisical, where it reads it?",
    description=DESCRIPTION,
    add_arguments=add_arguments,
    run=run,
    meanings={
        Exit.OK: "every component has what it requires",
        Exit.FAILED: "something required is missing",
        Exit.REFUSED: "bad stack configuration or argument",
        Exit.INTERNAL: "Infisical could not be read (or an internal error)",
    },
)
