"""RelayVm: a full clone of the NixOS cloud-init template, reachable over SSH with a deploy key.

The component only translates a :class:`VmSpec`; every decision lives in vm_spec.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_proxmoxve as proxmoxve
import pulumi_tls as tls

from infra.ground.contract import RELAY_VM_TYPE, relay_ssh_host_key_resource
from infra.proxmox.vm_spec import VmSpec

# The private half of a key in every form the provider returns.
_PRIVATE_KEY_OUTPUTS = ["privateKeyOpenssh", "privateKeyPem", "privateKeyPemPkcs8"]


@dataclass(frozen=True)
class RelayVmArgs:
    spec: VmSpec
    provider: proxmoxve.Provider


def _one_line(key: str) -> str:
    # tls ends the OpenSSH public key with a newline; cloud-init wants the bare line.
    return key.strip() if key else key


class RelayVm(pulumi.ComponentResource):
    vm: proxmoxve.VmLegacy
    vm_id: pulumi.Output[str]
    """The provider's resource id (the install trigger). Proxmox may hand a replacement the same
    id, so the install is also replaced with ``vm`` itself."""
    ssh_public_key: pulumi.Output[str]
    ssh_private_key: pulumi.Output[str]
    """Secret: the per-deployment key's private half, never written anywhere but Pulumi state."""
    host_public_key: pulumi.Output[str]
    """The relay's own SSH host key (ED25519): every connection after the install checks it."""
    host_private_key: pulumi.Output[str]
    """Secret: its private half, installed as /etc/ssh/ssh_host_ed25519_key (0600)."""

    def __init__(
        self, name: str, args: RelayVmArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(RELAY_VM_TYPE, name, None, opts)
        spec = args.spec
        deploy_key = tls.PrivateKey(
            f"{name}-deploy-key",
            algorithm="ED25519",
            opts=pulumi.ResourceOptions(
                parent=self, additional_secret_outputs=_PRIVATE_KEY_OUTPUTS
            ),
        )
        self.ssh_public_key = deploy_key.public_key_openssh.apply(_one_line)
        # The mock engine (and older state) may not flag it: wrap it ourselves.
        self.ssh_private_key = pulumi.Output.secret(deploy_key.private_key_openssh)
        self.vm = proxmoxve.VmLegacy(
            f"{name}-vm",
            node_name=spec.node_name,
            name=spec.vm_name,
            vm_id=spec.vm_id,
            description=spec.description,
            tags=list(spec.tags),
            clone=proxmoxve.VmLegacyCloneArgs(
                vm_id=spec.template_id,
                full=spec.full_clone,
                node_name=spec.node_name,
                datastore_id=spec.disk.datastore_id,
            ),
            cpu=proxmoxve.VmLegacyCpuArgs(cores=spec.cores, type=spec.cpu_type),
            memory=proxmoxve.VmLegacyMemoryArgs(dedicated=spec.memory_mb),
            disks=[
                proxmoxve.VmLegacyDiskArgs(
                    interface=spec.disk.interface,
                    datastore_id=spec.disk.datastore_id,
                    size=spec.disk.size_gb,
                    file_format=spec.disk.file_format,
                )
            ],
            network_devices=[
                proxmoxve.VmLegacyNetworkDeviceArgs(
                    bridge=spec.nic.bridge, vlan_id=spec.nic.vlan_id, model=spec.nic.model
                )
            ],
            initialization=proxmoxve.VmLegacyInitializationArgs(
                datastore_id=spec.cloud_init.datastore_id,
                ip_configs=[
                    proxmoxve.VmLegacyInitializationIpConfigArgs(
                        ipv4=proxmoxve.VmLegacyInitializationIpConfigIpv4Args(
                            address=spec.cloud_init.address, gateway=spec.cloud_init.gateway
                        )
                    )
                ],
                dns=proxmoxve.VmLegacyInitializationDnsArgs(
                    servers=list(spec.cloud_init.nameservers)
                ),
                user_account=proxmoxve.VmLegacyInitializationUserAccountArgs(
                    username=spec.cloud_init.admin_user, keys=[self.ssh_public_key]
                ),
            ),
            boot_orders=list(spec.disk.boot_order),
            agent=proxmoxve.VmLegacyAgentArgs(enabled=spec.guest_agent),
            operating_system=proxmoxve.VmLegacyOperatingSystemArgs(type=spec.operating_system),
            bios=spec.bios,
            on_boot=spec.on_boot,
            started=spec.started,
            stop_on_destroy=spec.stop_on_destroy,
            opts=pulumi.ResourceOptions(
                parent=self,
                provider=args.provider,
                # Proxmox keeps no record of the clone source: the provider cannot read
                # `clone` back, so a refresh or import would otherwise plan a replacement.
                ignore_changes=["clone"],
                delete_before_replace=spec.delete_before_replace,
            ),
        )
        self.vm_id = self.vm.id
        # Known before the machine first answers, so nothing trusts a key on first use. A new
        # machine gets a new key, like any fresh install.
        host_key = tls.PrivateKey(
            relay_ssh_host_key_resource(name),
            algorithm="ED25519",
            opts=pulumi.ResourceOptions(
                parent=self,
                additional_secret_outputs=_PRIVATE_KEY_OUTPUTS,
                replace_with=[self.vm],
            ),
        )
        self.host_public_key = host_key.public_key_openssh.apply(_one_line)
        self.host_private_key = pulumi.Output.secret(host_key.private_key_openssh)
        self.register_outputs(
            {
                "vm_id": self.vm_id,
                "ssh_public_key": self.ssh_public_key,
                "host_public_key": self.host_public_key,
            }
        )
