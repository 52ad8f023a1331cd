"""The Pulumi program: load and validate the stack, then declare its components."""

from __future__ import annotations

from typing import Any

import pulumi

from infra.config import CONFIG_KEYS, PROJECT
from infra.errors import ConfigError
from infra.providers import declare_providers
from infra.stack_loader import LoadedStack, load_stack


def read_pulumi_config() -> dict[str, Any]:
    config = pulumi.Config(PROJECT)
    raw = {key: config.get_object(key) for key in CONFIG_KEYS}
    return {key: value for key, value in raw.items() if value is not None}


def declare_stack(stack: LoadedStack) -> None:
    declare_providers(stack.config, stack.secrets)
    pulumi.export("RELAYMD_ORCHESTRATOR_URL", stack.config.orchestrator_url)


def main() -> None:
    stack_name = pulumi.get_stack()
    try:
        stack = load_stack(stack_name, read_pulumi_config(), source=f"Pulumi.{stack_name}.yaml")
    except ConfigError as error:
        # RunError prints the message without a traceback; nothing has been declared yet.
        raise pulumi.RunError(str(error)) from None
    declare_stack(stack)
