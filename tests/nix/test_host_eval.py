"""Each rendered host, evaluated whole by the real NixOS module system.

Every host of the example stack and of the generated test stacks is one `lib.evalModules`
configuration: the project's modules, the real disko module and the upstream NixOS modules
transcribed in tests/support/nix/upstream (with the config they add, e.g. the firewall's own
trusted `lo`). Failed assertions and warnings must be empty; the evaluated values are checked.
"""

from __future__ import annotations

import shutil
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from infra.config.hosts import (
    INFISICAL_RELAY_ENV_FILE,
    ORCHESTRATOR_ENV_FILE,
    SECRETS_DIR,
    TAILSCALE_AUTH_KEY_FILE,
)
from infra.config.pin import committed_pin
from infra.config.settings import DEFAULT_NIXPKGS_RELEASE
from tests.support.nixeval import (
    NIXPKGS_LIB,
    evaluate_host,
    evaluate_json,
    rendered_settings,
    require_pinned_sources,
)
from tests.support.nixos_stacks import HOSTILE_ADMIN_KEY
from tests.support.stacks import TEST_INFISICAL_CLI_SHA256

pytestmark = pytest.mark.nix

ORCHESTRATOR = "relaymd-orchestrator"
RELAY = "relaymd-relay"
RELAY_2 = "relaymd-relay-2"
PORT = 36158
CONTAINER_UNIT = "podman-relaymd-orchestrator"
TAILNET_RUNNING = "relaymd-tailnet-running.service"
TREE_HOSTS = [
    ("example_tree", ORCHESTRATOR),
    ("example_tree", RELAY),
    ("full_tree", ORCHESTRATOR),
    ("full_tree", RELAY),
    ("full_tree", RELAY_2),
    ("orchestrator_only_tree", ORCHESTRATOR),
]


@cache
def _evaluated(configuration: Path, extra_modules: tuple[str, ...]) -> dict[str, Any]:
    return evaluate_host(configuration, extra_modules)


def host(tree: Path, name: str, *extra_modules: str) -> dict[str, Any]:
    """The evaluated host; the configuration must evaluate with no failed assertion or warning."""
    evaluated = _evaluated(tree / name / "configuration.nix", extra_modules)
    assert evaluated["failedAssertions"] == []
    assert evaluated["warnings"] == []
    return evaluated


def failed_assertions(tree: Path, name: str, *extra_modules: str) -> list[str]:
    result: list[str] = _evaluated(tree / name / "configuration.nix", extra_modules)[
        "failedAssertions"
    ]
    return result


@pytest.mark.parametrize(("tree", "name"), TREE_HOSTS)
def test_every_rendered_host_evaluates_without_failed_assertions_or_warnings(
    tree: str, name: str, request: pytest.FixtureRequest
) -> None:
    evaluated = host(request.getfixturevalue(tree), name)
    assert evaluated["hostName"] == name
    # The firewall module trusts loopback on every host whose firewall is on.
    assert evaluated["firewall"]["enable"] is True
    assert evaluated["firewall"]["trustedInterfaces"] == ["lo"]


# --- firewall per interface --------------------------------------------------------------


def test_orchestrator_firewall_opens_ssh_and_tailscale_globally_and_the_api_on_the_tailnet(
    example_tree: Path,
) -> None:
    interfaces = host(example_tree, ORCHESTRATOR)["firewall"]["interfaces"]
    assert set(interfaces) == {"default", "tailscale0"}
    assert interfaces["default"]["allowedTCPPorts"] == [22]
    assert interfaces["default"]["allowedUDPPorts"] == [41641]
    assert interfaces["tailscale0"]["allowedTCPPorts"] == [PORT]
    assert interfaces["default"]["allowedTCPPortRanges"] == []


def test_relay_firewall_keeps_dns_and_passthrough_off_the_lan(full_tree: Path) -> None:
    interfaces = host(full_tree, RELAY)["firewall"]["interfaces"]
    # The Infisical Relay's own ports are for the platform and gateways, on every interface.
    # Sorted, as nixpkgs' firewall module sorts every port list.
    assert interfaces["default"]["allowedTCPPorts"] == [22, 2222, 8443]
    assert interfaces["tailscale0"]["allowedTCPPorts"] == [53, 443]
    assert interfaces["tailscale0"]["allowedUDPPorts"] == [53]
    plain = host(full_tree, RELAY_2)["firewall"]["interfaces"]
    assert plain["default"]["allowedTCPPorts"] == [22]
    assert plain["tailscale0"]["allowedTCPPorts"] == [53]


