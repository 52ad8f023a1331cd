"""StackConfig: the one typed description of a stack, validated once at the edge.

Non-secret settings come from the stack's Pulumi config (``Pulumi.<stack>.yaml``,
namespace ``relaymd-infra``); secret values come from the stack's SOPS file and are
modelled separately in :mod:`infra.config.secrets`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from infra.config.pin import committed_pin
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
    Uuid,
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
    # Unknown keys are typos until proven otherwise; frozen keeps the core pure. Each field's
    # docstring is read by infra/config/reference.py, not by pydantic: its
    # use_attribute_docstrings re-reads the source of every model at each import (~0.1 s).
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


class Tags(_Model):
    """ACL tags. The defaults are a contract other tools rely on; change with care. Each role
    needs its own tag, and no tag may appear in `tailnet.admins`."""

    orchestrator: Tag = "tag:relaymd-orchestrator"
    """The orchestrator's tag: workers may reach it on `orchestrator.port` only."""
    worker: Tag = "tag:relaymd-worker"
    """The workers' tag, carried by the worker auth key: nothing may reach a worker."""
    relay: Tag = "tag:relaymd-relay"
    """The relays' tag: admins reach them over SSH and DNS; relays advertise routes."""


class TailnetConfig(_Model):
    """The tailnet: its policy (deny by default, with its own tests), keys and DNS."""

    name: Annotated[PlainText, Field(max_length=253)]
    """Tailnet name as the API knows it (``example.org``), or ``-`` for the credential's own."""
    magic_dns_suffix: DnsName
    """MagicDNS suffix of the tailnet, e.g. ``tail1234.ts.net``."""
    admins: Annotated[list[TagOwner], Field(min_length=1)]
    """Who owns the RelayMD tags and may manage the hosts: SSH, the orchestrator's API, the
    relays' DNS and advertised routes. The policy declares no groups or other tags."""
    tags: Tags = Tags()
    overwrite_existing_policy: bool = False
    """Opt-in to replace a tailnet's existing non-default policy on first apply; set it back
    to false afterwards (docs/operating.md, "An existing policy")."""


class OrchestratorConfig(_Model):
    """The existing orchestrator host: already running NixOS, reached over SSH."""

    ssh_target: SshTarget
    """``user@host`` of the existing orchestrator host; the user must already be a Nix
    ``trusted-user`` there (or use ``root@``) for the first update."""
    ssh_port: Port = 22
    """The port its sshd listens on."""
    tailnet_hostname: DnsLabel = "relaymd-orchestrator"
    """Its tailnet name: part of every worker's URL, so it must stay stable, and differ from
    every relay's."""
    port: Port = ORCHESTRATOR_PORT
    """RelayMD's API port; must differ from ``ssh_port``."""
    image: ContainerImage
    """The RelayMD orchestrator's OCI image, pinned: RelayMD publishes ``sha-<short commit>``
    tags, no version tags."""
    data_root: AbsolutePath = "/var/lib/relaymd"
    """Where RelayMD keeps its data on the host."""
    lan_interface: DnsLabel = "eth0"
    """The LAN-facing interface, named so the firewall can keep 36158 off it."""
    storage_provider: StorageProvider = DEFAULT_STORAGE_PROVIDER
    """RelayMD's ``storage_provider`` (its settings YAML); decides which storage secrets the
    workers and the CLI require."""
    hardware_configuration: NixosHardwareFile
    """The existing host's boot loader and file systems: a file in this repo, copied verbatim
    (its own ``nixos-generate-config`` output plus its ``boot.loader`` lines; see
    nixos/hardware/README.md), never invented by the renderer."""
    state_version: NixosRelease
    """The release this host was first installed with (its current ``system.stateVersion``);
    it never changes with the nixpkgs pin and may not be newer than ``nixos.nixpkgs_release``."""
    ssh_host_key: SshHostKey
    """The host's ED25519 public host key: every SSH connection checks it (never trust on
    first use)."""


