"""RelayVm given one VmSpec, declared alone under the mock engine."""

from __future__ import annotations

import dataclasses
from typing import Any

import pulumi_proxmoxve as proxmoxve

from infra.plan.engine import run_declarations
from infra.proxmox.component import RelayVm, RelayVmArgs
from tests.support.decided import decided_of
from tests.support.deployments import PRIVATE_KEY, VM


def test_the_vm_carries_exactly_its_spec(example_config: dict[str, Any]) -> None:
    relay = decided_of(example_config).relays[0]
    assert relay.vm is not None
    spec = dataclasses.replace(relay.vm, cores=7, vm_id=4321)

    def declare() -> None:
        provider = proxmoxve.Provider("proxmox", endpoint="https://pve.invalid:8006")
        RelayVm("relay-x", RelayVmArgs(spec=spec, provider=provider))

    deployment = run_declarations("example", declare, preview=True)
    [vm] = deployment.by_type(VM)
    assert vm.name == "relay-x-vm"
    assert vm.inputs["cpu"] == {"cores": 7, "type": spec.cpu_type}
    assert vm.inputs["vmId"] == 4321
    assert vm.inputs["initialization"]["ipConfigs"][0]["ipv4"] == {
        "address": spec.cloud_init.address,
        "gateway": spec.cloud_init.gateway,
    }
    assert vm.delete_before_replace is spec.delete_before_replace
    keys = {key.name: key for key in deployment.by_type(PRIVATE_KEY)}
    assert sorted(keys) == ["relay-x-deploy-key", "relay-x-host-key"]
    assert all(key.inputs["algorithm"] == "ED25519" for key in keys.values())
    # A new machine, a new host key: it is replaced with the VM.
    host_key = keys["relay-x-host-key"]
    assert host_key.replace_with and host_key.replace_with[0] == vm.urn
    assert vm.parent_urn is not None and vm.parent_urn.endswith("::relay-x")
