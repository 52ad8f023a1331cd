"""The pure core: one stack config in, every derived decision out. No Pulumi, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from infra.config import StackConfig
from infra.hosts import HostSpec, host_specs
from infra.infisical.catalog import catalog_document


@dataclass(frozen=True)
class StackModel:
    config: StackConfig
    secret_catalog: dict[str, Any]
    hosts: tuple[HostSpec, ...]


def build_stack_model(config: StackConfig) -> StackModel:
    return StackModel(
        config=config,
        secret_catalog=catalog_document(config.infisical.environment, config.infisical.secret_path),
        hosts=host_specs(config),
    )