class RelayConfig(_Model):
    """One relay: a Proxmox VM cloned from a NixOS cloud-init template and installed with
    NixOS. Names, addresses, VM ids and tailnet hostnames are unique across relays."""

    name: DnsLabel
    """Stable logical name: used in resource names, never renamed in place."""
    proxmox_node: ProxmoxName
    """The Proxmox node the VM runs on."""
    template_id: Annotated[WholeNumber, Field(ge=100, le=999_999_999)] = 116
    """The VM id of the NixOS cloud-init template to clone; a change is applied by replacing
    the VM (``pulumi up --replace``)."""
    full_clone: bool = True
    """Clone the template fully (not a linked clone)."""
    vm_id: Annotated[WholeNumber, Field(ge=100, le=999_999_999)] | None = None
    """The VM's id; unset, Proxmox picks the next free one."""
    cores: Annotated[WholeNumber, Field(ge=1, le=128)] = 2
    """CPU cores of the VM."""
    memory_mb: Annotated[WholeNumber, Field(ge=RELAY_MIN_MEMORY_MB, le=1_048_576)] = 2048
    """At least 1536: nixos-anywhere kexecs the VM into an installer held in RAM."""
    disk_gb: Annotated[WholeNumber, Field(ge=4, le=65_536)] = 20
    """Size of the VM's system disk; at least ``template_disk_gb`` when that is set."""
    boot_disk_interface: BootDiskInterface = "scsi0"
    """The template's system disk: the clone boots from it and the installer partitions it."""
    template_disk_gb: Annotated[WholeNumber, Field(ge=1, le=65_536)] | None = None
    """Size of the template's system disk, when known: disk_gb may grow it, never shrink it."""
    datastore: DatastoreId = "local-lvm"
    """The Proxmox datastore holding the VM's disk."""
    bridge: DnsLabel = "vmbr0"
    """The Proxmox bridge of the VM's one virtio NIC."""
    vlan: VlanId | None = None
    """The NIC's VLAN tag; unset, untagged."""
    address: Ipv4Interface
    """The relay's static LAN address with prefix length (cloud-init), e.g. 10.100.10.2/24."""
    gateway: Ipv4Address
    """The LAN gateway: inside the address's subnet, not the relay's own address."""
    nameservers: Annotated[list[Ipv4Address], Field(min_length=1)]
    """The LAN resolvers the relay uses."""
    tailnet_hostname: DnsLabel
    """The relay's tailnet name; differs from every other host's, and is not ``modules``."""
    internal_domain: DnsName = "internal"
    """The domain split DNS sends to this relay's dnsmasq."""
    advertise_routes: list[AdvertisedRoute] = []
    """Internal subnets the relay advertises to the tailnet (reachable by admins only)."""
    guest_agent: bool = False
    """Enable only when the template runs qemu-guest-agent, or creation waits for a timeout."""
    tls_passthrough_upstream: HostPort | None = None
    """host:port of an internal reverse proxy that receives TLS on 443, unterminated."""
    infisical_relay: bool = False
    """Run an Infisical Relay on this host (opens 8443 and 2222); the SOPS file then holds its
    enrollment token, and the pin's ``infisical`` CLI must be at least 0.43.114."""
    state_version: NixosRelease | None = None
    """The release the relay was installed with; unset, the pin's release (nixos.nixpkgs_release).
    Set it to the current value before a pin bump moves to a newer release."""


class InfisicalConfig(_Model):
    """Where secrets are written. Stock RelayMD reads only its built-in coordinates (the
    defaults): other values are refused unless ``custom_relaymd_build`` is true."""

    site_url: HttpsUrl = RELAYMD_SITE_URL
    """The Infisical instance."""
    project_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9-]{4,64}$")] = RELAYMD_PROJECT_ID
    """The Infisical project RelayMD reads."""
    environment: Slug = RELAYMD_ENVIRONMENT
    """The project's environment RelayMD reads."""
    secret_path: SecretPath = RELAYMD_SECRET_PATH
    """The folder RelayMD reads; created when missing."""
    custom_relaymd_build: bool = False
    """Declare that the deployed RelayMD was built with other Infisical constants; only then
    may the four coordinates differ from stock RelayMD's."""
    deploy_identity_id: Uuid | None = None
    """ID of the identity whose client id/secret the SOPS file's ``infisical`` holds (Access
    Control > Identities > the identity). Only ``credential-watch`` reads it: Infisical lists an
    identity's client secrets by this ID, and no answer maps a client ID back to it."""
    orchestrator_identity_id: Uuid | None = None
    """ID of the identity whose client id/secret ``orchestrator.infisical_token`` holds (the
    one RelayMD reads with). Only ``credential-watch`` reads it, for the same reason."""


class ProxmoxConfig(_Model):
    """The Proxmox VE API the relay VMs are created through."""

    endpoint: HttpsUrl
    """The API's URL, e.g. https://proxmox.lan:8006."""
    insecure: bool = False
    """Skip TLS verification: only for a self-signed endpoint you reach over a trusted link."""


class KeyLifetimes(_Model):
    """Tailscale auth keys: the rotating worker key and the single-use host keys."""

    worker_key_expiry_days: Annotated[WholeNumber, Field(ge=1, le=90)] = 90
    """How long a worker key stays valid (Tailscale allows at most 90 days)."""
    worker_key_rotation_days: Annotated[WholeNumber, Field(ge=1, le=89)] = 60
    """Mint a fresh worker key once the current one is this old; fewer days than
    ``worker_key_expiry_days``, so it is replaced before it expires."""
    host_key_expiry_days: Annotated[WholeNumber, Field(ge=1, le=90)] = 7
    """How long a host key stays valid: single-use keys only need to outlive the install."""


# The default pin is the committed manifest's (nixos/nixpkgs-pin.json, written by
# scripts/nixpkgs-pin): its revision, NAR hash and release, and the Infisical CLI a relay runs.
_PIN = committed_pin()
DEFAULT_NIXPKGS_RELEASE = _PIN.release
DEFAULT_NIXPKGS_REVISION = _PIN.revision
DEFAULT_NIXPKGS_SHA256 = _PIN.nar_hash
NIXPKGS_REPOSITORY = "https://github.com/NixOS/nixpkgs"
RELAY_SYSTEM = "x86_64-linux"
"""What a relay VM runs on: Proxmox's x86-64 guests (``nixpkgs.hostPlatform`` of every relay)."""
DEFAULT_PIN_MAX_AGE_DAYS = 30


