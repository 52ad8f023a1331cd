"""VmSpec: everything a relay VM needs, decided from its RelayConfig. Pure: no Pulumi, no I/O."""

from __future__ import annotations

from dataclasses import dataclass

from infra.config.hosts import RelayHost

NIC_MODEL = "virtio"
CPU_TYPE = "host"
OPERATING_SYSTEM = "l26"
BIOS = "seabios"
"""disko lays out a BIOS boot partition and an ESP, so SeaBIOS and OVMF both boot the result."""
DISK_FORMAT = "raw"
"""What LVM-thin (and the provider's read-back) reports; declaring it avoids a perpetual diff."""


@dataclass(frozen=True)
class DiskSpec:
    interface: str
    datastore_id: str
    size_gb: int
    file_format: str

    @property
    def boot_order(self) -> tuple[str, ...]:
        # Only the system disk: no network or CD-ROM boot ahead of the installed system.
        return (self.interface,)


@dataclass(frozen=True)
class NicSpec:
    bridge: str
    vlan_id: int | None
    model: str


@dataclass(frozen=True)
class CloudInitSpec:
    datastore_id: str
    address: str
    """IPv4 interface in CIDR form, e.g. ``10.100.10.2/24``."""
    gateway: str
    nameservers: tuple[str, ...]
    admin_user: str


@dataclass(frozen=True)
class VmSpec:
    """Everything one relay VM is created with, decided from its RelayConfig."""

    vm_name: str
    node_name: str
    vm_id: int | None
    """None lets Proxmox pick the next free id."""
    template_id: int
    full_clone: bool
    cores: int
    cpu_type: str
    memory_mb: int
    disk: DiskSpec
    nic: NicSpec
    cloud_init: CloudInitSpec
    guest_agent: bool
    operating_system: str
    bios: str
    on_boot: bool
    started: bool
    stop_on_destroy: bool
    """No guest agent means a graceful shutdown can hang; destroying a relay stops it outright."""
    delete_before_replace: bool
    """A replacement keeps the static address (and any fixed vm_id): the old VM must go first,
    or the new one's install could reach the old machine at the same address."""
    tags: tuple[str, ...]
    description: str


def vm_tags(stack: str) -> tuple[str, ...]:
    # Proxmox stores tags sorted and lower-case; anything else reads back as a diff.
    return tuple(sorted({"relaymd", "relaymd-relay", stack.lower()}))


def vm_spec(host: RelayHost, stack: str) -> VmSpec:
    """The VM of a relay host; cloud-init creates the user its installs log in as."""
    relay = host.relay
    return VmSpec(
        vm_name=relay.tailnet_hostname,
        node_name=relay.proxmox_node,
        vm_id=relay.vm_id,
        template_id=relay.template_id,
        full_clone=relay.full_clone,
        cores=relay.cores,
        cpu_type=CPU_TYPE,
        memory_mb=relay.memory_mb,
        disk=DiskSpec(
            interface=relay.boot_disk_interface,
            datastore_id=relay.datastore,
            size_gb=relay.disk_gb,
            file_format=DISK_FORMAT,
        ),
        nic=NicSpec(bridge=relay.bridge, vlan_id=relay.vlan, model=NIC_MODEL),
        cloud_init=CloudInitSpec(
            datastore_id=relay.datastore,
            address=str(relay.address),
            gateway=str(relay.gateway),
            nameservers=tuple(str(server) for server in relay.nameservers),
            admin_user=host.ssh.user,
        ),
        guest_agent=relay.guest_agent,
        operating_system=OPERATING_SYSTEM,
        bios=BIOS,
        on_boot=True,
        started=True,
        stop_on_destroy=True,
        delete_before_replace=True,
        tags=vm_tags(stack),
        description=f"RelayMD relay {relay.name} (stack {stack}); managed by Pulumi, NixOS",
    )