@pytest.mark.parametrize(
    ("module", "reason"),
    [
        ("{ networking.firewall.allowedTCPPorts = [ 36158 ]; }", "opened beyond"),
        (
            "{ networking.firewall.allowedTCPPortRanges = [ { from = 36000; to = 37000; } ]; }",
            "opened beyond",
        ),
        ("{ networking.firewall.interfaces.eth0.allowedTCPPorts = [ 36158 ]; }", "opened beyond"),
        ("{ networking.firewall.interfaces.br0.allowedTCPPorts = [ 36158 ]; }", "opened beyond"),
        (
            '{ networking.firewall.interfaces."eth0.100".allowedTCPPortRanges = '
            "[ { from = 36000; to = 37000; } ]; }",
            "opened beyond",
        ),
    ],
)
def test_orchestrator_refuses_a_system_that_opens_its_port_beyond_the_tailnet(
    example_tree: Path, module: str, reason: str
) -> None:
    failed = failed_assertions(example_tree, ORCHESTRATOR, module)
    assert len(failed) == 1
    assert reason in failed[0]


@pytest.mark.parametrize(
    ("trusted", "named"),
    [
        ('[ "eth0" ]', "eth0"),
        ('[ "br0" ]', "br0"),
        ('[ "eth0.100" ]', "eth0.100"),
        ('[ "podman0" ]', "podman0"),
        ('[ "tailscale0" "br0" ]', "br0"),
        ('[ "br0" "podman0" ]', "br0, podman0"),
    ],
)
def test_orchestrator_refuses_any_trusted_interface_but_the_tailnet_and_loopback(
    example_tree: Path, trusted: str, named: str
) -> None:
    module = f"{{ networking.firewall.trustedInterfaces = {trusted}; }}"
    failed = failed_assertions(example_tree, ORCHESTRATOR, module)
    assert len(failed) == 1
    message = failed[0]
    assert f"networking.firewall.trustedInterfaces has {named}," in message
    assert f"{PORT} included" in message
    assert "Trust no interface but tailscale0" in message
    assert "networking.firewall.interfaces.<name>.allowedTCPPorts" in message


def test_orchestrator_accepts_a_trusted_tailnet_interface(example_tree: Path) -> None:
    evaluated = host(
        example_tree, ORCHESTRATOR, '{ networking.firewall.trustedInterfaces = [ "tailscale0" ]; }'
    )
    assert sorted(evaluated["firewall"]["trustedInterfaces"]) == ["lo", "tailscale0"]


# --- units and their ordering ---------------------------------------------------------


def test_tailnet_gate_waits_for_running_within_a_bound(example_tree: Path) -> None:
    services = host(example_tree, ORCHESTRATOR)["services"]
    gate = services["relaymd-tailnet-running"]
    assert gate["after"] == ["tailscaled.service", "tailscaled-autoconnect.service"]
    # Bound, not only required: a tailscaled crash takes it (and what requires it) down too.
    assert gate["bindsTo"] == ["tailscaled.service"]
    assert gate["partOf"] == ["tailscaled.service"]
    assert gate["serviceConfig"]["Type"] == "oneshot"
    assert gate["serviceConfig"]["RemainAfterExit"] is True
    assert gate["serviceConfig"]["TimeoutStartSec"] == 150
    # Each wait is bounded; a failed one is tried again and then starts the dependents.
    assert gate["serviceConfig"]["Restart"] == "on-failure"
    assert gate["unitConfig"]["StartLimitIntervalSec"] == 0
    script = gate["script"]
    assert "status --json --peers=false" in script
    assert '[ "$state" = Running ]' in script
    assert "deadline=$((SECONDS + 120))" in script
    assert "exit 1" in script


@pytest.mark.parametrize(
    ("tree", "name", "unit"),
    [
        ("example_tree", ORCHESTRATOR, CONTAINER_UNIT),
        ("example_tree", RELAY, "dnsmasq"),
        ("full_tree", RELAY, "nginx"),
    ],
)
def test_services_on_tailnet_addresses_start_only_once_tailscaled_is_running(
    tree: str, name: str, unit: str, request: pytest.FixtureRequest
) -> None:
    service = host(request.getfixturevalue(tree), name)["services"][unit]
    assert TAILNET_RUNNING in service["after"]
    assert TAILNET_RUNNING in service["requires"]
    assert TAILNET_RUNNING in service["wantedBy"]


