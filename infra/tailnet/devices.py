"""What needs joined devices: split DNS to each relay, and the orchestrator's key expiry.

Device lookups wait for the host's auth key and for ``host_ready``: the resources
after which a host has joined the tailnet (its install and key delivery). Until
then a lookup would find nothing; in a preview it stays "known after apply".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_tailscale as tailscale

from infra.ground.contract import TAILNET_DEVICES_TYPE
from infra.tailnet.component import Tailnet
from infra.tailnet.device_choice import SeenDevice, host_device, seen_device
from infra.tailnet.dns import tailnet_ipv4
from infra.tailnet.model import TailnetModel

DEVICE_WAIT = "300s"
"""How long the provider retries a device lookup: a freshly installed host may lag."""


@dataclass(frozen=True)
class TailnetDevicesArgs:
    model: TailnetModel
    provider: tailscale.Provider
    tailnet: Tailnet
    """Its host keys come first: no device joins before its key exists."""
    host_ready: Mapping[str, Sequence[pulumi.Resource]]
    """HostSpec.name → resources after which that host has joined the tailnet."""


class TailnetDevices(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: TailnetDevicesArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TAILNET_DEVICES_TYPE, name, None, opts)
        model = args.model
        child = pulumi.ResourceOptions(parent=self, provider=args.provider)

        host_tags = dict(model.device_tags)

        def device(host: str) -> pulumi.Output[SeenDevice]:
            # The single lookup only waits (it retries until a device of that name exists);
            # the list then picks the newest one with the host's tag.
            joined = tailscale.get_device_output(
                hostname=host,
                wait_for=DEVICE_WAIT,
                opts=pulumi.InvokeOutputOptions(
                    parent=self,
                    provider=args.provider,
                    depends_on=[
                        args.tailnet.host_key_resources[host],
                        *args.host_ready.get(host, ()),
                    ],
                ),
            )
            return joined.apply(lambda _: newest(host, host_tags[host]))

        def newest(host: str, tag: str) -> pulumi.Output[SeenDevice]:
            listed = tailscale.get_devices_output(
                filters=[
                    tailscale.GetDevicesFilterArgs(name="tags", values=[tag]),
                    tailscale.GetDevicesFilterArgs(name="hostname", values=[host]),
                ],
                opts=pulumi.InvokeOutputOptions(parent=self, provider=args.provider),
            )
            return listed.apply(
                lambda result: host_device(host, tag, map(seen_device, result.devices or ()))
            )

        def ipv4(host: str) -> pulumi.Output[str]:
            return device(host).apply(lambda found: tailnet_ipv4(host, found.addresses))

        self._resolvers = {split.domain: tuple(split.resolvers) for split in model.split_dns}
        self.split_dns = {
            split.domain: tailscale.DnsSplitNameservers(
                split.resource_name,
                domain=split.domain,
                nameservers=pulumi.Output.all(*[ipv4(host) for host in split.resolvers]),
                opts=child,
            )
            for split in model.split_dns
        }
        # Tagged devices already have key expiry off; declaring it keeps the
        # orchestrator's MagicDNS name (in every worker's URL) from ever lapsing.
        self.orchestrator_key = tailscale.DeviceKey(
            "orchestrator-device-key",
            device_id=device(model.orchestrator_host).apply(lambda found: found.node_id),
            key_expiry_disabled=True,
            opts=child,
        )
        self.register_outputs({"split_dns_domains": sorted(self.split_dns)})

    def dns_served_by(self, host: str) -> list[pulumi.Resource]:
        """The split-DNS entries that point at ``host``: they looked up its device."""
        return [
            self.split_dns[domain]
            for domain, resolvers in sorted(self._resolvers.items())
            if host in resolvers
        ]
