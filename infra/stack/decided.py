"""The decided stack: one value holding every decision, built once by a pure function.

``decide_stack`` takes the validated config, the secrets and the repository's NixOS sources
(all read by infra/config) and decides everything else: per host its spec, VM, rendered files
and pipeline; the tailnet policy and keys; the secret catalog, what is written to Infisical,
and the artifacts reviewers diff.
No Pulumi, no I/O: the components only map this value onto resources.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from infra.config.hosts import Host, OrchestratorHost, RelayHost, orchestrator_host, relay_hosts
from infra.config.secrets import StackSecrets
from infra.config.settings import StackConfig
from infra.config.sources import NixosSources
from infra.ground.catalog import Source, catalog_document, infisical_writes
from infra.ground.contract import CATALOG_FILE, POLICY_FILE, json_text
from infra.nixos.pipeline import HostPipeline, host_pipeline
from infra.nixos.tree import host_tree, nixos_tree
from infra.proxmox.vm_spec import VmSpec, vm_spec
from infra.tailnet.model import TailnetModel, build_tailnet_model


@dataclass(frozen=True)
class DecidedOrchestrator:
    spec: OrchestratorHost
    files: Mapping[str, str]
    """The rendered tree the host builds, relative to ``nixos/``."""
    pipeline: HostPipeline

    @property
    def name(self) -> str:
        return self.spec.name


@dataclass(frozen=True)
class DecidedRelay:
    spec: RelayHost
    vm: VmSpec
    """The VM the relay runs on."""
    files: Mapping[str, str]
    """The rendered tree the host builds, relative to ``nixos/``."""
    pipeline: HostPipeline

    @property
    def name(self) -> str:
        return self.spec.name


DecidedHost = DecidedOrchestrator | DecidedRelay


@dataclass(frozen=True)
class DecidedStack:
    config: StackConfig
    secrets: StackSecrets
    """The providers' credentials; values stay SecretStr until a component wraps them."""
    orchestrator: DecidedOrchestrator
    relays: tuple[DecidedRelay, ...]
    tailnet: TailnetModel
    infisical_writes: Mapping[str, Source]
    """Every secret written to Infisical and where its value comes from."""
    artifacts: Mapping[str, str]
    """Every rendered file by its path under ``build/<stack>/``; never a secret value."""

    @property
    def hosts(self) -> tuple[DecidedHost, ...]:
        """The orchestrator first, then the relays in config order."""
        return (self.orchestrator, *self.relays)


def artifact_files(
    secret_catalog: Mapping[str, object], policy_text: str, nixos_files: Mapping[str, str]
) -> dict[str, str]:
    """Relative path under ``build/<stack>/`` → file content. Never holds a secret value."""
    return {
        CATALOG_FILE: json_text(secret_catalog),
        POLICY_FILE: policy_text,
        **nixos_files,
    }


def decide_stack(config: StackConfig, secrets: StackSecrets, sources: NixosSources) -> DecidedStack:
    """Raises ConfigError when a decision fails its checks: the policy's own tests."""
    orchestrator, relays = orchestrator_host(config), relay_hosts(config)
    tailnet = build_tailnet_model(config, orchestrator, relays)
    infisical = config.infisical
    catalog = catalog_document(
        infisical.project_id,
        infisical.environment,
        infisical.secret_path,
        config.orchestrator.storage_provider,
    )
    nixos_files = nixos_tree(config, (orchestrator, *relays), sources)

    def files_and_pipeline(host: Host) -> tuple[Mapping[str, str], HostPipeline]:
        files = host_tree(nixos_files, host.name)
        return MappingProxyType(files), host_pipeline(host, config.nixos, files, secrets)

    return DecidedStack(
        config=config,
        secrets=secrets,
        orchestrator=DecidedOrchestrator(orchestrator, *files_and_pipeline(orchestrator)),
        relays=tuple(
            DecidedRelay(relay, vm_spec(relay, config.stack), *files_and_pipeline(relay))
            for relay in relays
        ),
        tailnet=tailnet,
        infisical_writes=MappingProxyType(infisical_writes(secrets.relaymd)),
        artifacts=MappingProxyType(artifact_files(catalog, tailnet.policy_text, nixos_files)),
    )