def test_orchestrator_container_follows_tailscaled(example_tree: Path) -> None:
    """A tailscaled restart replaces /run/tailscale: the container must restart with it."""
    unit = host(example_tree, ORCHESTRATOR)["services"][CONTAINER_UNIT]
    assert unit["bindsTo"] == ["tailscaled.service"]
    assert unit["partOf"] == ["tailscaled.service"]
    assert "tailscaled.service" in unit["after"]
    assert unit["wantedBy"] == [
        "multi-user.target",
        "relaymd-tailnet-running.service",
        "tailscaled.service",
    ]
    # From the oci-containers module itself.
    assert unit["serviceConfig"]["Restart"] == "always"
    assert "network-online.target" in unit["after"]


def test_the_container_checks_the_tailnet_before_every_start_and_never_gives_up(
    example_tree: Path,
) -> None:
    evaluated = host(example_tree, ORCHESTRATOR)
    config = evaluated["services"][CONTAINER_UNIT]["serviceConfig"]
    # Ours first, then upstream's pre-start (which removes a leftover container).
    check, pre_start = config["ExecStartPre"]
    assert check.endswith("/bin/relaymd-orchestrator-tailnet-running")
    assert pre_start.endswith("/bin/pre-start")
    assert (
        "--socket=/run/tailscale/tailscaled.sock status --json"
        in (evaluated["orchestratorTailnetCheck"])
    )
    assert config["Restart"] == "always"
    assert config["RestartSec"] == "10s"
    assert evaluated["services"][CONTAINER_UNIT]["unitConfig"]["StartLimitIntervalSec"] == 0
    # Bounded (upstream's 0 is none), and below the switch's own activation bound.
    assert config["TimeoutStartSec"] == 300
    assert config["TimeoutStartSec"] < evaluated["deployGate"]["activationTimeoutSeconds"]


def test_a_container_start_bound_beyond_the_activation_bound_is_refused(
    example_tree: Path,
) -> None:
    failed = failed_assertions(
        example_tree, ORCHESTRATOR, "{ relaymd.orchestrator.startTimeoutSeconds = 420; }"
    )
    assert failed == [
        "relaymd.orchestrator.startTimeoutSeconds (420) must be below "
        "relaymd.deployGate.activationTimeoutSeconds (420), or a slow start would be judged a "
        "hung switch."
    ]


# --- tailscale ------------------------------------------------------------------------


@pytest.mark.parametrize("name", [ORCHESTRATOR, RELAY])
def test_autoconnect_reads_the_key_from_its_file_never_from_a_command_line(
    example_tree: Path, name: str
) -> None:
    evaluated = host(example_tree, name)
    autoconnect = evaluated["services"]["tailscaled-autoconnect"]
    script = autoconnect["script"]
    assert f"tailscale up --auth-key=file:{TAILSCALE_AUTH_KEY_FILE.path} " in script
    assert "$(cat" not in script
    # Upstream's unit around it stays: notify, after tailscaled.
    assert autoconnect["serviceConfig"]["Type"] == "notify"
    assert autoconnect["after"] == ["tailscaled.service"]


def test_tailscale_set_runs_after_autoconnect(example_tree: Path) -> None:
    """Upstream (PR #409924): routes set once the node is logged in, not before."""
    unit = host(example_tree, RELAY)["services"]["tailscaled-set"]
    assert unit["after"] == ["tailscaled.service", "tailscaled-autoconnect.service"]


def test_relay_tailscale_flags_carry_its_tag_hostname_and_routes(example_tree: Path) -> None:
    evaluated = host(example_tree, RELAY)
    tailscale = evaluated["tailscale"]
    assert tailscale["extraUpFlags"] == [
        "--hostname=relaymd-relay",
        "--advertise-tags=tag:relaymd-relay",
        "--advertise-routes=10.100.10.0/24",
    ]
    assert tailscale["useRoutingFeatures"] == "server"
    assert tailscale["authKeyFile"] == TAILSCALE_AUTH_KEY_FILE.path
    assert tailscale["extraSetFlags"] == ["--advertise-routes=10.100.10.0/24"]
    # What upstream makes of those settings: forwarding on, the set unit, the autoconnect unit.
    assert evaluated["sysctl"]["net.ipv4.conf.all.forwarding"] is True
    assert (
        "tailscale set '--advertise-routes=10.100.10.0/24'"
        in (evaluated["services"]["tailscaled-set"]["script"])
    )
    assert evaluated["services"]["tailscaled-autoconnect"]["serviceConfig"]["Type"] == "notify"
    # networkd must leave the tailnet interface to tailscaled.
    assert evaluated["networks"]["50-tailscale"]["linkConfig"]["Unmanaged"] is True


