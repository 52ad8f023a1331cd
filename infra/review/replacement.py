"""When a changed input replaces a resource instead of updating it: the one table.

Each rule names an input path in plan.json (Pulumi's wire names) whose change makes the
provider, or this project, replace the resource. Facts are transcribed from the upstream
source at the versions this project pins, cited beside each group. A type missing here is
reviewed as an in-place update: the review never guesses a replacement it cannot cite.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from infra.ground.catalog import ORCHESTRATOR_URL_SECRET, WORKER_KEY_SECRET
from infra.ground.contract import (
    COMMAND_TYPE,
    DEVICE_KEY_TYPE,
    DNS_PREFERENCES_TYPE,
    INFISICAL_SECRET_TYPE,
    INSTALL_STEP,
    MAGIC_DNS_RESOURCE,
    ORCHESTRATOR_URL_OUTPUT,
    PRIVATE_KEY_TYPE,
    ROTATING_TYPE,
    SPLIT_DNS_TYPE,
    TAILNET_KEY_TYPE,
    VM_TYPE,
    WORKER_KEY_RESOURCE,
    host_command_resource,
    host_key_resource,
    infisical_secret_resource,
    relay_ssh_host_key_resource,
)


@dataclass(frozen=True)
class ReplaceRule:
    path: str
    """Input path; ``[*]`` matches any list index. A change at or below it counts."""
    setting: str
    """What a reviewer knows it as (the stack setting when there is one)."""
    unless_true: str | None = None
    """An input that, when true in the new inputs, turns the replacement into an update."""
    manual: str | None = None
    """Set when the engine cannot see the change: how the replacement has to be applied
    (markdown; ``{urn}`` stands for the resource's URN)."""


# proxmoxve VmLegacy is bpg/terraform-provider-proxmox's `proxmox_virtual_environment_vm`
# (muhlba91/pulumi-proxmoxve provider/resources.go, convertName: the `Legacy` suffix).
# ForceNew fields, bpg/terraform-provider-proxmox v0.111.1, proxmoxtf/resource/vm/vm.go:
# clone.{vm_id,full,datastore_id,node_name,retries}, amd_sev, initialization.{type,
# user_data_file_id,vendor_data_file_id,network_data_file_id,meta_data_file_id};
# CustomizeDiff ForceNewIf: vm_id, node_name (unless `migrate`), tpm_state.version,
# efi_disk.type; proxmoxtf/resource/vm/disk/schema.go: disk file_id.
# Project rule (docs/operating.md, "Reinstalling a relay"; infra/proxmox/component.py):
# `clone` is in ignore_changes because Proxmox cannot report a clone's source, so a template
# change must be applied with `pulumi up --replace`.
_CLONE_IGNORED = "`clone` is ignored on update, so apply it with `pulumi up --replace {urn}`"
_VM_RULES = (
    ReplaceRule("clone.vmId", "template_id", manual=_CLONE_IGNORED),
    ReplaceRule("clone.full", "full_clone", manual=_CLONE_IGNORED),
    ReplaceRule("vmId", "vm_id"),
    ReplaceRule("nodeName", "proxmox_node", unless_true="migrate"),
    ReplaceRule("amdSev", "amdSev"),
    ReplaceRule("initialization.type", "initialization.type"),
    ReplaceRule("initialization.userDataFileId", "initialization.userDataFileId"),
    ReplaceRule("initialization.vendorDataFileId", "initialization.vendorDataFileId"),
    ReplaceRule("initialization.networkDataFileId", "initialization.networkDataFileId"),
    ReplaceRule("initialization.metaDataFileId", "initialization.metaDataFileId"),
    ReplaceRule("tpmState.version", "tpmState.version"),
    ReplaceRule("efiDisk.type", "efiDisk.type"),
    ReplaceRule("disks[*].fileId", "disk fileId"),
)

REPLACE_ON_CHANGE: Mapping[str, tuple[ReplaceRule, ...]] = {
    VM_TYPE: _VM_RULES,
    # pulumi/pulumi-command provider/pkg/provider/local/command.go (v1.2):
    # `Triggers ... provider:"replaceOnChanges"`.
    COMMAND_TYPE: (ReplaceRule("triggers", "triggers"),),
    # tailscale/terraform-provider-tailscale v0.29.2 (pinned by pulumi-tailscale 0.29),
    # tailscale/resource_tailnet_key.go: RequiresReplace on these six.
    TAILNET_KEY_TYPE: tuple(
        ReplaceRule(path, path)
        for path in ("reusable", "ephemeral", "tags", "preauthorized", "expiry", "description")
    ),
    # same version, tailscale/resource_device_key.go and resource_dns_split_nameservers.go.
    DEVICE_KEY_TYPE: (ReplaceRule("deviceId", "deviceId"),),
    SPLIT_DNS_TYPE: (ReplaceRule("domain", "domain"),),
    # hashicorp/terraform-provider-time v0.12.1 (pinned by pulumiverse-time 0.1.1),
    # internal/provider/resource_time_rotating.go: RequiresReplace on triggers and rfc3339.
    ROTATING_TYPE: (ReplaceRule("triggers", "triggers"), ReplaceRule("rfc3339", "rfc3339")),
    # hashicorp/terraform-provider-tls (d72d90e), internal/provider/resource_private_key.go.
    PRIVATE_KEY_TYPE: tuple(
        ReplaceRule(path, path) for path in ("algorithm", "rsaBits", "ecdsaCurve")
    ),
    # This project's dynamic provider (infra/infisical/provider.py, REPLACING) follows
    # Infisical/terraform-provider-infisical v0.19.24, internal/provider/resource/
    # secret_resource.go: RequiresReplace on workspace_id, env_slug and folder_path; a new
    # `name` is an in-place rename (newSecretName), so `secret_name` is no rule here.
    INFISICAL_SECRET_TYPE: (
        ReplaceRule("project_id", "infisical.project_id"),
        ReplaceRule("environment_slug", "infisical.environment"),
        ReplaceRule("secret_path", "infisical.secret_path"),
    ),
}

RETAINED_ON_DELETE: Mapping[tuple[str, str], str] = {
    # infra/tailnet/component.py: `retain_on_delete`, so replacing or deleting these only
    # forgets them: the provider's delete (which revokes a key, or turns MagicDNS off) never
    # runs (terraform-provider-tailscale v0.29.2, resource_tailnet_key.go and
    # resource_dns_preferences.go, their delete functions).
    (TAILNET_KEY_TYPE, WORKER_KEY_RESOURCE): (
        "the old key is not revoked: it stays valid until its expiry"
    ),
    (DNS_PREFERENCES_TYPE, MAGIC_DNS_RESOURCE): "MagicDNS stays on in the tailnet",
}
"""Resources whose replacement or deletion leaves the real object in place, and what that
means for a reviewer."""


@dataclass(frozen=True)
class Follower:
    """A resource whose masked input is another's output: the plan cannot show the new value,
    so it updates when that source is replaced or that stack output changes."""

    type: str
    name: str
    why: str
    source: tuple[str, str] | None = None
    """A resource (type, name) whose replacement gives the follower a new input."""
    output: str | None = None
    """A stack output in plan.json that carries the same value as the follower's input."""


# infra/program/program.py (_infisical_values, the exports) and infra/ground/catalog.py
# (COMPUTED_SOURCES): the worker key's `key` and the orchestrator URL are written to
# Infisical; their values are masked in plan.json like every Infisical value.
FOLLOWERS: tuple[Follower, ...] = (
    Follower(
        INFISICAL_SECRET_TYPE,
        infisical_secret_resource(WORKER_KEY_SECRET),
        "follows worker-key: its value becomes the new key, which workers read from Infisical",
        source=(TAILNET_KEY_TYPE, WORKER_KEY_RESOURCE),
    ),
    Follower(
        INFISICAL_SECRET_TYPE,
        infisical_secret_resource(ORCHESTRATOR_URL_SECRET),
        f"its value becomes the new {ORCHESTRATOR_URL_OUTPUT} (see the stack outputs)",
        output=ORCHESTRATOR_URL_OUTPUT,
    ),
)


@dataclass(frozen=True)
class Companion:
    """A resource this project replaces together with a relay's VM (the replaceWith option)."""

    type: str
    name: str
    """``{host}`` stands for the VM's ``name`` input (the host's name), ``{relay}`` for the
    VM's parent (the relay's component)."""
    why: str


# infra/tailnet/component.py: a host key is single-use, so it has replace_with=[its machine];
# infra/nixos/component.py: the install command has replace_with=[its machine] (Proxmox may
# hand a replacement the same id, so the id trigger alone is not enough);
# infra/proxmox/component.py: the relay's SSH host key has replace_with=[its VM].
# The names come from infra/ground/contract.py, built here around the placeholders.
REPLACED_WITH_VM: tuple[Companion, ...] = (
    Companion(
        TAILNET_KEY_TYPE, host_key_resource("{host}"), "its single-use host key is replaced with it"
    ),
    Companion(
        COMMAND_TYPE,
        host_command_resource("{host}", INSTALL_STEP),
        "NixOS is installed again on the new VM",
    ),
    Companion(
        PRIVATE_KEY_TYPE,
        relay_ssh_host_key_resource("{relay}"),
        "the new VM gets a new SSH host key (known_hosts entries for the old one stop matching)",
    ),
)

_INDEX = re.compile(r"\[\d+\]")


def _covers(rule_path: str, changed_path: str) -> bool:
    path = _INDEX.sub("[*]", changed_path)
    return path == rule_path or path.startswith((f"{rule_path}.", f"{rule_path}["))


@dataclass(frozen=True)
class Replacement:
    rule: ReplaceRule
    paths: tuple[str, ...]
    """The changed input paths the rule matched, sorted."""


def replacements(
    resource_type: str, changed_paths: Sequence[str], new_inputs: Mapping[str, Any]
) -> tuple[Replacement, ...]:
    """Which of the type's replace-on-change rules the changed inputs trigger."""
    found = []
    for rule in REPLACE_ON_CHANGE.get(resource_type, ()):
        matched = tuple(sorted(p for p in changed_paths if _covers(rule.path, p)))
        if matched and not (rule.unless_true and new_inputs.get(rule.unless_true) is True):
            found.append(Replacement(rule, matched))
    return tuple(found)
