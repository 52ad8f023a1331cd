"""InfisicalSecrets: one Infisical secret resource per value RelayMD reads.

Thin on purpose: which names get written and from where is decided in
:mod:`infra.ground.catalog`; this only declares one ``InfisicalSecret`` per value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi

from infra.ground.contract import INFISICAL_SECRETS_TYPE
from infra.infisical.api import Identity, SecretScope
from infra.infisical.provider import (
    InfisicalSecret,
    InfisicalSecretArgs,
    InfisicalSecretProvider,
)


@dataclass(frozen=True)
class InfisicalSecretsArgs:
    scope: SecretScope
    """Project, environment and path every secret is written to."""
    identity: Identity
    """The universal-auth machine identity that writes them (SOPS ``infisical.*``)."""
    values: Mapping[str, pulumi.Input[str]]
    """Secret name → value; each is made a Pulumi secret on its way in."""


class InfisicalSecrets(pulumi.ComponentResource):
    secrets: dict[str, InfisicalSecret]

    def __init__(
        self, name: str, args: InfisicalSecretsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(INFISICAL_SECRETS_TYPE, name, None, opts)
        provider = InfisicalSecretProvider(args.identity)
        scope = args.scope
        self.secrets = {
            secret_name: InfisicalSecret(
                f"{name}-{secret_name}",
                InfisicalSecretArgs(
                    secret_name=secret_name,
                    environment_slug=scope.environment_slug,
                    secret_path=scope.secret_path,
                    project_id=scope.project_id,
                    secret_value=value,
                ),
                provider,
                pulumi.ResourceOptions(parent=self),
            )
            for secret_name, value in sorted(args.values.items())
        }
        self.register_outputs({"secret_names": sorted(self.secrets)})
