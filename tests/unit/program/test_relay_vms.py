"""The program's relay VMs under the mock engine: every input, the deploy key, several relays."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from infra.ground.contract import ENV_SSH_HOST_KEY
from infra.plan.document import plan_json
from infra.plan.mocks import RecordedResource
from tests.support.deployments import (
    DEPLOY_PRIVATE_CANARY,
    DEPLOY_PUBLIC_KEY,
    PRIVATE_KEY,
    SSH_HOST_PRIVATE_CANARY,
    SSH_HOST_PUBLIC_KEY,
    VM,
    commands,
    deploy,
    plain_strings,
    unwrap,
    with_second_relay,
)
from tests.support.stacks import stack_with_secrets

EXAMPLE_VM_INPUTS = {
    "nodeName": "proxmox",
    "name": "relaymd-relay",
    "description": "RelayMD relay relay-1 (stack example); managed by Pulumi, NixOS",
    "tags": ["example", "relaymd", "relaymd-relay"],
    "clone": {"vmId": 116, "full": True, "nodeName": "proxmox", "datastoreId": "local-lvm"},
    "cpu": {"cores": 2, "type": "host"},
    "memory": {"dedicated": 2048},
    "disks": [{"interface": "scsi0", "datastoreId": "local-lvm", "size": 20, "fileFormat": "raw"}],
    "networkDevices": [{"bridge": "vmbr0", "vlanId": 100, "model": "virtio"}],
    "initialization": {
        "datastoreId": "local-lvm",
        "ipConfigs": [{"ipv4": {"address": "10.100.10.2/24", "gateway": "10.100.10.1"}}],
        "dns": {"servers": ["10.100.10.1"]},
        "userAccount": {"username": "admin", "keys": [DEPLOY_PUBLIC_KEY]},
    },
    "bootOrders": ["scsi0"],
    "agent": {"enabled": False},
    "operatingSystem": {"type": "l26"},
    "bios": "seabios",
    "onBoot": True,
    "started": True,
    "stopOnDestroy": True,
}


def test_example_vm_inputs_are_exactly_the_clone_the_relay_needs(
    example_config: dict[str, Any],
) -> None:
    deployment = deploy(example_config)
    [vm] = deployment.by_type(VM)
    assert vm.name == "relay-1-vm"
    assert vm.parent_urn is not None and vm.parent_urn.endswith("::relay-1")
    # The wire format turns numbers into floats; == compares 116 and 116.0 equal.
    assert unwrap(vm.inputs) == EXAMPLE_VM_INPUTS


def guest_agent_on(raw: dict[str, Any]) -> None:
    raw["relays"][0]["guest_agent"] = True


@pytest.mark.parametrize(
    ("change", "declared", "expected"),
    [
        pytest.param(
            lambda raw: None,
            lambda vm: vm.ignore_changes,
            ("clone",),
            id="only the clone source is ignored on refresh",
        ),
        # Create-before-delete would run two machines on 10.100.10.2 while the new one installs.
        pytest.param(
            lambda raw: None,
            lambda vm: vm.delete_before_replace,
            True,
            id="a replaced vm is deleted before its successor takes the same address",
        ),
        pytest.param(
            guest_agent_on,
            lambda vm: vm.inputs["agent"],
            {"enabled": True},
            id="guest agent follows the config flag",
        ),
    ],
)
def test_the_relay_vm_declares(
    example_config: dict[str, Any],
    change: Callable[[dict[str, Any]], None],
    declared: Callable[[RecordedResource], object],
    expected: object,
) -> None:
    change(example_config)
    [vm] = deploy(example_config).by_type(VM)
    assert declared(vm) == expected
    assert type(declared(vm)) is type(expected)


def test_a_replaced_vm_gets_a_fresh_single_use_host_key(example_config: dict[str, Any]) -> None:
    """The first install spent the old key: a reinstalled relay could not join with it."""
    deployment = deploy(example_config)
    [vm] = deployment.by_type(VM)
    keys = {key.name: key for key in deployment.by_type("tailscale:index/tailnetKey:TailnetKey")}
    assert keys["host-key-relaymd-relay"].replace_with == (vm.urn,)
    # The orchestrator is an existing machine; the worker key rotates on its own clock.
    assert keys["host-key-relaymd-orchestrator"].replace_with == ()
    assert keys["worker-key"].replace_with == ()


def test_deploy_and_host_keys_are_ed25519_and_their_private_halves_never_reach_the_vm_or_plan(
    example_config: dict[str, Any],
) -> None:
    deployment = deploy(example_config)
    keys = {key.name: key for key in deployment.by_type(PRIVATE_KEY)}
    assert sorted(keys) == ["relay-1-deploy-key", "relay-1-host-key"]
    for key in keys.values():
        assert key.inputs == {"algorithm": "ED25519"}
        assert key.parent_urn is not None and key.parent_urn.endswith("::relay-1")
    [vm] = deployment.by_type(VM)
    for private in (DEPLOY_PRIVATE_CANARY, SSH_HOST_PRIVATE_CANARY):
        assert not any(private in text for text in plain_strings(vm.inputs))
        assert private not in str(unwrap(vm.inputs))
        assert private not in plan_json(deployment)


def test_every_command_checks_the_host_key_it_knows_beforehand(
    example_config: dict[str, Any],
) -> None:
    deployment = deploy(example_config)
    relay_commands = commands(deployment, "relaymd-relay")
    assert sorted(relay_commands) == ["install", "secrets", "update"]
    for command in relay_commands.values():
        assert command.inputs["environment"][ENV_SSH_HOST_KEY] == SSH_HOST_PUBLIC_KEY
    configured = example_config["orchestrator"]["ssh_host_key"]
    for command in commands(deployment, "relaymd-orchestrator").values():
        assert command.inputs["environment"][ENV_SSH_HOST_KEY] == configured


def test_several_relays_get_their_own_vm_and_key(
    tmp_path: Path, canary_document: dict[str, Any], example_config: dict[str, Any]
) -> None:
    canary_document["relays"] = {"relay-2": {"infisical_relay_token": "CANARY-relay-2-token"}}
    raw = stack_with_secrets(tmp_path, canary_document, with_second_relay(example_config))
    deployment = deploy(raw)
    vms = {vm.name: unwrap(vm.inputs) for vm in deployment.by_type(VM)}
    assert sorted(vms) == ["relay-1-vm", "relay-2-vm"]
    assert sorted(k.name for k in deployment.by_type(PRIVATE_KEY)) == [
        "relay-1-deploy-key",
        "relay-1-host-key",
        "relay-2-deploy-key",
        "relay-2-host-key",
    ]
    second = vms["relay-2-vm"]
    assert second["nodeName"] == "proxmox-b"
    assert second["vmId"] == 4242
    assert second["clone"]["nodeName"] == "proxmox-b"
    assert second["cpu"] == {"cores": 4, "type": "host"}
    assert second["memory"] == {"dedicated": 4096}
    assert second["disks"][0]["size"] == 32
    assert second["networkDevices"] == [{"bridge": "vmbr0", "model": "virtio"}]
    assert second["initialization"]["ipConfigs"][0]["ipv4"]["address"] == "10.100.10.3/24"
    assert "vmId" not in vms["relay-1-vm"]


@pytest.mark.parametrize(("interface", "device"), [("virtio0", "/dev/vda"), ("sata0", "/dev/sda")])
def test_the_boot_disk_interface_is_the_disk_booted_and_the_disk_installed(
    example_config: dict[str, Any], interface: str, device: str
) -> None:
    """Cloning onto an interface the template lacks adds an empty disk the VM never boots."""
    from infra.config.hosts import relay_hosts
    from infra.nixos.host_values import host_values
    from tests.unit.tailnet.support import config_from

    example_config["relays"][0]["boot_disk_interface"] = interface
    [vm] = deploy(example_config).by_type(VM)
    assert vm.inputs["disks"][0]["interface"] == interface
    assert vm.inputs["bootOrders"] == [interface]
    config = config_from(example_config)
    relay = relay_hosts(config)[0]
    assert host_values(config, relay)["disk"] == {"device": device}
