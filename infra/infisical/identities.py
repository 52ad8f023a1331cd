"""The two machine identities a stack's SOPS file holds, as Infisical logins."""

from __future__ import annotations

from collections.abc import Callable

from infra.config.secrets import StackSecrets, split_infisical_token
from infra.infisical.api import Identity


def deploy_identity(secrets: StackSecrets, site_url: str) -> Identity:
    """The identity ``pulumi up`` writes with (SOPS ``infisical.*``)."""
    return Identity(
        site_url,
        secrets.infisical.client_id.get_secret_value(),
        secrets.infisical.client_secret.get_secret_value(),
    )


def orchestrator_identity(secrets: StackSecrets, site_url: str) -> Identity:
    """The identity RelayMD's orchestrator reads with: its ``INFISICAL_TOKEN``."""
    client_id, client_secret = split_infisical_token(
        secrets.orchestrator.infisical_token.get_secret_value()
    )
    return Identity(site_url, client_id, client_secret)


IDENTITIES: dict[str, Callable[[StackSecrets, str], Identity]] = {
    "deploy": deploy_identity,
    "orchestrator": orchestrator_identity,
}