def nixpkgs_archive_url(revision: str) -> str:
    """GitHub's tarball of one nixpkgs revision: what a pin fetches and hashes."""
    return f"{NIXPKGS_REPOSITORY}/archive/{revision}.tar.gz"


INFISICAL_CLI_RELEASES = "https://github.com/Infisical/cli/releases/download"


INFISICAL_CLI_SUFFIXES = {"x86_64-linux": "linux_amd64", "aarch64-linux": "linux_arm64"}
"""System → the release archive's ``<os>_<arch>``, as nixpkgs' infisical package maps them."""


def infisical_cli_url(version: str, system: str = RELAY_SYSTEM) -> str:
    """Where a release archive of the Infisical CLI is (Infisical/cli .goreleaser.yaml: the
    default archive name of project ``cli``; nixpkgs' infisical package fetches the same)."""
    suffix = INFISICAL_CLI_SUFFIXES[system]
    return f"{INFISICAL_CLI_RELEASES}/v{version}/cli_{version}_{suffix}.tar.gz"


class InfisicalCliSettings(_Model):
    """The Infisical CLI release an Infisical Relay runs: the release binary, fetched by hash
    (as nixpkgs packages it), so a relay does not depend on the pin's own, older package."""

    version: Annotated[str, Field(pattern=r"^[0-9]+\.[0-9]+\.[0-9]+$")]
    """The release, e.g. 0.43.121. Unset, the whole block is the pin manifest's
    (nixos/nixpkgs-pin.json); ``infisical_cli: null`` runs the pinned nixpkgs' own
    ``infisical`` instead, which must be at least 0.43.87."""
    sha256: Annotated[str, Field(pattern=r"^sha256-[A-Za-z0-9+/]{43}=$")] | None = None
    """SRI SHA-256 of ``cli_<version>_linux_amd64.tar.gz``: scripts/nixpkgs-pin records it in
    the manifest; a stack with an Infisical Relay is refused while it is unknown."""


DEFAULT_INFISICAL_CLI = InfisicalCliSettings(
    version=_PIN.infisical_cli.version,
    sha256=_PIN.infisical_cli.hashes.get(RELAY_SYSTEM),
)


class NixosSettings(_Model):
    """Which nixpkgs every node is built from. Pinned, so a render builds the same system later;
    the defaults are the committed manifest's (``nixos/nixpkgs-pin.json``), which
    ``scripts/nixpkgs-pin`` writes."""

    nixpkgs_release: NixosRelease = DEFAULT_NIXPKGS_RELEASE
    """The NixOS release of the pinned revision; new relays take it as their stateVersion."""
    nixpkgs_revision: Annotated[str, Field(pattern=r"^[0-9a-f]{40}$")] = DEFAULT_NIXPKGS_REVISION
    """The nixpkgs commit every node builds from."""
    nixpkgs_sha256: Annotated[str, Field(pattern=r"^sha256-[A-Za-z0-9+/]{43}=$")] = (
        DEFAULT_NIXPKGS_SHA256
    )
    """The NAR hash of that revision's tree, as ``builtins.fetchTarball`` checks it (SRI)."""
    pin_max_age_days: Annotated[WholeNumber, Field(ge=1, le=3650)] = DEFAULT_PIN_MAX_AGE_DAYS
    """scripts/plan warns once the pinned revision is older than this (it never fails)."""
    infisical_cli: InfisicalCliSettings | None = DEFAULT_INFISICAL_CLI
    """The CLI an Infisical Relay runs; null takes the pin's own ``infisical`` package, which
    must then be at least 0.43.87 (the evaluation refuses older ones)."""

    admin_ssh_keys: list[SshPublicKey] = []
    """Public keys that may log in as each host's SSH user (key only, never a password). At
    least one: the orchestrator's configuration admits no other key, so a stack with none is
    refused (its first switch would lock the deployment out)."""

    @property
    def nixpkgs_url(self) -> str:
        return nixpkgs_archive_url(self.nixpkgs_revision)


class SopsSettings(_Model):
    """Where the stack's secrets are: the SOPS file (docs/secrets.md) and, for the example
    only, its key."""

    file: PlainText | None = None
    """Path of the stack's SOPS file, relative to the project; default secrets/<stack>.sops.yaml."""
    age_key_file: PlainText | None = None
    """Only for the example stack's throwaway identity; real stacks use SOPS_AGE_KEY_FILE."""


class StackConfig(_Model):
    """A stack's settings: ``Pulumi.<stack>.yaml``, under ``relaymd-infra:<section>``."""

    stack: DnsLabel
    """The stack's name (from the command line or ``pulumi stack``, not from the file)."""
    tailnet: TailnetConfig
    orchestrator: OrchestratorConfig
    relays: list[RelayConfig] = []
    """None by default: a stack may run the orchestrator alone."""
    infisical: InfisicalConfig = InfisicalConfig()
    proxmox: ProxmoxConfig | None = None
    """Required when relays are configured."""
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
