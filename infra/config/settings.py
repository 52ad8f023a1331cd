"""StackConfig: the one typed description of a stack, validated once at the edge.

Non-secret settings come from the stack's Pulumi config (``Pulumi.<stack>.yaml``,
namespace ``relaymd-infra``); secret values come from the stack's SOPS file and are
modelled separately in :mod:`infra.config.secrets`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from infra.ground.fields import (
    AbsolutePath,
    AdvertisedRoute,
    ContainerImage,
    DatastoreId,
    DnsLabel,
    DnsName,
    HostPort,
    HttpsUrl,
    Ipv4Address,
    Ipv4Interface,
    NixosHardwareFile,
    NixosRelease,
    PlainText,
    ProxmoxName,
    SecretPath,
    Slug,
    SshHostKey,
    SshPublicKey,
    SshTarget,
    Tag,
    TagOwner,
    WholeNumber,
)
from infra.ground.relaymd import (
    DEFAULT_STORAGE_PROVIDER,
    ORCHESTRATOR_PORT,
    RELAYMD_ENVIRONMENT,
    RELAYMD_PROJECT_ID,
    RELAYMD_SECRET_PATH,
    RELAYMD_SITE_URL,
    StorageProvider,
)

RELAY_MIN_MEMORY_MB = 1536

Port = Annotated[WholeNumber, Field(ge=1, le=65535)]
BootDiskInterface = Literal["scsi0", "virtio0", "sata0"]
"""Proxmox disk interfaces whose guest device name is fixed (see proxmox.vm_spec)."""
VlanId = Annotated[WholeNumber, Field(ge=1, le=4094)]


class _Model(BaseModel):
    # Unknown keys are typos until proven otherwise; frozen keeps the core pure.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


class Tags(_Model):
    """ACL tags. The defaults are a contract other tools rely on; change with care."""

    orchestrator: Tag = "tag:relaymd-orchestrator"
    worker: Tag = "tag:relaymd-worker"
    relay: Tag = "tag:relaymd-relay"


class TailnetConfig(_Model):
    name: Annotated[PlainText, Field(max_length=253)]
    """Tailnet name as the API knows it (``example.org``), or ``-`` for the credential's own."""
    magic_dns_suffix: DnsName
    """MagicDNS suffix of the tailnet, e.g. ``tail1234.ts.net``."""
    admins: Annotated[list[TagOwner], Field(min_length=1)]
    """Who owns the RelayMD tags and may manage the hosts."""
    tags: Tags = Tags()
    overwrite_existing_policy: bool = False
    """Opt-in to replace a tailnet's existing non-default policy on first apply."""


class OrchestratorConfig(_Model):
    ssh_target: SshTarget
    ssh_port: Port = 22
    tailnet_hostname: DnsLabel = "relaymd-orchestrator"
    port: Port = ORCHESTRATOR_PORT
    image: ContainerImage
    data_root: AbsolutePath = "/var/lib/relaymd"
    lan_interface: DnsLabel = "eth0"
    """The LAN-facing interface, named so the firewall can keep 36158 off it."""
    storage_provider: StorageProvider = DEFAULT_STORAGE_PROVIDER
    """RelayMD's ``storage_provider`` (its settings YAML); decides which storage secrets the
    workers and the CLI require."""
    hardware_configuration: NixosHardwareFile
    """The existing host's boot loader and file systems: a file in this repo, copied verbatim
    (its own ``nixos-generate-config`` output), never invented by the renderer."""
    state_version: NixosRelease
    """The release this host was first installed with (its current ``system.stateVersion``);
    it never changes with the nixpkgs pin."""
    ssh_host_key: SshHostKey
    """The host's ED25519 public host key: every SSH connection checks it (never trust on
    first use)."""


class RelayConfig(_Model):
    name: DnsLabel
    """Stable logical name: used in resource names, never renamed in place."""
    proxmox_node: ProxmoxName
    template_id: Annotated[WholeNumber, Field(ge=100, le=999_999_999)] = 116
    full_clone: bool = True
    vm_id: Annotated[WholeNumber, Field(ge=100, le=999_999_999)] | None = None
    cores: Annotated[WholeNumber, Field(ge=1, le=128)] = 2
    memory_mb: Annotated[WholeNumber, Field(ge=RELAY_MIN_MEMORY_MB, le=1_048_576)] = 2048
    """At least 1536: nixos-anywhere kexecs the VM into an installer held in RAM."""
    disk_gb: Annotated[WholeNumber, Field(ge=4, le=65_536)] = 20
    boot_disk_interface: BootDiskInterface = "scsi0"
    """The template's system disk: the clone boots from it and the installer partitions it."""
    template_disk_gb: Annotated[WholeNumber, Field(ge=1, le=65_536)] | None = None
    """Size of the template's system disk, when known: disk_gb may grow it, never shrink it."""
    datastore: DatastoreId = "local-lvm"
    bridge: DnsLabel = "vmbr0"
    vlan: VlanId | None = None
    address: Ipv4Interface
    gateway: Ipv4Address
    nameservers: Annotated[list[Ipv4Address], Field(min_length=1)]
    tailnet_hostname: DnsLabel
    internal_domain: DnsName = "internal"
    advertise_routes: list[AdvertisedRoute] = []
    guest_agent: bool = False
    """Enable only when the template runs qemu-guest-agent, or creation waits for a timeout."""
    tls_passthrough_upstream: HostPort | None = None
    """host:port of an internal reverse proxy that receives TLS on 443, unterminated."""
    infisical_relay: bool = False
    """Run an Infisical Relay on this host (opens 8443 and 2222)."""
    state_version: NixosRelease | None = None
    """The release the relay was installed with; unset, the pin's release (nixos.nixpkgs_release).
    Set it to the current value before a pin bump moves to a newer release."""


