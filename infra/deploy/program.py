"""The Pulumi program: load and validate the stack, then declare its components."""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.runtime import config as runtime_config

from infra.decided.stack import StackModel, build_stack_model
from infra.deploy.machines import declare_nodes, declare_relay_vms
from infra.deploy.providers import declare_providers
from infra.edge.errors import ConfigError
from infra.edge.loading import LoadedStack, load_stack, project_settings
from infra.edge.settings import CONFIG_KEYS, PROJECT
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


def declare_stack(stack: LoadedStack, model: StackModel | None = None) -> None:
    """Declare every resource, in the order the hosts need them (VMs → keys → hosts → devices)."""
    model = model or build_stack_model(stack.config)
    providers = declare_providers(stack.config, stack.secrets)
    vms = declare_relay_vms(model, providers)
    tailnet = Tailnet(
        "tailnet",
        TailnetArgs(
            model.tailnet,
            providers.tailscale,
            # A single-use key is spent by its first machine: a new VM needs a new key.
            host_machines={name: [vm.vm] for name, vm in vms.items()},
        ),
    )
    nodes = declare_nodes(model, stack.secrets, tailnet.host_keys, vms)
    # The orchestrator (no install) joins the tailnet with its first switch.
    for node in nodes.values():
        if not node.installs:
            node.declare_update()
    devices = TailnetDevices(
        "tailnet-devices",
        TailnetDevicesArgs(
            model.tailnet,
            providers.tailscale,
            tailnet,
            # A device can be looked up only once its host has installed and joined.
            host_ready={name: node.joined for name, node in nodes.items()},
        ),
    )
    # Order on a relay: VM → install → device lookup (split DNS) → later switches.
    for name, node in nodes.items():
        if node.installs:
            node.declare_update(after=devices.dns_served_by(name))
    pulumi.export("RELAYMD_ORCHESTRATOR_URL", tailnet.orchestrator_url)
    pulumi.export("TAILSCALE_AUTH_KEY", tailnet.worker_key)


def main() -> None:
    stack_name = pulumi.get_stack()
    try:
        source = f"Pulumi.{stack_name}.yaml"
        stack = load_stack(stack_name, read_pulumi_config(source), source=source)
        model = build_stack_model(stack.config)
    except ConfigError as error:
        # RunError prints the message without a traceback; nothing has been declared yet.
        raise pulumi.RunError(str(error)) from None
    declare_stack(stack, model)
