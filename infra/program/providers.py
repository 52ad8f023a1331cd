"""Explicit provider instances, configured from the stack's SOPS credentials.

Explicit providers, with every field set, keep ambient environment variables from steering
a deployment.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_proxmoxve as proxmoxve
import pulumi_tailscale as tailscale
from pydantic import SecretStr

from infra.config.ambient import API_BASE_URL
from infra.config.secrets import StackSecrets
from infra.config.settings import StackConfig


@dataclass(frozen=True)
class Providers:
    tailscale: tailscale.Provider
    proxmox: proxmoxve.Provider | None


def _credential(value: SecretStr | None) -> pulumi.Input[str]:
    # An empty string is still a set field: the provider falls back to its environment
    # variables only for null fields (provider_framework.go, coalesce), and treats "" as absent.
    return "" if value is None else pulumi.Output.secret(value.get_secret_value())


def declare_providers(config: StackConfig, secrets: StackSecrets) -> Providers:
    credentials = secrets.tailscale
    # Every field is set, so nothing falls back to the environment (which the edge also
    # refuses). No `scopes`: the token then carries exactly the OAuth client's own scopes
    # (docs/operating.md, Tailscale credentials), so a renamed scope can never turn into a 403 here.
    tailscale_provider = tailscale.Provider(
        "tailscale",
        tailnet=config.tailnet.name,
        base_url=API_BASE_URL,
        oauth_client_id=_credential(credentials.oauth_client_id),
        oauth_client_secret=_credential(credentials.oauth_client_secret),
        api_key=_credential(credentials.api_key),
        identity_token="",
        audience="",
    )
    proxmox_provider = None
    if config.proxmox is not None and secrets.proxmox is not None:
        proxmox_provider = proxmoxve.Provider(
            "proxmox",
            endpoint=config.proxmox.endpoint,
            insecure=config.proxmox.insecure,
            api_token=pulumi.Output.secret(secrets.proxmox.api_token.get_secret_value()),
        )
    return Providers(tailscale=tailscale_provider, proxmox=proxmox_provider)