class InfisicalConfig(_Model):
    """Where secrets are written. Stock RelayMD reads only its built-in coordinates."""

    site_url: HttpsUrl = RELAYMD_SITE_URL
    project_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9-]{4,64}$")] = RELAYMD_PROJECT_ID
    environment: Slug = RELAYMD_ENVIRONMENT
    secret_path: SecretPath = RELAYMD_SECRET_PATH
    custom_relaymd_build: bool = False
    """Declare that the deployed RelayMD was built with other Infisical constants; only then
    may the four coordinates differ from stock RelayMD's."""


class ProxmoxConfig(_Model):
    endpoint: HttpsUrl
    insecure: bool = False
    """Skip TLS verification: only for a self-signed endpoint you reach over a trusted link."""


class KeyLifetimes(_Model):
    worker_key_expiry_days: Annotated[WholeNumber, Field(ge=1, le=90)] = 90
    worker_key_rotation_days: Annotated[WholeNumber, Field(ge=1, le=89)] = 60
    """Mint a fresh worker key once the current one is this old (before it expires)."""
    host_key_expiry_days: Annotated[WholeNumber, Field(ge=1, le=90)] = 7


# NixOS 26.05, the newest supported release (NixOS supports each for about seven months):
# a nixos-26.05-small revision of 2026-06-14 and the NAR hash of its tree, as locked in
# NixOS/nixos-channel-scripts' flake.lock (commit 4882d9a, 2026-06-15). Bump with
# scripts/nixpkgs-pin (README, "Bumping the nixpkgs pin").
DEFAULT_NIXPKGS_RELEASE = "26.05"
DEFAULT_NIXPKGS_REVISION = "c9172fa5143fc64dc6a499f75f57def6b7e26794"
DEFAULT_NIXPKGS_SHA256 = "sha256-Qv6V770OZU6ifilw33mgwutUCWXcA4pXWonK/tdiG7o="
NIXPKGS_REPOSITORY = "https://github.com/NixOS/nixpkgs"


def nixpkgs_archive_url(revision: str) -> str:
    """GitHub's tarball of one nixpkgs revision: what a pin fetches and hashes."""
    return f"{NIXPKGS_REPOSITORY}/archive/{revision}.tar.gz"


class NixosSettings(_Model):
    """Which nixpkgs every node is built from. Pinned, so a render builds the same system later."""

    nixpkgs_release: NixosRelease = DEFAULT_NIXPKGS_RELEASE
    """The NixOS release of the pinned revision; new relays take it as their stateVersion."""
    nixpkgs_revision: Annotated[str, Field(pattern=r"^[0-9a-f]{40}$")] = DEFAULT_NIXPKGS_REVISION
    nixpkgs_sha256: Annotated[str, Field(pattern=r"^sha256-[A-Za-z0-9+/]{43}=$")] = (
        DEFAULT_NIXPKGS_SHA256
    )

    admin_ssh_keys: list[SshPublicKey] = []
    """Public keys that may log in as each host's SSH user (key only, never a password)."""

    @property
    def nixpkgs_url(self) -> str:
        return nixpkgs_archive_url(self.nixpkgs_revision)


class SopsSettings(_Model):
    file: PlainText | None = None
    """Path of the stack's SOPS file, relative to the project; default secrets/<stack>.sops.yaml."""
    age_key_file: PlainText | None = None
    """Only for the example stack's throwaway identity; real stacks use SOPS_AGE_KEY_FILE."""


class StackConfig(_Model):
    stack: DnsLabel
    tailnet: TailnetConfig
    orchestrator: OrchestratorConfig
    relays: list[RelayConfig] = []
    infisical: InfisicalConfig = InfisicalConfig()
    proxmox: ProxmoxConfig | None = None
    keys: KeyLifetimes = KeyLifetimes()
    nixos: NixosSettings = NixosSettings()
    sops: SopsSettings = SopsSettings()

    @property
    def orchestrator_url(self) -> str:
        fqdn = f"{self.orchestrator.tailnet_hostname}.{self.tailnet.magic_dns_suffix}"
        return f"http://{fqdn}:{self.orchestrator.port}"


# Top-level keys under the project namespace in Pulumi.<stack>.yaml.
CONFIG_KEYS: tuple[str, ...] = (
    "tailnet",
    "orchestrator",
    "relays",
    "infisical",
    "proxmox",
    "keys",
    "nixos",
    "sops",
)
