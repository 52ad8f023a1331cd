"""The Pulumi program: load and validate the stack, then declare its components."""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.runtime import config as runtime_config

from infra.config.loading import load_stack, project_settings
from infra.config.settings import CONFIG_KEYS
from infra.ground.catalog import Source
from infra.ground.contract import (
    INFISICAL_COMPONENT,
    ORCHESTRATOR_URL_OUTPUT,
    SSH_HOST_KEYS_OUTPUT,
    WORKER_KEY_OUTPUT,
)
from infra.ground.errors import ConfigError
from infra.ground.project import PROJECT
from infra.infisical.api import SecretScope
from infra.infisical.component import InfisicalSecrets, InfisicalSecretsArgs
from infra.infisical.identities import deploy_identity
from infra.nixos.pipeline import JoinsTailnet
from infra.program.machines import declare_hosts, declare_relay_vms, declare_switch, joined
from infra.program.providers import declare_providers
from infra.stack.decided import DecidedStack, decide_stack
from infra.tailnet.component import Tailnet, TailnetArgs
from infra.tailnet.devices import TailnetDevices, TailnetDevicesArgs


def read_pulumi_config(source: str) -> dict[str, Any]:
    """This project's settings as the Pulumi CLI hands them over, unknown keys refused.

    Reading only the known keys would silently ignore a misspelt one (``relay:``), and
    an ignored ``relays`` section plans the deletion of every relay VM.
    """
    names = {*runtime_config.get_config_env(), *runtime_config.CONFIG.get()}
    secret_keys = {
        *runtime_config.get_config_secret_keys_env(),
        *(name for name in names if runtime_config.is_config_secret(name)),
    }
    ours = sorted(name for name in names if name.partition(":")[0] == PROJECT)
    config = pulumi.Config(PROJECT)
    entries = {
        # Structured settings arrive as JSON text; unknown keys are refused unread.
        name: config.get_object(key) if key in CONFIG_KEYS else runtime_config.get_config(name)
        for name, key in ((name, name.partition(":")[2]) for name in ours)
    }
    present = {name: value for name, value in entries.items() if value is not None}
    return project_settings(present, source, secret_keys)


def _infisical_values(stack: DecidedStack, tailnet: Tailnet) -> dict[str, pulumi.Input[str]]:
    """The value of every secret the decided stack writes to Infisical.

    The worker key is the Tailnet component's output, so the ``pulumi up`` that mints a new
    one also writes it where workers read it.
    """
    computed: dict[Source, pulumi.Input[str]] = {
        Source.WORKER_KEY: tailnet.worker_key,
        Source.ORCHESTRATOR_URL: tailnet.orchestrator_url,
    }
    return {
        name: stack.secrets.relaymd[name].get_secret_value()
        if source is Source.SOPS
        else computed[source]
        for name, source in stack.infisical_writes.items()
    }


def declare_stack(stack: DecidedStack) -> None:
    """Map the decided stack onto resources, each declared once its dependencies exist:
    VMs → keys → hosts → switches of hosts that join there → device lookups → the rest."""
    providers = declare_providers(stack.config, stack.secrets)
    vms = declare_relay_vms(stack, providers)
    tailnet = Tailnet(
        "tailnet",
        TailnetArgs(
            stack.tailnet,
            providers.tailscale,
            # A single-use key is spent by its first machine: a new VM needs a new key.
            host_machines={name: [vm.vm] for name, vm in vms.items()},
        ),
    )
    prepared = declare_hosts(stack, tailnet.host_keys, vms)
    # A host that joins the tailnet at its first switch (the orchestrator) switches before
    # its device is looked up; one that joined at install switches after the lookup.
    switches = {
        host.name: declare_switch(host, prepared[host.name], vms.get(host.name))
        for host in stack.hosts
        if host.pipeline.joins_tailnet is JoinsTailnet.AT_SWITCH
    }
    devices = TailnetDevices(
        "tailnet-devices",
        TailnetDevicesArgs(
            stack.tailnet,
            providers.tailscale,
            tailnet,
            # A device can be looked up only once its host has joined.
            host_ready={
                host.name: joined(host, prepared[host.name], switches.get(host.name))
                for host in stack.hosts
            },
        ),
    )
    switches |= {
        host.name: declare_switch(
            host, prepared[host.name], vms.get(host.name), after=devices.dns_served_by(host.name)
        )
        for host in stack.hosts
        if host.pipeline.joins_tailnet is JoinsTailnet.AT_INSTALL
    }
    InfisicalSecrets(
        INFISICAL_COMPONENT,
        InfisicalSecretsArgs(
            scope=SecretScope.of(stack.config.infisical),
            identity=deploy_identity(stack.secrets, stack.config.infisical.site_url),
            values=_infisical_values(stack, tailnet),
        ),
    )
    pulumi.export(ORCHESTRATOR_URL_OUTPUT, tailnet.orchestrator_url)
    pulumi.export(WORKER_KEY_OUTPUT, tailnet.worker_key)
    # Public halves only: scripts/verify pins them, so no connection trusts a key on first use.
    pulumi.export(SSH_HOST_KEYS_OUTPUT, {name: vm.host_public_key for name, vm in vms.items()})


def decide_from_pulumi_config(stack_name: str) -> DecidedStack:
    """What ``pulumi up`` starts from: the CLI's config and the stack's SOPS file, decided once."""
    source = f"Pulumi.{stack_name}.yaml"
    loaded = load_stack(stack_name, read_pulumi_config(source), source=source)
    return decide_stack(loaded.config, loaded.secrets, loaded.sources)


REQUIRED_CLI = ">=3.226.0"
"""The engine drops replacementTrigger (the worker key's rotation) before 3.208.0 and, before
3.226.0, may fire it unchanged when it arrives as an output (pulumi CHANGELOG.md, #22119).
Pulumi.yaml states the same range, but CLIs enforce that only from 3.219.0 on."""


def main() -> None:
    # Older CLIs fail here with "does not support the RequirePulumiVersion RPC" (before
    # 3.217.0) or name the range: never silently without the rotation.
    pulumi.require_pulumi_version(REQUIRED_CLI)
    try:
        stack = decide_from_pulumi_config(pulumi.get_stack())
    except ConfigError as error:
        # RunError prints the message without a traceback; nothing has been declared yet.
        raise pulumi.RunError(str(error)) from None
    declare_stack(stack)
