"""Checks that span several fields; per-field formats live in the models themselves."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from infra.config.hardware import declares_boot_loader, declares_host_platform
from infra.config.pin import PIN_MANIFEST_NAME
from infra.config.settings import RelayConfig, StackConfig, infisical_cli_url
from infra.config.sources import hardware_file, hardware_source
from infra.ground.errors import ConfigIssue
from infra.ground.relaymd import RELAYMD_COORDINATES


def consistency_issues(config: StackConfig) -> list[ConfigIssue]:
    issues: list[ConfigIssue] = []
    for index, relay in enumerate(config.relays):
        issues += _relay_network_issues(f"relays[{index}]", relay)
    issues += _duplicates(config, "name", lambda relay: relay.name)
    issues += _duplicates(config, "address", lambda relay: str(relay.address.ip))
    issues += _duplicates(config, "vm_id", lambda relay: relay.vm_id)
    issues += _hostname_clashes(config)
    issues += _tag_issues(config)
    issues += _hardware_file_issues(config)
    issues += _reserved_hostname_issues(config)
    issues += _state_version_issues(config)
    issues += _infisical_coordinate_issues(config)
    issues += _admin_key_issues(config)
    issues += _infisical_cli_issues(config)
    if config.relays and config.proxmox is None:
        issues.append(
            ConfigIssue(
                "proxmox",
                None,
                "a Proxmox endpoint (proxmox.endpoint) because relays are configured",
            )
        )
    orchestrator = config.orchestrator
    if orchestrator.port == orchestrator.ssh_port:
        issues.append(
            ConfigIssue(
                "orchestrator.port",
                orchestrator.port,
                f"a port other than orchestrator.ssh_port ({orchestrator.ssh_port}): "
                "sshd already listens there",
            )
        )
    keys = config.keys
    if keys.worker_key_rotation_days >= keys.worker_key_expiry_days:
        issues.append(
            ConfigIssue(
                "keys.worker_key_rotation_days",
                keys.worker_key_rotation_days,
                f"fewer days than keys.worker_key_expiry_days ({keys.worker_key_expiry_days}), "
                "so the worker key is replaced before it expires",
            )
        )
    return issues


def _relay_network_issues(path: str, relay: RelayConfig) -> Iterator[ConfigIssue]:
    interface = relay.address
    network = interface.network
    if interface.ip == network.broadcast_address and network.prefixlen < 31:
        yield ConfigIssue(
            f"{path}.address",
            str(interface),
            f"a host address inside {network}, not its broadcast address",
        )
    if relay.template_disk_gb is not None and relay.disk_gb < relay.template_disk_gb:
        # Proxmox cannot shrink a disk: the resize fails after the clone exists.
        yield ConfigIssue(
            f"{path}.disk_gb",
            relay.disk_gb,
            f"at least the template's disk ({relay.template_disk_gb} GB, template_disk_gb): "
            "a clone's disk can grow but never shrink",
        )
    if relay.gateway not in network:
        yield ConfigIssue(
            f"{path}.gateway", str(relay.gateway), f"an address inside the relay's subnet {network}"
        )
    elif relay.gateway == interface.ip:
        yield ConfigIssue(
            f"{path}.gateway", str(relay.gateway), "a gateway other than the relay's own address"
        )


def _admin_key_issues(config: StackConfig) -> Iterator[ConfigIssue]:
    # The orchestrator is updated over SSH as ssh_target's user, and its configuration admits
    # only these keys (hardening.nix reads no ~/.ssh/authorized_keys and it has no deploy key of
    # its own): with none, the first switch would lock the deployment and the operator out.
    if not config.nixos.admin_ssh_keys:
        user = config.orchestrator.ssh_target.user
        yield ConfigIssue(
            "nixos.admin_ssh_keys",
            [],
            "at least one public key: the orchestrator's configuration admits no other key "
            f"for {user} (not even ~/.ssh/authorized_keys), so list the key your SSH agent "
            "logs in with (ssh-add -L prints it)",
        )


def _infisical_cli_issues(config: StackConfig) -> Iterator[ConfigIssue]:
    # The CLI is fetched by its hash: without one there is nothing a relay can build.
    cli = config.nixos.infisical_cli
    if cli is None or cli.sha256 is not None:
        return
    relays = [relay.name for relay in config.relays if relay.infisical_relay]
    if relays:
        yield ConfigIssue(
            "nixos.infisical_cli.sha256",
            None,
            f"the SRI SHA-256 of Infisical CLI {cli.version}'s release archive, which "
            f"{', '.join(relays)} run(s) as an Infisical Relay: run scripts/nixpkgs-pin where "
            f"there is network (it records it in {PIN_MANIFEST_NAME}), or set it here "
            "(`nix --extra-experimental-features nix-command store prefetch-file "
            f"{infisical_cli_url(cli.version)}` prints it); "
            "or set nixos.infisical_cli: null to run the pinned nixpkgs' own infisical "
            "(at least 0.43.87)",
        )


def _duplicates(
    config: StackConfig, field: str, key: Callable[[RelayConfig], object]
) -> Iterator[ConfigIssue]:
    first_index: dict[object, int] = {}
    for index, relay in enumerate(config.relays):
        value = key(relay)
        if value is None:
            continue
        if value in first_index:
            yield ConfigIssue(
                f"relays[{index}].{field}",
                value,
                f"a value not already used by relays[{first_index[value]}]",
            )
        else:
            first_index[value] = index


def _hostname_clashes(config: StackConfig) -> Iterator[ConfigIssue]:
    # Tailscale renames a clashing node (name-1), which silently breaks MagicDNS URLs.
    owners = {config.orchestrator.tailnet_hostname: "orchestrator.tailnet_hostname"}
    for index, relay in enumerate(config.relays):
        path = f"relays[{index}].tailnet_hostname"
        if relay.tailnet_hostname in owners:
            yield ConfigIssue(
                path,
                relay.tailnet_hostname,
                f"a tailnet hostname not already used by {owners[relay.tailnet_hostname]}",
            )
        else:
            owners[relay.tailnet_hostname] = path


def _tag_issues(config: StackConfig) -> Iterator[ConfigIssue]:
    # A tag is an identity: a shared one would merge two roles' access (e.g. admins'
    # SSH to relays would reach workers). Admins are never tags (see TagOwner).
    tags = config.tailnet.tags
    owners: dict[str, str] = {}
    for role in ("orchestrator", "worker", "relay"):
        tag, path = getattr(tags, role), f"tailnet.tags.{role}"
        if tag in owners:
            yield ConfigIssue(
                path, tag, f"a tag different from {owners[tag]}: each role has its own"
            )
        else:
            owners[tag] = path


def _hardware_file_issues(config: StackConfig) -> Iterator[ConfigIssue]:
    # The one check that looks at the tree: a missing file would only fail at build time.
    relative = config.orchestrator.hardware_configuration
    path = hardware_file(relative)
    directory = hardware_file("nixos/hardware")
    # Copied verbatim into build/ and plan.json: it must be a real file in nixos/hardware/,
    # never a link that could pull in /etc/passwd or a key.
    linked = [part for part in (path, directory, directory.parent) if part.is_symlink()]
    if linked or not path.resolve().is_relative_to(directory.resolve()):
        yield ConfigIssue(
            "orchestrator.hardware_configuration",
            relative,
            "a regular file inside nixos/hardware/, not a symbolic link: copy the host's "
            "hardware-configuration.nix there",
        )
    elif not path.is_file():
        yield ConfigIssue(
            "orchestrator.hardware_configuration",
            relative,
            "an existing file: copy the orchestrator's /etc/nixos/hardware-configuration.nix "
            f"to {relative} (see nixos/hardware/README.md)",
        )
    elif not declares_boot_loader(hardware_source(relative)):
        # The rendered configuration replaces the host's own configuration.nix, where
        # nixos-generate-config puts the boot loader: GRUB's assertion would fail the build.
        yield ConfigIssue(
            "orchestrator.hardware_configuration",
            relative,
            "a file that also declares the host's boot loader (boot.loader.*): "
            "`nixos-generate-config --show-hardware-config` prints none, so append the "
            "boot.loader lines of the host's /etc/nixos/configuration.nix "
            "(see nixos/hardware/README.md)",
        )
    elif not declares_host_platform(hardware_source(relative)):
        # Without it '<nixpkgs/nixos>' builds for the deploying machine's own system.
        yield ConfigIssue(
            "orchestrator.hardware_configuration",
            relative,
            "a file that names the host's platform (nixpkgs.hostPlatform, e.g. "
            '`nixpkgs.hostPlatform = lib.mkDefault "x86_64-linux";`, which '
            "`nixos-generate-config --show-hardware-config` prints): without it the closure "
            "is built for the deploying machine's system (see nixos/hardware/README.md)",
        )


RESERVED_HOSTNAMES = frozenset({"modules"})
"""build/<stack>/nixos/modules/ holds the shared modules, so no host may be named so."""


def _reserved_hostname_issues(config: StackConfig) -> Iterator[ConfigIssue]:
    names = [("orchestrator.tailnet_hostname", config.orchestrator.tailnet_hostname)]
    names += [
        (f"relays[{index}].tailnet_hostname", relay.tailnet_hostname)
        for index, relay in enumerate(config.relays)
    ]
    for path, name in names:
        if name in RESERVED_HOSTNAMES:
            yield ConfigIssue(
                path, name, "another tailnet hostname: 'modules' names the shared NixOS modules"
            )


def _infisical_coordinate_issues(config: StackConfig) -> Iterator[ConfigIssue]:
    # Stock RelayMD reads only its built-in coordinates: secrets written elsewhere would
    # leave every component failing at start.
    if config.infisical.custom_relaymd_build:
        return
    settings = config.infisical.model_dump()
    for name, stock in RELAYMD_COORDINATES.items():
        if settings[name] != stock:
            yield ConfigIssue(
                f"infisical.{name}",
                settings[name],
                f"{stock!r}, where stock RelayMD reads its secrets (or remove the setting); "
                "for a RelayMD built with other constants set infisical.custom_relaymd_build: "
                "true (docs/operating.md, Infisical)",
            )


def _state_version_issues(config: StackConfig) -> Iterator[ConfigIssue]:
    # A host cannot have been installed with a release newer than the one that builds it.
    release = config.nixos.nixpkgs_release
    versions = [("orchestrator.state_version", config.orchestrator.state_version)]
    versions += [
        (f"relays[{index}].state_version", relay.state_version)
        for index, relay in enumerate(config.relays)
        if relay.state_version is not None
    ]
    for path, version in versions:
        if _release_key(version) > _release_key(release):
            yield ConfigIssue(
                path,
                version,
                "the release the host was installed with, "
                f"at most nixos.nixpkgs_release ({release})",
            )


def _release_key(release: str) -> tuple[int, int]:
    year, month = release.split(".")
    return int(year), int(month)
