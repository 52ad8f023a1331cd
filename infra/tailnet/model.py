"""Everything the tailnet components declare, decided in one pure function."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from infra.config.hosts import Host, OrchestratorHost, RelayHost
from infra.config.settings import StackConfig
from infra.tailnet.dns import SplitDomain, split_domains
from infra.tailnet.evaluator import check_policy
from infra.tailnet.keys import KeySpec, WorkerKeySpec, host_key_spec, worker_key_spec
from infra.tailnet.policy import Policy, build_policy
from infra.tailnet.policy_document import render_policy


@dataclass(frozen=True)
class TailnetModel:
    policy: Policy
    policy_text: str
    """The rendered HuJSON, byte for byte what the Acl resource sends."""
    overwrite_existing_policy: bool
    worker_key: WorkerKeySpec
    host_keys: tuple[tuple[str, KeySpec], ...]
    """HostSpec.name → its key spec, in host order."""
    device_tags: tuple[tuple[str, str], ...]
    """HostSpec.name → the tag its device carries: joined with its own key, it has that tag."""
    orchestrator_host: str
    orchestrator_url: str
    split_dns: tuple[SplitDomain, ...]


def build_tailnet_model(
    config: StackConfig, orchestrator: OrchestratorHost, relays: Sequence[RelayHost]
) -> TailnetModel:
    """Raises ConfigError naming the rule when the policy fails its own tests."""
    policy = build_policy(config)
    check_policy(policy)
    hosts: tuple[Host, ...] = (orchestrator, *relays)
    return TailnetModel(
        policy=policy,
        policy_text=render_policy(policy),
        overwrite_existing_policy=config.tailnet.overwrite_existing_policy,
        worker_key=worker_key_spec(config),
        host_keys=tuple((host.name, host_key_spec(config, host)) for host in hosts),
        device_tags=tuple((host.name, host.tag) for host in hosts),
        orchestrator_host=orchestrator.name,
        orchestrator_url=config.orchestrator_url,
        split_dns=split_domains(relays),
    )