def test_a_relay_without_routes_neither_advertises_nor_forwards(full_tree: Path) -> None:
    evaluated = host(full_tree, RELAY_2)
    tailscale = evaluated["tailscale"]
    assert tailscale["extraUpFlags"] == [
        "--hostname=relaymd-relay-2",
        "--advertise-tags=tag:relaymd-relay",
    ]
    assert tailscale["useRoutingFeatures"] == "none"
    assert tailscale["extraSetFlags"] == ["--advertise-routes="]
    assert evaluated["sysctl"] == {}


def test_orchestrator_joins_with_its_own_tag(example_tree: Path) -> None:
    tailscale = host(example_tree, ORCHESTRATOR)["tailscale"]
    assert tailscale["extraUpFlags"] == [
        "--hostname=relaymd-orchestrator",
        "--advertise-tags=tag:relaymd-orchestrator",
    ]


# --- relay: dnsmasq and nginx ----------------------------------------------------------


def test_relay_answers_the_internal_domain_on_the_tailnet_only(example_tree: Path) -> None:
    evaluated = host(example_tree, RELAY)
    settings = evaluated["dnsmasq"]["settings"]
    assert settings["server"] == ["/internal/10.100.10.1"]
    assert settings["no-resolv"] is True
    assert settings["interface"] == ["tailscale0"]
    assert settings["bind-dynamic"] is True
    # The host keeps its own resolvers: upstream adds neither 127.0.0.1 nor its resolv-file.
    assert evaluated["dnsmasq"]["resolveLocalQueries"] is False
    assert settings["resolv-file"] == []
    assert evaluated["nameservers"] == ["10.100.10.1"]
    # networkd would bring systemd-resolved, which holds port 53.
    assert evaluated["resolved"] is False
    assert evaluated["nginx"]["enable"] is False


def test_tls_passthrough_listens_on_both_families_and_serves_no_http(full_tree: Path) -> None:
    nginx = host(full_tree, RELAY)["nginx"]
    assert nginx["enable"] is True
    assert nginx["virtualHosts"] == []
    listeners = [line.strip() for line in nginx["streamConfig"].splitlines() if "listen" in line]
    assert listeners == ["listen 443;", "listen [::]:443;"]
    assert "proxy_pass proxy.internal:443;" in nginx["streamConfig"]


def test_without_ipv6_every_listener_is_ipv4(full_tree: Path) -> None:
    no_ipv6 = "{ networking.enableIPv6 = false; }"
    nginx = host(full_tree, RELAY, no_ipv6)["nginx"]
    assert [line.strip() for line in nginx["streamConfig"].splitlines() if "listen" in line] == [
        "listen 443;"
    ]


# --- orchestrator container -------------------------------------------------------------


def test_orchestrator_listens_on_ipv4_where_uvicorn_can_answer_it(example_tree: Path) -> None:
    """uvicorn's "::" socket is IPv6 only (asyncio sets IPV6_V6ONLY): IPv4 must be named."""
    container = host(example_tree, ORCHESTRATOR)["containers"]["relaymd-orchestrator"]
    assert container["environment"]["RELAYMD_ORCHESTRATOR_HOST"] == "0.0.0.0"  # noqa: S104
    assert container["environment"]["RELAYMD_ORCHESTRATOR_PORT"] == str(PORT)


IPV6_PROXY = "relaymd-orchestrator-ipv6"


def test_orchestrator_answers_ipv6_through_a_forwarding_socket(example_tree: Path) -> None:
    """IPv6 reaches the IPv4-only RelayMD through systemd-socket-proxyd on loopback."""
    evaluated = host(example_tree, ORCHESTRATOR)
    socket = evaluated["sockets"][IPV6_PROXY]
    assert socket["listenStreams"] == [f"[::]:{PORT}"]
    # The default follows net.ipv6.bindv6only (0): dual-stack, clashing with RelayMD's IPv4 port.
    assert socket["socketConfig"] == {"BindIPv6Only": "ipv6-only", "FreeBind": True}
    # Listens while RelayMD runs; never starts it (its start waits for the tailnet).
    assert socket["wantedBy"] == [f"{CONTAINER_UNIT}.service"]
    assert socket["partOf"] == [f"{CONTAINER_UNIT}.service"]
    assert socket["requires"] == []
    proxy = evaluated["services"][IPV6_PROXY]
    assert proxy["requires"] == [f"{IPV6_PROXY}.socket"]
    assert proxy["after"] == [f"{IPV6_PROXY}.socket", f"{CONTAINER_UNIT}.service"]
    assert proxy["partOf"] == [f"{CONTAINER_UNIT}.service"]
    assert proxy["wants"] == [] and proxy["bindsTo"] == []
    executable, target = proxy["serviceConfig"]["ExecStart"].split()
    assert executable == f"{evaluated['systemdPackage']}/lib/systemd/systemd-socket-proxyd"
    container = evaluated["containers"]["relaymd-orchestrator"]
    assert target == f"127.0.0.1:{container['environment']['RELAYMD_ORCHESTRATOR_PORT']}"
    assert target == f"127.0.0.1:{PORT}"


