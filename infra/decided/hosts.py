"""Host specs: which NixOS nodes a stack has, and the root-only secret files each receives.

Shared by the NixOS rendering (which references the *paths*) and the install/update
pipeline (which delivers the *contents*). Paths are outside the Nix store on purpose.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from infra.edge.fields import SshLogin
from infra.edge.settings import RelayConfig, StackConfig

SECRETS_DIR = "/var/lib/relaymd-secrets"
"""Root-only (0700) directory on every host; each file in it is 0600 root:root."""

RELAY_ADMIN_USER = "admin"
"""The cloud-init user of the relay template; nixos-anywhere connects as it."""


class Role(StrEnum):
    ORCHESTRATOR = "orchestrator"
    RELAY = "relay"


class SecretSource(StrEnum):
    TAILSCALE_HOST_KEY = "tailscale-host-key"
    """The host's own single-use, pre-authorized, tagged Tailscale auth key."""
    ORCHESTRATOR_INFISICAL_TOKEN = "orchestrator-infisical-token"
    """``INFISICAL_TOKEN=<client_id>:<client_secret>`` as an environment file."""
    INFISICAL_RELAY_TOKEN = "infisical-relay-token"
    """Infisical Relay enrollment token as an environment file."""


@dataclass(frozen=True)
class SecretFile:
    path: str
    source: SecretSource


TAILSCALE_AUTH_KEY_FILE = SecretFile(
    f"{SECRETS_DIR}/tailscale-auth-key", SecretSource.TAILSCALE_HOST_KEY
)
ORCHESTRATOR_ENV_FILE = SecretFile(
    f"{SECRETS_DIR}/orchestrator.env", SecretSource.ORCHESTRATOR_INFISICAL_TOKEN
)
INFISICAL_RELAY_ENV_FILE = SecretFile(
    f"{SECRETS_DIR}/infisical-relay.env", SecretSource.INFISICAL_RELAY_TOKEN
)


@dataclass(frozen=True)
class HostSpec:
    name: str
    """Directory name of the rendered configuration: the tailnet hostname."""
    role: Role
    tag: str
    ssh: SshLogin
    """Who installs and updates log in as, and where: decided here for every host."""
    ssh_port: int
    secret_files: tuple[SecretFile, ...]
    relay: RelayConfig | None = None


def host_specs(config: StackConfig) -> tuple[HostSpec, ...]:
    orchestrator = config.orchestrator
    hosts = [
        HostSpec(
            name=orchestrator.tailnet_hostname,
            role=Role.ORCHESTRATOR,
            tag=config.tailnet.tags.orchestrator,
            ssh=orchestrator.ssh_target,
            ssh_port=orchestrator.ssh_port,
            secret_files=(TAILSCALE_AUTH_KEY_FILE, ORCHESTRATOR_ENV_FILE),
        )
    ]
    for relay in config.relays:
        files: tuple[SecretFile, ...] = (TAILSCALE_AUTH_KEY_FILE,)
        if relay.infisical_relay:
            files += (INFISICAL_RELAY_ENV_FILE,)
        hosts.append(
            HostSpec(
                name=relay.tailnet_hostname,
                role=Role.RELAY,
                tag=config.tailnet.tags.relay,
                # The template's cloud-init user, at the VM's static address.
                ssh=SshLogin(RELAY_ADMIN_USER, str(relay.address.ip)),
                ssh_port=22,
                secret_files=files,
                relay=relay,
            )
        )
    return tuple(hosts)
