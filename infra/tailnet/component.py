"""The tailnet's own resources: policy, auth keys and MagicDNS. Decisions live in the model."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_tailscale as tailscale
import pulumiverse_time as time

from infra.ground.contract import MAGIC_DNS_RESOURCE, TAILNET_TYPE
from infra.tailnet.keys import KeySpec
from infra.tailnet.model import TailnetModel


@dataclass(frozen=True)
class TailnetArgs:
    model: TailnetModel
    provider: tailscale.Provider
    host_machines: Mapping[str, Sequence[pulumi.Resource]] = field(default_factory=dict)
    """HostSpec.name → the machine its key joins; replacing the machine replaces the key."""


class Tailnet(pulumi.ComponentResource):
    worker_key: pulumi.Output[str]
    """Secret. Reusable, ephemeral, worker-tagged; replaced on the rotation period."""
    host_keys: dict[str, pulumi.Output[str]]
    """Secret. HostSpec.name → that host's single-use key."""
    orchestrator_url: pulumi.Output[str]

    def __init__(
        self, name: str, args: TailnetArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TAILNET_TYPE, name, None, opts)
        model = args.model
        child = pulumi.ResourceOptions(parent=self, provider=args.provider)

        self.acl = tailscale.Acl(
            "policy",
            acl=model.policy_text,
            # Without the opt-in, creation fails on a tailnet whose policy is not the
            # default (HTTP 412) instead of silently replacing it: import it first.
            overwrite_existing_content=model.overwrite_existing_policy,
            # Destroying the stack must not reset the tailnet to the allow-all default.
            reset_acl_on_destroy=False,
            opts=child,
        )
        # Deleting DnsPreferences writes empty preferences, turning MagicDNS off for the
        # whole tailnet (terraform-provider-tailscale v0.29.2, resource_dns_preferences.go):
        # destroying this stack must leave it on.
        self.magic_dns = tailscale.DnsPreferences(
            MAGIC_DNS_RESOURCE,
            magic_dns=True,
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(retain_on_delete=True)),
        )
        # Keys can only carry tags the policy already declares in tagOwners.
        after_policy = pulumi.ResourceOptions.merge(
            child, pulumi.ResourceOptions(depends_on=[self.acl])
        )

        spec = model.worker_key
        # The rotation time lives in the engine's state, not in the program, so plans
        # stay identical day to day; once it has passed (seen on `pulumi up --refresh`)
        # the Rotating resource is replaced, its timestamp changes and so does the key.
        self.worker_key_rotation = time.Rotating(
            "worker-key-rotation",
            rotation_days=spec.rotation_days,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.worker_key_resource = _tailnet_key(
            spec,
            pulumi.ResourceOptions.merge(
                after_policy,
                pulumi.ResourceOptions(
                    replacement_trigger=self.worker_key_rotation.rfc3339,
                    # Deleting a key revokes it (resource_tailnet_key.go, Keys().Delete). A
                    # rotation must not revoke the old key in the same run: workers starting
                    # before the new key reaches them still join, and it lapses on its own.
                    retain_on_delete=True,
                ),
            ),
        )
        # The engine marks `key` secret only for real providers; wrap it so it stays
        # secret everywhere (including under the mock engine).
        self.worker_key = pulumi.Output.secret(self.worker_key_resource.key)

        self.host_key_resources = {
            host: _tailnet_key(
                host_spec,
                pulumi.ResourceOptions.merge(
                    after_policy,
                    # A single-use key is spent once its machine joined; a replacement
                    # machine (a reinstalled relay) must get a fresh one.
                    pulumi.ResourceOptions(replace_with=list(args.host_machines.get(host, ())))
                    if host in args.host_machines
                    else None,
                ),
            )
            for host, host_spec in model.host_keys
        }
        self.host_keys = {
            host: pulumi.Output.secret(key.key) for host, key in self.host_key_resources.items()
        }
        self.orchestrator_url = pulumi.Output.from_input(model.orchestrator_url)

        self.register_outputs(
            {
                "worker_key": self.worker_key,
                "host_keys": self.host_keys,
                "orchestrator_url": self.orchestrator_url,
            }
        )


def _tailnet_key(spec: KeySpec, opts: pulumi.ResourceOptions) -> tailscale.TailnetKey:
    return tailscale.TailnetKey(
        spec.resource_name,
        description=spec.description,
        tags=list(spec.tags),
        reusable=spec.reusable,
        ephemeral=spec.ephemeral,
        preauthorized=spec.preauthorized,
        expiry=spec.expiry_seconds,
        recreate_if_invalid=spec.recreate_if_invalid,
        opts=pulumi.ResourceOptions.merge(
            opts, pulumi.ResourceOptions(additional_secret_outputs=["key"])
        ),
    )