def test_the_forwarding_socket_follows_a_changed_api_port(example_tree: Path) -> None:
    evaluated = host(
        example_tree,
        ORCHESTRATOR,
        "{ lib, ... }: { relaymd.orchestrator.port = lib.mkForce 36200; }",
    )
    assert evaluated["sockets"][IPV6_PROXY]["listenStreams"] == ["[::]:36200"]
    assert evaluated["services"][IPV6_PROXY]["serviceConfig"]["ExecStart"].endswith(
        " 127.0.0.1:36200"
    )


def test_without_ipv6_there_is_no_forwarding_socket(example_tree: Path) -> None:
    evaluated = host(example_tree, ORCHESTRATOR, "{ networking.enableIPv6 = false; }")
    assert IPV6_PROXY not in evaluated["sockets"]
    assert IPV6_PROXY not in evaluated["services"]
    environment = evaluated["containers"]["relaymd-orchestrator"]["environment"]
    assert environment["RELAYMD_ORCHESTRATOR_HOST"] == "0.0.0.0"  # noqa: S104


def test_orchestrator_container_gets_its_token_from_a_root_only_file(example_tree: Path) -> None:
    evaluated = host(example_tree, ORCHESTRATOR)
    container = evaluated["containers"]["relaymd-orchestrator"]
    assert container["serviceName"] == CONTAINER_UNIT
    assert container["environmentFiles"] == [ORCHESTRATOR_ENV_FILE.path]
    assert ORCHESTRATOR_ENV_FILE.path.startswith(f"{SECRETS_DIR}/")
    assert "INFISICAL_TOKEN" not in container["environment"]
    # A published port would be DNAT-ed around the host firewall, LAN included.
    assert container["ports"] == []
    assert container["extraOptions"] == ["--network=host"]
    assert container["image"] == "ghcr.io/example-org/relaymd-orchestrator:sha-4f1c2d9"


def test_orchestrator_config_points_at_the_system_tailscaled_and_the_data_root(
    example_tree: Path,
) -> None:
    evaluated = host(example_tree, ORCHESTRATOR)
    settings = evaluated["orchestratorSettings"]
    assert settings["tailscale_socket"] == "/run/tailscale/tailscaled.sock"
    assert settings["database_url"] == "sqlite+aiosqlite:////var/lib/relaymd/db/relaymd.db"
    assert settings["tailscale_hostname"] == ORCHESTRATOR
    # The example's stack setting orchestrator.storage_provider, as RelayMD's config key.
    assert settings["storage_provider"] == "cloudflare_backblaze"
    volumes = evaluated["containers"]["relaymd-orchestrator"]["volumes"]
    # Read-only: RelayMD may talk to the host's daemon, never put one of its own there.
    assert "/run/tailscale:/run/tailscale:ro" in volumes
    assert "/run/tailscale:/run/tailscale" not in volumes
    assert "/var/lib/relaymd:/var/lib/relaymd" in volumes
    assert any(volume.endswith(":/etc/relaymd/relaymd-config.yaml:ro") for volume in volumes)


# --- tmpfiles, users and keys -------------------------------------------------------------


@pytest.mark.parametrize(("tree", "name"), TREE_HOSTS)
def test_secrets_directory_is_root_only_and_no_secret_is_ever_created(
    tree: str, name: str, request: pytest.FixtureRequest
) -> None:
    rules = host(request.getfixturevalue(tree), name)["tmpfiles"]
    assert f"d {SECRETS_DIR} 0700 root root -" in rules
    secret_rules = [rule for rule in rules if rule.startswith(("z ", "f ", "w ", "C "))]
    assert f"z {TAILSCALE_AUTH_KEY_FILE.path} 0600 root root -" in secret_rules
    assert all(
        rule.startswith("z ") and rule.endswith(" 0600 root root -") for rule in secret_rules
    )


def test_orchestrator_data_root_directories(example_tree: Path) -> None:
    rules = host(example_tree, ORCHESTRATOR)["tmpfiles"]
    for directory in ("", "/config", "/db", "/logs", "/state", "/tailscale"):
        assert f"d /var/lib/relaymd{directory} 0750 root root -" in rules


