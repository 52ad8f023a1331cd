"""The render contract: every name one part writes and another reads back.

``scripts/plan`` writes ``build/<stack>/``; the review, ``scripts/verify`` and the GitOps gate
read it, possibly with another version of this program. The Pulumi program declares resources,
outputs and command environments that plan.json records and the readers look up again. Each
such name lives here once, and both sides import it, so renaming one cannot silently break the
other.
"""

from __future__ import annotations

import json

# Files of a render, relative to build/<stack>/.
PLAN_FILE = "plan.json"
POLICY_FILE = "tailscale/policy.hujson"
CATALOG_FILE = "infisical/secrets.json"
NIXOS_ROOT = "nixos/"
"""Every NixOS file of the render sits below this folder."""
SHARED_MODULES = "modules"
"""``nixos/modules/`` holds the modules every host imports; it is not a host."""
HOST_CONFIGURATION = "configuration.nix"
HOST_HARDWARE = "hardware-configuration.nix"
RENDER_MARKER = ".relaymd-render"
"""Present in every rendered tree: only such a directory may be replaced by the next render."""

# Values plan.json writes in place of what it must not or cannot show.
SECRET_MASK = "[secret]"
KNOWN_AFTER_APPLY = "(known after apply)"

# Type tokens: the project's components, and the provider resources readers look for.
NIXOS_HOST_TYPE = "relaymd:nixos:NixosHost"
NIXOS_SWITCH_TYPE = "relaymd:nixos:NixosSwitch"
TAILNET_TYPE = "relaymd:tailnet:Tailnet"
TAILNET_DEVICES_TYPE = "relaymd:tailnet:TailnetDevices"
RELAY_VM_TYPE = "relaymd:proxmox:RelayVm"
INFISICAL_SECRETS_TYPE = "relaymd:infisical:InfisicalSecrets"
COMPONENT_TYPE_PREFIX = "relaymd:"
"""Every component's token starts so; anything else is a provider's resource."""
INFISICAL_SECRET_TYPE = "pulumi-python:dynamic/infisical:Secret"
"""The token Pulumi gives the dynamic Infisical secret (``dynamic/<module>:<name>``)."""
VM_TYPE = "proxmoxve:index/vmLegacy:VmLegacy"
COMMAND_TYPE = "command:local:Command"
TAILNET_KEY_TYPE = "tailscale:index/tailnetKey:TailnetKey"
DEVICE_KEY_TYPE = "tailscale:index/deviceKey:DeviceKey"
SPLIT_DNS_TYPE = "tailscale:index/dnsSplitNameservers:DnsSplitNameservers"
DNS_PREFERENCES_TYPE = "tailscale:index/dnsPreferences:DnsPreferences"
ROTATING_TYPE = "time:index/rotating:Rotating"
PRIVATE_KEY_TYPE = "tls:index/privateKey:PrivateKey"
GET_DEVICE_FUNCTION = "tailscale:index/getDevice:getDevice"
GET_DEVICES_FUNCTION = "tailscale:index/getDevices:getDevices"

# Stack outputs (``pulumi stack output``; plan.json's "outputs").
ORCHESTRATOR_URL_OUTPUT = "RELAYMD_ORCHESTRATOR_URL"
WORKER_KEY_OUTPUT = "TAILSCALE_AUTH_KEY"
SSH_HOST_KEYS_OUTPUT = "RELAYMD_SSH_HOST_KEYS"
"""Each relay's SSH host public key by host name (public, not secret): verify pins them."""

# Environment of the pipeline's commands: plain values plan.json shows, the shell steps
# (infra/nixos/steps/) read, and verify reads back to find each host. Never a secret.
ENV_HOST = "RELAYMD_HOST"
ENV_SSH_TARGET = "RELAYMD_SSH_TARGET"
ENV_SSH_PORT = "RELAYMD_SSH_PORT"
ENV_SSH_HOST_KEY = "RELAYMD_SSH_HOST_KEY"
"""The host's ED25519 public key line: every connection checks it (StrictHostKeyChecking=yes)."""
ENV_NIXPKGS_URL = "RELAYMD_NIXPKGS_URL"
ENV_NIXPKGS_SHA256 = "RELAYMD_NIXPKGS_SHA256"
ENV_SECRETS_DIR = "RELAYMD_SECRETS_DIR"
ENV_HOST_FILE_PATHS = "RELAYMD_HOST_FILE_PATHS"
"""``<name> <path>`` lines: which ``secrets/host/<name>`` of stdin lands at which host path."""
ENV_DEPLOY_PUBLIC_KEY = "RELAYMD_DEPLOY_PUBLIC_KEY"
# Each step's own limits, in seconds: `timeout` and the boot wait read them.
ENV_BUILD_TIMEOUT = "RELAYMD_BUILD_TIMEOUT_SECONDS"
ENV_INSTALL_TIMEOUT = "RELAYMD_INSTALL_TIMEOUT_SECONDS"
ENV_COPY_TIMEOUT = "RELAYMD_COPY_TIMEOUT_SECONDS"
ENV_SWITCH_TIMEOUT = "RELAYMD_SWITCH_TIMEOUT_SECONDS"
ENV_SSH_TIMEOUT = "RELAYMD_SSH_TIMEOUT_SECONDS"
ENV_BOOT_WAIT = "RELAYMD_BOOT_WAIT_SECONDS"

# Resource names the program gives and the review looks up again.
WORKER_KEY_RESOURCE = "worker-key"
MAGIC_DNS_RESOURCE = "magic-dns"
INFISICAL_COMPONENT = "infisical"
INSTALL_STEP = "install"
SECRETS_STEP = "secrets"
UPDATE_STEP = "update"


def host_key_resource(host: str) -> str:
    """A host's single-use Tailscale key."""
    return f"host-key-{host}"


def host_command_resource(host: str, step: str) -> str:
    """One pipeline command of a host: ``<host>-install``, ``-secrets`` or ``-update``."""
    return f"{host}-{step}"


def relay_ssh_host_key_resource(relay: str) -> str:
    """A relay VM's own SSH host key, named after the relay's component."""
    return f"{relay}-host-key"


def infisical_secret_resource(secret_name: str) -> str:
    """One Infisical secret, named after its component and the secret."""
    return f"{INFISICAL_COMPONENT}-{secret_name}"


INVENTORY_VARIABLE = "RELAYMD_INVENTORY"
"""Where ``scripts/verify`` tells the testinfra suite (tests/infra) to read its inventory."""


def host_directory(host_name: str) -> str:
    """A host's folder in the render: ``nixos/<host>``."""
    return f"{NIXOS_ROOT}{host_name}"


def json_text(document: object) -> str:
    """How every reviewable JSON file is written: sorted keys, indented, UTF-8, final newline."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
