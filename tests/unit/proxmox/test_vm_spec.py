"""VmSpec: a pure function of a relay's host spec."""

from __future__ import annotations

import re

import pytest

from infra.config.hosts import INSTALLER_DISKS, host_specs
from infra.config.loading import parse_config
from infra.config.settings import RelayConfig
from infra.ground.project import PROJECT_ROOT
from infra.proxmox.vm_spec import vm_spec
from tests.support.stacks import example_raw_config


@pytest.mark.parametrize("vlan", [None, 1, 4094])
def test_vm_spec_is_a_pure_function_of_the_relay(vlan: int | None) -> None:
    raw = example_raw_config()
    raw["relays"] = [
        {
            "name": "r",
            "proxmox_node": "pve",
            "address": "192.0.2.10/28",
            "gateway": "192.0.2.1",
            "nameservers": ["192.0.2.1", "192.0.2.2"],
            "tailnet_hostname": "r-host",
            "vlan": vlan,
        }
    ]
    relay = host_specs(parse_config("staging", raw, "test"))[1]
    spec = vm_spec(relay, "Staging")
    assert spec == vm_spec(relay, "Staging")
    assert spec.nic.vlan_id == vlan
    assert spec.cloud_init.address == "192.0.2.10/28"
    assert spec.cloud_init.admin_user == relay.ssh.user == "admin"
    assert spec.tags == ("relaymd", "relaymd-relay", "staging")
    assert spec.cloud_init.nameservers == ("192.0.2.1", "192.0.2.2")
    assert spec.guest_agent is False  # documented default: the template may run no agent


def test_the_default_interface_matches_the_installers_default_disk() -> None:
    """nixos/disko.nix partitions scsi0's guest device (by its stable id) unless told otherwise."""
    disko = (PROJECT_ROOT / "nixos" / "disko.nix").read_text()
    default = re.search(r'default = "(/dev/[^"]+)";', disko)
    assert default is not None
    assert RelayConfig.model_fields["boot_disk_interface"].default == "scsi0"
    assert INSTALLER_DISKS["scsi0"] == default[1]
    interfaces = RelayConfig.model_fields["boot_disk_interface"].annotation
    assert set(getattr(interfaces, "__args__", ())) == set(INSTALLER_DISKS)
