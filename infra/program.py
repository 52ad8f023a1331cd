"""The Pulumi program: load and validate the stack, then declare its components."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_tailscale as tailscale

from infra.config import CONFIG_KEYS, PROJECT
from infra.core import build_stack_model
from infra.errors import ConfigError
from infra.nodes import declare_nodes
from infra.providers import declare_providers
from infra.stack_loader import LoadedStack, load_stack


def read_pulumi_config() -> dict[str, Any]:
    config = pulumi.Config(PROJECT)
    raw = {key: config.get_object(key) for key in CONFIG_KEYS}
    return {key: value for key, value in raw.items() if value is not None}


def declare_stack(stack: LoadedStack) -> None:
    providers = declare_providers(stack.config, stack.secrets)
    model = build_stack_model(stack.config)
    # --- Host auth keys: stand-in until the tailnet component lands (use tailnet.host_keys). ---
    host_keys: dict[str, pulumi.Output[str]] = {
        host.name: pulumi.Output.secret(
            tailscale.TailnetKey(
                f"{host.name}-host-key",
                reusable=False,
                ephemeral=False,
                preauthorized=True,
                tags=[host.tag],
                expiry=stack.config.keys.host_key_expiry_days * 86_400,
                description=f"relaymd host {host.name}"[:50],
                opts=pulumi.ResourceOptions(provider=providers.tailscale),
            ).key
        )
        for host in model.hosts
    }
    # --- end of stand-in ---
    declare_nodes(model, stack.secrets, providers, host_keys)
    pulumi.export("RELAYMD_ORCHESTRATOR_URL", stack.config.orchestrator_url)


def main() -> None:
    stack_name = pulumi.get_stack()
    try:
        stack = load_stack(stack_name, read_pulumi_config(), source=f"Pulumi.{stack_name}.yaml")
    except ConfigError as error:
        # RunError prints the message without a traceback; nothing has been declared yet.
        raise pulumi.RunError(str(error)) from None
    declare_stack(stack)
