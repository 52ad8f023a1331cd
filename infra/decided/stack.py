"""The decided stack: one value holding every decision, built once by a pure function.

``decide_stack`` takes the validated config, the secrets and the repository's NixOS sources
(all read at the edge) and decides everything else: per host its spec, VM, rendered files and
pipeline; the tailnet policy and keys; the secret catalog, what is written to Infisical, and
the artifacts reviewers diff.
No Pulumi, no I/O: the components only map this value onto resources.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from infra.decided.artifacts import artifact_files
from infra.decided.hosts import HostSpec, host_specs
from infra.edge.secrets import StackSecrets
from infra.edge.settings import StackConfig
from infra.infisical.api import SecretScope
from infra.infisical.catalog import Source, catalog_document, infisical_writes
from infra.nixos.pipeline import HostPipeline, host_pipeline
from infra.nixos.sources import NixosSources
from infra.nixos.tree import host_tree, nixos_tree
from infra.proxmox.vm_spec import VmSpec, vm_spec
from infra.tailnet.model import TailnetModel, build_tailnet_model


@dataclass(frozen=True)
class DecidedHost:
    spec: HostSpec
    vm: VmSpec | None
    """Relays: the VM they run on; the orchestrator is an existing machine."""
    files: Mapping[str, str]
    """The rendered tree the host builds, relative to ``nixos/``."""
    pipeline: HostPipeline

    @property
    def name(self) -> str:
        return self.spec.name


@dataclass(frozen=True)
class DecidedStack:
    config: StackConfig
    secrets: StackSecrets
    """The providers' credentials; values stay SecretStr until a component wraps them."""
    hosts: tuple[DecidedHost, ...]
    tailnet: TailnetModel
    infisical_writes: Mapping[str, Source]
    """Every secret written to Infisical and where its value comes from."""
    artifacts: Mapping[str, str]
    """Every rendered file by its path under ``build/<stack>/``; never a secret value."""

    @property
    def relays(self) -> tuple[DecidedHost, ...]:
        return tuple(host for host in self.hosts if host.vm is not None)


def decide_stack(config: StackConfig, secrets: StackSecrets, sources: NixosSources) -> DecidedStack:
    """Raises ConfigError when a decision fails its checks: the policy's own tests, or a host
    file without a value."""
    specs = host_specs(config)
    tailnet = build_tailnet_model(config, specs)
    catalog = catalog_document(
        SecretScope.of(config.infisical), config.orchestrator.storage_provider
    )
    nixos_files = nixos_tree(config, specs, sources)
    hosts = []
    for spec in specs:
        files = host_tree(nixos_files, spec.name)
        hosts.append(
            DecidedHost(
                spec=spec,
                vm=vm_spec(spec, config.stack) if spec.relay is not None else None,
                files=MappingProxyType(files),
                pipeline=host_pipeline(spec, config.nixos, files, secrets),
            )
        )
    return DecidedStack(
        config=config,
        secrets=secrets,
        hosts=tuple(hosts),
        tailnet=tailnet,
        infisical_writes=MappingProxyType(infisical_writes(secrets.relaymd)),
        artifacts=MappingProxyType(artifact_files(catalog, tailnet.policy_text, nixos_files)),
    )