def test_infisical_relay_enrolls_from_a_root_only_file(full_tree: Path) -> None:
    unit = host(full_tree, RELAY)["services"]["infisical-relay"]
    assert unit["serviceConfig"]["EnvironmentFile"] == INFISICAL_RELAY_ENV_FILE.path
    assert '--token="$INFISICAL_RELAY_ENROLLMENT_TOKEN"' in unit["script"]
    assert unit["script"].index("INFISICAL_RELAY_ACCESS_TOKEN") < unit["script"].index("--token")
    assert unit["environment"]["INFISICAL_RELAY_NAME"] == "relay-1"
    # It keeps trying while Infisical is unreachable.
    assert unit["unitConfig"]["StartLimitIntervalSec"] == 0
    assert "infisical-relay" not in host(full_tree, RELAY_2)["services"]


@pytest.mark.parametrize("name", [ORCHESTRATOR, RELAY])
def test_admin_user_logs_in_by_key_only_and_is_trusted_by_nix(
    example_tree: Path, name: str
) -> None:
    evaluated = host(example_tree, name)
    admin = evaluated["users"]["admin"]
    assert admin["isNormalUser"] is True
    assert admin["group"] == "users"
    assert admin["extraGroups"] == ["wheel"]
    assert admin["keys"] == [
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHGtgrslz7VGiM2OFqf1/QABHK+X2LzRwfKXv9S7+zpu "
        "alice@example.org"
    ]
    assert evaluated["users"]["root"]["keys"] == []
    assert evaluated["sudoWheelNeedsPassword"] is False
    # A definition replaces nix.nix's default [ "root" ]; root must stay.
    assert evaluated["nixSettings"]["trusted-users"] == ["root", "admin"]
    openssh = evaluated["openssh"]
    assert openssh["settings"]["PasswordAuthentication"] is False
    assert openssh["settings"]["KbdInteractiveAuthentication"] is False
    assert openssh["settings"]["PermitRootLogin"] == "no"
    assert openssh["settings"]["AuthenticationMethods"] == "publickey"
    # No ~/.ssh/authorized_keys: keys come from the configuration and the deploy-key directory.
    assert openssh["authorizedKeysFiles"] == [
        "/etc/ssh/relaymd-deploy-keys/%u",
        "/etc/ssh/authorized_keys.d/%u",
    ]


def test_a_root_admin_may_use_a_key_but_never_a_password(full_tree: Path) -> None:
    evaluated = host(full_tree, ORCHESTRATOR)
    assert evaluated["openssh"]["settings"]["PermitRootLogin"] == "prohibit-password"
    assert evaluated["openssh"]["ports"] == [2202]
    assert evaluated["firewall"]["interfaces"]["default"]["allowedTCPPorts"] == [2202]
    root = evaluated["users"]["root"]
    assert root["keys"] == [HOSTILE_ADMIN_KEY]
    assert root["isNormalUser"] is False
    assert evaluated["nixSettings"]["trusted-users"] == ["root"]
    assert "admin" not in evaluated["users"]


def test_hostile_key_comment_reaches_nix_unchanged(full_tree: Path) -> None:
    settings = rendered_settings(full_tree / ORCHESTRATOR / "configuration.nix")
    assert settings["relaymd"]["hardening"]["authorizedKeys"] == [HOSTILE_ADMIN_KEY]
    assert "services" not in settings
    assert host(full_tree, ORCHESTRATOR)["openssh"]["enable"] is True


# --- boot and disks ---------------------------------------------------------------------


def test_relay_boots_grub_from_the_disko_disk(example_tree: Path) -> None:
    evaluated = host(example_tree, RELAY)
    assert evaluated["grub"] == {
        "enable": True,
        # Proxmox's SCSI device id, not the kernel's name for the disk.
        "devices": ["/dev/disk/by-id/scsi-0QEMU_QEMU_HARDDISK_drive-scsi0"],
        "efiSupport": True,
        "efiInstallAsRemovable": True,
    }
    assert evaluated["fileSystems"]["/"]["fsType"] == "ext4"
    assert evaluated["fileSystems"]["/boot"]["fsType"] == "vfat"
    partitions = evaluated["diskoPartitions"]
    assert {name: (p["size"], p["type"]) for name, p in partitions.items()} == {
        "bios": ("1M", "EF02"),
        "esp": ("512M", "EF00"),
        "root": ("100%", "8300"),
    }


