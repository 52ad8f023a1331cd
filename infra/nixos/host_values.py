"""What each host's configuration says: pure decisions from the stack config.

The template only places these values; the NixOS modules hold the behaviour.
"""

from __future__ import annotations

from typing import Any

from infra.decided.hosts import (
    INFISICAL_RELAY_ENV_FILE,
    ORCHESTRATOR_ENV_FILE,
    SECRETS_DIR,
    TAILSCALE_AUTH_KEY_FILE,
    HostSpec,
    Role,
)
from infra.edge.settings import StackConfig
from infra.proxmox.vm_spec import INSTALLER_DISKS


def host_state_version(config: StackConfig, host: HostSpec) -> str:
    """The release the host was installed with: an existing orchestrator says so itself; a
    relay, installed by this project, takes the pin's release unless its own is recorded."""
    if host.role is Role.ORCHESTRATOR:
        return config.orchestrator.state_version
    if host.relay is not None and host.relay.state_version is not None:
        return host.relay.state_version
    return config.nixos.nixpkgs_release


def host_values(config: StackConfig, host: HostSpec) -> dict[str, Any]:
    """Template context for one host: plain str/int/bool/list values, nothing secret."""
    values: dict[str, Any] = {
        "is_orchestrator": host.role is Role.ORCHESTRATOR,
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
            "advertiseRoutes": [str(route) for route in host.relay.advertise_routes]
            if host.relay
            else [],
        },
    }
    if host.role is Role.ORCHESTRATOR:
        orchestrator = config.orchestrator
        values["orchestrator"] = {
            "image": orchestrator.image,
            "port": orchestrator.port,
            "hostname": orchestrator.tailnet_hostname,
            "dataRoot": orchestrator.data_root.rstrip("/"),
            "environmentFile": ORCHESTRATOR_ENV_FILE.path,
            "lanInterface": orchestrator.lan_interface,
            "storageProvider": orchestrator.storage_provider.value,
        }
        return values
    relay = host.relay
    if relay is None:
        raise ValueError(f"relay host {host.name} has no relay settings")
    nameservers = [str(server) for server in relay.nameservers]
    values["proxmox_guest"] = {
        "address": str(relay.address),
        "gateway": str(relay.gateway),
        "nameservers": nameservers,
    }
    values["disk"] = {"device": INSTALLER_DISKS[relay.boot_disk_interface]}
    values["relay"] = {
        "internalDomain": relay.internal_domain,
        "upstreamNameservers": nameservers,
        "tlsPassthroughUpstream": relay.tls_passthrough_upstream,
    }
    values["infisical_relay"] = (
        {
            "enable": True,
            "name": relay.name,
            "domain": config.infisical.site_url,
            "environmentFile": INFISICAL_RELAY_ENV_FILE.path,
        }
        if relay.infisical_relay
        else {"enable": False}
    )
    return values
