"""What each host's configuration says: pure decisions from the stack config.

The template only places these values; the NixOS modules hold the behaviour.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from infra.config.hosts import (
    INFISICAL_RELAY_ENV_FILE,
    ORCHESTRATOR_ENV_FILE,
    SECRETS_DIR,
    TAILSCALE_AUTH_KEY_FILE,
    Host,
    OrchestratorHost,
    RelayHost,
)
from infra.config.settings import RELAY_SYSTEM, StackConfig, infisical_cli_url

TAILSCALE_CONTROL_PLANE = "controlplane.tailscale.com"
"""Where every node logs in and fetches its network map (tailscale ipn/prefs.go,
``DefaultControlURL``): the one name each host must resolve after a switch."""


def host_state_version(config: StackConfig, host: Host) -> str:
    """The release the host was installed with: an existing orchestrator says so itself; a
    relay, installed by this project, takes the pin's release unless its own is recorded."""
    if isinstance(host, OrchestratorHost):
        return host.settings.state_version
    return host.relay.state_version or config.nixos.nixpkgs_release


def host_values(config: StackConfig, host: Host) -> dict[str, Any]:
    """Template context for one host: plain str/int/bool/list values, nothing secret."""
    values = _common_values(config, host)
    if isinstance(host, OrchestratorHost):
        values["orchestrator"] = _orchestrator_values(host)
    else:
        values |= _relay_values(config, host)
    return values


def _common_values(config: StackConfig, host: Host) -> dict[str, Any]:
    routes = host.relay.advertise_routes if isinstance(host, RelayHost) else []
    return {
        "is_orchestrator": isinstance(host, OrchestratorHost),
        "hostname": host.name,
        "state_version": host_state_version(config, host),
        "hardening": {
            "adminUser": host.ssh.user,
            "sshPort": host.ssh_port,
            "authorizedKeys": list(config.nixos.admin_ssh_keys),
        },
        "secrets": {
            "directory": SECRETS_DIR,
            "files": [secret.path for secret in host.secret_files],
        },
        "tailnet": {
            "hostname": host.name,
            "tags": [host.tag],
            "authKeyFile": TAILSCALE_AUTH_KEY_FILE.path,
            "advertiseRoutes": [str(route) for route in routes],
        },
        "deploy_gate": {"resolveNames": _resolve_names(config, host)},
    }


def _resolve_names(config: StackConfig, host: Host) -> list[str]:
    """What the host needs to resolve to do its job: the tailnet's control plane, and Infisical
    where something on it enrolls with or reads from it."""
    names = [TAILSCALE_CONTROL_PLANE]
    uses_infisical = isinstance(host, OrchestratorHost) or host.relay.infisical_relay
    infisical = urlsplit(config.infisical.site_url).hostname
    if uses_infisical and infisical and infisical not in names:
        names.append(infisical)
    return names


def _orchestrator_values(host: OrchestratorHost) -> dict[str, Any]:
    orchestrator = host.settings
    return {
        "image": orchestrator.image,
        "port": orchestrator.port,
        "hostname": orchestrator.tailnet_hostname,
        "dataRoot": orchestrator.data_root.rstrip("/"),
        "environmentFile": ORCHESTRATOR_ENV_FILE.path,
        "lanInterface": orchestrator.lan_interface,
        "storageProvider": orchestrator.storage_provider.value,
    }


def _relay_values(config: StackConfig, host: RelayHost) -> dict[str, Any]:
    relay = host.relay
    nameservers = [str(server) for server in relay.nameservers]
    cli = config.nixos.infisical_cli
    return {
        "host_platform": RELAY_SYSTEM,
        "proxmox_guest": {
            "address": str(relay.address),
            "gateway": str(relay.gateway),
            "nameservers": nameservers,
        },
        "disk": {"device": host.install_disk},
        "relay": {
            "internalDomain": relay.internal_domain,
            "upstreamNameservers": nameservers,
            "tlsPassthroughUpstream": relay.tls_passthrough_upstream,
        },
        "infisical_relay": {
            "enable": True,
            "name": relay.name,
            "domain": config.infisical.site_url,
            "environmentFile": INFISICAL_RELAY_ENV_FILE.path,
            # The stack's pinned release (rules.py refuses a stack whose hash is unknown), or
            # null for the pin's own package.
            "cli": None
            if cli is None
            else {
                "version": cli.version,
                "url": infisical_cli_url(cli.version),
                "hash": cli.sha256,
            },
        }
        if relay.infisical_relay
        else {"enable": False},
    }