def test_a_relay_on_a_virtio_disk_partitions_and_boots_from_vda(full_tree: Path) -> None:
    """relays[].boot_disk_interface virtio0: the guest sees /dev/vda, not /dev/sda."""
    evaluated = host(full_tree, RELAY_2)
    assert evaluated["grub"]["devices"] == ["/dev/vda"]
    assert host(full_tree, RELAY)["grub"]["devices"] == [
        "/dev/disk/by-id/scsi-0QEMU_QEMU_HARDDISK_drive-scsi0"
    ]


@pytest.mark.parametrize("name", [ORCHESTRATOR, RELAY])
def test_boot_entries_and_the_store_stay_bounded(example_tree: Path, name: str) -> None:
    evaluated = host(example_tree, name)
    # GRUB's own default is 100 generations, each with its kernel and initrd on a 512 MiB ESP.
    assert evaluated["bootLimits"] == {"grub": 10, "systemd-boot": 10}
    assert evaluated["nixGc"] == {
        "automatic": True,
        "dates": ["weekly"],
        "options": "--delete-older-than 30d",
    }
    assert evaluated["services"]["nix-gc"]["startAt"] == ["weekly"]


def test_each_host_is_built_for_its_own_platform(example_tree: Path) -> None:
    """Never the deploying machine's: '<nixpkgs/nixos>' falls back to builtins.currentSystem."""
    assert host(example_tree, RELAY)["hostPlatform"] == "x86_64-linux"
    # The orchestrator's comes from its hardware file (nixos-generate-config prints it).
    assert host(example_tree, ORCHESTRATOR)["hostPlatform"] == "x86_64-linux"


def test_orchestrator_boots_with_its_hardware_files_loader(example_tree: Path) -> None:
    evaluated = host(example_tree, ORCHESTRATOR)
    assert evaluated["grub"]["enable"] is False
    assert evaluated["fileSystems"]["/"]["device"] == "/dev/disk/by-label/nixos"


def test_configurations_import_the_right_modules(example_tree: Path) -> None:
    orchestrator = rendered_settings(example_tree / ORCHESTRATOR / "configuration.nix")
    relay = rendered_settings(example_tree / RELAY / "configuration.nix")
    assert {Path(path).name for path in orchestrator["imports"]} == {
        "hardware-configuration.nix",
        "hardening.nix",
        "deploy-gate.nix",
        "secrets.nix",
        "tailnet-node.nix",
        "orchestrator.nix",
    }
    assert {Path(path).name for path in relay["imports"]} == {
        "disko.nix",
        "proxmox-guest.nix",
        "hardening.nix",
        "deploy-gate.nix",
        "secrets.nix",
        "tailnet-node.nix",
        "relay.nix",
        "infisical-relay.nix",
    }


def test_a_hardware_file_without_a_boot_loader_fails_grubs_assertion(
    example_tree: Path, tmp_path: Path
) -> None:
    """Why the edge refuses such a file: `--show-hardware-config` output alone cannot boot."""
    tree = tmp_path / "nixos"
    shutil.copytree(example_tree, tree)
    hardware = tree / ORCHESTRATOR / "hardware-configuration.nix"
    hardware.write_text(
        "\n".join(line for line in hardware.read_text().splitlines() if "boot.loader" not in line)
    )
    # nixpkgs' grub.nix words it with typographic quotes around the first option.
    assert failed_assertions(tree, ORCHESTRATOR) == [
        "You must set the option \u2018boot.loader.grub.devices\u2019 or "
        "'boot.loader.grub.mirroredBoots' to make the system bootable."
    ]


# --- versions ---------------------------------------------------------------------------


def fake_infisical(version: str) -> str:
    """The relay's CLI replaced by another of ``version`` (as a stack pinning it would)."""
    return (
        '{ lib, ... }: { relaymd.infisicalRelay.package = lib.mkForce { type = "derivation"; '
        f'name = "infisical-{version}"; version = "{version}"; '
        f'outPath = "/nix/store/00000000000000000000000000000000-infisical-{version}"; }}; }}'
    )


PINS_OWN_INFISICAL = "{ lib, ... }: { relaymd.infisicalRelay.cli = lib.mkForce null; }"


def test_a_relay_runs_the_pinned_infisical_release_by_its_hash(full_tree: Path) -> None:
    """The stack's nixos.infisical_cli: the release archive, fetched by URL and SRI hash."""
    relay = host(full_tree, RELAY)["infisicalRelay"]
    assert relay["version"] == "0.43.121"
    assert relay["name"] == "infisical-0.43.121"
    assert relay["src"] == {
        "url": "https://github.com/Infisical/cli/releases/download/v0.43.121/"
        "cli_0.43.121_linux_amd64.tar.gz",
        "hash": TEST_INFISICAL_CLI_SHA256,
    }
    # The build fails unless the binary reports the version the stack named.
    assert relay["checkPhase"] == "./infisical --version | grep -F 0.43.121"


