"""Explicit provider instances, configured from the stack's SOPS credentials.

Explicit providers keep ambient environment credentials from steering a deployment.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_proxmoxve as proxmoxve
import pulumi_tailscale as tailscale
from pydantic import SecretStr

from infra.edge.secrets import StackSecrets
from infra.edge.settings import StackConfig

TAILSCALE_OAUTH_SCOPES = ("acl", "auth_keys", "dns", "devices")


@dataclass(frozen=True)
class Providers:
    tailscale: tailscale.Provider
    proxmox: proxmoxve.Provider | None


def secret(value: pulumi.Input[str] | None) -> pulumi.Output[str] | None:
    """Wrap a value as a Pulumi secret so it is encrypted in state and masked in output."""
    return None if value is None else pulumi.Output.secret(value)


def _reveal(value: SecretStr | None) -> str | None:
    return None if value is None else value.get_secret_value()


def declare_providers(config: StackConfig, secrets: StackSecrets) -> Providers:
    credentials = secrets.tailscale
    tailscale_provider = tailscale.Provider(
        "tailscale",
        tailnet=config.tailnet.name,
        oauth_client_id=secret(_reveal(credentials.oauth_client_id)),
        oauth_client_secret=secret(_reveal(credentials.oauth_client_secret)),
        api_key=secret(_reveal(credentials.api_key)),
        scopes=list(TAILSCALE_OAUTH_SCOPES) if credentials.oauth_client_id else None,
    )
    proxmox_provider = None
    if config.proxmox is not None and secrets.proxmox is not None:
        proxmox_provider = proxmoxve.Provider(
            "proxmox",
            endpoint=config.proxmox.endpoint,
            insecure=config.proxmox.insecure,
            api_token=secret(secrets.proxmox.api_token.get_secret_value()),
        )
    return Providers(tailscale=tailscale_provider, proxmox=proxmox_provider)
