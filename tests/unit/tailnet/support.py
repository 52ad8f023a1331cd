"""Building tailnet test configs from the example stack."""

from __future__ import annotations

from typing import Any

from infra.config.loading import parse_config
from infra.config.settings import StackConfig
from tests.support.stacks import example_raw_config


def config_from(raw: dict[str, Any], stack: str = "example") -> StackConfig:
    return parse_config(stack, raw, "test")


def example_stack_config(**tailnet_overrides: Any) -> StackConfig:
    raw = example_raw_config()
    raw["tailnet"] = {**raw["tailnet"], **tailnet_overrides}
    return config_from(raw)