def test_the_pins_own_infisical_cannot_run_a_relay(full_tree: Path) -> None:
    """nixos.infisical_cli: null at the default pin: its infisical (the manifest's version)
    has no `relay` command, and the evaluation says so and names the fix."""
    pinned = committed_pin().packages["infisical"].version
    failed = failed_assertions(full_tree, RELAY, PINS_OWN_INFISICAL)
    assert len(failed) == 1
    assert (
        f"the Infisical CLI is {pinned}, which has no `relay start --enroll-method token`"
        in (failed[0])
    )
    assert "Set nixos.infisical_cli" in failed[0]
    # A relay without the Infisical Relay does not care which CLI the pin has.
    host(full_tree, RELAY_2, PINS_OWN_INFISICAL)


def test_infisical_relay_needs_a_cli_with_token_enrollment(full_tree: Path) -> None:
    failed = failed_assertions(full_tree, RELAY, fake_infisical("0.43.86"))
    assert len(failed) == 1
    assert "the Infisical CLI is 0.43.86, which has no" in failed[0]
    assert "(it came with 0.43.87)" in failed[0]


@pytest.mark.parametrize(
    ("version", "token_on_every_start"),
    [("0.43.87", True), ("0.43.113", True), ("0.43.114", False), ("0.43.121", False)],
)
def test_the_token_is_passed_as_each_cli_release_needs(
    full_tree: Path, version: str, token_on_every_start: bool
) -> None:
    """Before 0.43.114 every start needs --token (the same one again skips enrollment); from
    0.43.114 only a start without a stored enrollment of this token passes it."""
    script = host(full_tree, RELAY, fake_infisical(version))["services"]["infisical-relay"][
        "script"
    ]
    starts = [line.strip() for line in script.splitlines() if "relay start" in line]
    with_token = [line for line in starts if '--token="$INFISICAL_RELAY_ENROLLMENT_TOKEN"' in line]
    assert len(with_token) == 1
    assert (starts == with_token) is token_on_every_start


def test_the_default_pin_is_the_release_the_transcriptions_describe() -> None:
    """The upstream declarations here are nixos-26.05's: the default pin must be that release."""
    assert DEFAULT_NIXPKGS_RELEASE == "26.05"
    library = f'(import "${{{NIXPKGS_LIB.fetch_expression}}}/lib").trivial.release'
    require_pinned_sources()
    assert evaluate_json(library) == DEFAULT_NIXPKGS_RELEASE


def test_another_port_and_lan_interface_move_every_rule_with_them(
    orchestrator_only_tree: Path,
) -> None:
    evaluated = host(orchestrator_only_tree, ORCHESTRATOR)
    interfaces = evaluated["firewall"]["interfaces"]
    assert interfaces["default"]["allowedTCPPorts"] == [2222]
    assert interfaces["tailscale0"]["allowedTCPPorts"] == [36200]
    assert evaluated["openssh"]["ports"] == [2222]
    container = evaluated["containers"]["relaymd-orchestrator"]
    assert container["environment"]["RELAYMD_ORCHESTRATOR_PORT"] == "36200"
    assert evaluated["deployGate"]["healthzPort"] == 36200
    # No orchestrator.storage_provider setting: RelayMD's own default, as its config key.
    assert evaluated["orchestratorSettings"]["storage_provider"] == "purdue"
    failed = failed_assertions(
        orchestrator_only_tree,
        ORCHESTRATOR,
        "{ networking.firewall.interfaces.enp1s0.allowedTCPPorts = [ 36200 ]; }",
    )
    assert len(failed) == 1 and "port 36200 is opened beyond" in failed[0]


# --- the transcribed upstream modules bite, as upstream's do -----------------------------


def test_a_user_that_is_neither_normal_nor_system_is_refused(example_tree: Path) -> None:
    failed = failed_assertions(example_tree, RELAY, "{ users.users.bob = { }; }")
    assert sorted(failed) == [
        "Exactly one of users.users.bob.isSystemUser and users.users.bob.isNormalUser must be set.",
        "users.users.bob.group is unset.",
    ]


def test_an_option_nothing_declares_is_an_evaluation_error(example_tree: Path) -> None:
    with pytest.raises(AssertionError, match=r"services\.tailscale\.extraUpFlag' does not exist"):
        evaluate_host(
            example_tree / RELAY / "configuration.nix",
            ('{ services.tailscale.extraUpFlag = [ "--ssh" ]; }',),
        )
