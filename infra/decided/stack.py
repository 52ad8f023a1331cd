"""The pure core: one stack config in, every derived decision out. No Pulumi, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from infra.decided.hosts import HostSpec, host_specs
from infra.edge.settings import StackConfig
from infra.infisical.catalog import catalog_document
from infra.tailnet.model import TailnetModel, build_tailnet_model


@dataclass(frozen=True)
class StackModel:
    config: StackConfig
    secret_catalog: dict[str, Any]
    hosts: tuple[HostSpec, ...]
    tailnet: TailnetModel


def build_stack_model(config: StackConfig) -> StackModel:
    """Raises ConfigError when a derived decision fails its checks (e.g. the policy's tests)."""
    hosts = host_specs(config)
    return StackModel(
        config=config,
        secret_catalog=catalog_document(config.infisical.environment, config.infisical.secret_path),
        hosts=hosts,
        tailnet=build_tailnet_model(config, hosts),
    )
