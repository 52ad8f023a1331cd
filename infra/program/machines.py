"""Declares the machines: one RelayVm per relay, then each host's NixosHost and NixosSwitch."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pulumi

from infra.nixos.component import (
    NewMachine,
    NixosHost,
    NixosHostArgs,
    NixosSwitch,
    NixosSwitchArgs,
)
from infra.nixos.pipeline import JoinsTailnet
from infra.program.providers import Providers
from infra.proxmox.component import RelayVm, RelayVmArgs
from infra.stack.decided import DecidedHost, DecidedStack


def declare_relay_vms(stack: DecidedStack, providers: Providers) -> dict[str, RelayVm]:
    """One RelayVm per relay, keyed by its host name (the tailnet hostname)."""
    if stack.relays and providers.proxmox is None:
        raise ValueError("relays are configured but no Proxmox provider was declared")
    return {
        relay.name: RelayVm(
            relay.spec.relay.name, RelayVmArgs(spec=relay.vm, provider=providers.proxmox)
        )
        for relay in stack.relays
        if providers.proxmox is not None
    }


def new_machine(vm: RelayVm | None) -> NewMachine | None:
    if vm is None:
        return None
    return NewMachine(
        created_by=vm,
        machine=vm.vm,
        machine_id=vm.vm_id,
        deploy_private_key=vm.ssh_private_key,
        deploy_public_key=vm.ssh_public_key,
        host_private_key=vm.host_private_key,
        host_public_key=vm.host_public_key,
    )


def declare_hosts(
    stack: DecidedStack,
    host_keys: Mapping[str, pulumi.Input[str]],
    vms: Mapping[str, RelayVm],
) -> dict[str, NixosHost]:
    """NixosHost per host name: relays are installed on their VM, the orchestrator is not."""
    return {
        host.name: NixosHost(
            host.name,
            NixosHostArgs(
                pipeline=host.pipeline,
                auth_key=host_keys[host.name],
                machine=new_machine(vms.get(host.name)),
            ),
        )
        for host in stack.hosts
    }


def declare_switch(
    host: DecidedHost,
    prepared: NixosHost,
    vm: RelayVm | None,
    after: Sequence[pulumi.Resource] = (),
) -> NixosSwitch:
    return NixosSwitch(
        f"{host.name}-switch",
        NixosSwitchArgs(
            pipeline=host.pipeline, prepared=prepared, machine=new_machine(vm), after=after
        ),
    )


def joined(
    host: DecidedHost, prepared: NixosHost, switch: NixosSwitch | None
) -> list[pulumi.Resource]:
    """After these the host is on the tailnet, so a lookup can find its device."""
    if host.pipeline.joins_tailnet is JoinsTailnet.AT_INSTALL and prepared.install is not None:
        return [prepared.install]
    if switch is None:
        raise ValueError(f"{host.name} joins the tailnet at its switch: declare that first")
    return [*prepared.ready, switch.update]
