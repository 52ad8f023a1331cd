"""Declares the machines: one RelayVm per relay, one NixosHost per host spec, in order."""

from __future__ import annotations

from collections.abc import Mapping

import pulumi

from infra.decided.artifacts import render_artifacts
from infra.decided.hosts import HostSpec, SecretSource
from infra.decided.stack import StackModel
from infra.deploy.providers import Providers
from infra.edge.secrets import StackSecrets
from infra.nixos.component import NixosHost, NixosHostArgs
from infra.nixos.pipeline import host_tree
from infra.proxmox.component import RelayVm, RelayVmArgs
from infra.proxmox.vm_spec import vm_spec


def _host_secrets(
    host: HostSpec, secrets: StackSecrets, host_keys: Mapping[str, pulumi.Input[str]]
) -> dict[SecretSource, pulumi.Input[str]]:
    values: dict[SecretSource, pulumi.Input[str]] = {}
    for secret_file in host.secret_files:
        source = secret_file.source
        if source is SecretSource.TAILSCALE_HOST_KEY:
            values[source] = pulumi.Output.secret(host_keys[host.name])
        elif source is SecretSource.ORCHESTRATOR_INFISICAL_TOKEN:
            token = secrets.orchestrator.infisical_token.get_secret_value()
            values[source] = pulumi.Output.secret(token)
        elif source is SecretSource.INFISICAL_RELAY_TOKEN and host.relay is not None:
            relay_token = secrets.relay(host.relay.name).infisical_relay_token
            if relay_token is not None:  # parse_secrets already requires it for such relays
                values[source] = pulumi.Output.secret(relay_token.get_secret_value())
    return values


def declare_relay_vms(model: StackModel, providers: Providers) -> dict[str, RelayVm]:
    """One RelayVm per relay, keyed by its host name (HostSpec.name)."""
    vms: dict[str, RelayVm] = {}
    for host in model.hosts:
        if host.relay is None:
            continue
        if providers.proxmox is None:
            raise ValueError("relays are configured but no Proxmox provider was declared")
        spec = vm_spec(host.relay, model.config.stack)
        vms[host.name] = RelayVm(
            host.relay.name, RelayVmArgs(spec=spec, provider=providers.proxmox)
        )
    return vms


def declare_nodes(
    model: StackModel,
    secrets: StackSecrets,
    host_keys: Mapping[str, pulumi.Input[str]],
    vms: Mapping[str, RelayVm],
) -> dict[str, NixosHost]:
    """NixosHost per host name: relays are installed on their VM, the orchestrator is not."""
    config = model.config
    artifacts = render_artifacts(model)
    host_names = [host.name for host in model.hosts]
    nodes: dict[str, NixosHost] = {}
    for host in model.hosts:
        tree = host_tree(artifacts, host.name, host_names)
        host_secrets = _host_secrets(host, secrets, host_keys)
        vm = vms.get(host.name)
        if vm is None:
            args = NixosHostArgs(host=host, nixos=config.nixos, files=tree, secrets=host_secrets)
        else:
            args = NixosHostArgs(
                host=host,
                nixos=config.nixos,
                files=tree,
                secrets=host_secrets,
                machine_id=vm.vm_id,
                ssh_private_key=vm.ssh_private_key,
                deploy_public_key=vm.ssh_public_key,
                after=[vm],
                machine=[vm.vm],
            )
        nodes[host.name] = NixosHost(host.name, args)
    return nodes
