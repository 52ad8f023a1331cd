"""Intent: what each module declares for the rendered configurations, read through real Nix.

The harness (tests/support/nix/module_harness.nix) evaluates one module at a time with
the option values a rendered configuration.nix sets.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from infra.decided.hosts import (
    INFISICAL_RELAY_ENV_FILE,
    ORCHESTRATOR_ENV_FILE,
    SECRETS_DIR,
    TAILSCALE_AUTH_KEY_FILE,
)
from tests.support.nixeval import evaluate_module, rendered_settings
from tests.support.nixos_stacks import HOSTILE_ADMIN_KEY

pytestmark = pytest.mark.nix

ORCHESTRATOR = "relaymd-orchestrator"
RELAY = "relaymd-relay"
RELAY_2 = "relaymd-relay-2"
PORT = 36158


def declared(
    tree: Path, module: str, host: str, system: dict[str, Any] | None = None
) -> dict[str, Any]:
    result = evaluate_module(
        tree / "modules" / f"{module}.nix", tree / host / "configuration.nix", system
    )
    assert result["failedAssertions"] == []
    return result["declared"] or {}


# --- orchestrator -------------------------------------------------------------------


def test_orchestrator_opens_its_port_on_the_tailnet_interface_only(example_tree: Path) -> None:
    orchestrator = declared(example_tree, "orchestrator", ORCHESTRATOR)
    assert orchestrator["networking"] == {
        "firewall": {"interfaces": {"tailscale0": {"allowedTCPPorts": [PORT]}}}
    }
    container = orchestrator["virtualisation"]["oci-containers"]["containers"][
        "relaymd-orchestrator"
    ]
    # A published port would be DNAT-ed around the host firewall, LAN included.
    assert "ports" not in container
    assert container["extraOptions"] == ["--network=host"]
    for module in ("hardening", "secrets", "tailnet-node"):
        firewall = declared(example_tree, module, ORCHESTRATOR).get("networking", {})
        assert str(PORT) not in json.dumps(firewall)


@pytest.mark.parametrize(
    ("system", "reason"),
    [
        ({"networking": {"firewall": {"allowedTCPPorts": [PORT]}}}, "opened beyond"),
        (
            {"networking": {"firewall": {"allowedTCPPortRanges": [{"from": 36000, "to": 37000}]}}},
            "opened beyond",
        ),
        (
            {"networking": {"firewall": {"interfaces": {"eth0": {"allowedTCPPorts": [PORT]}}}}},
            "opened beyond",
        ),
        # Not the configured lanInterface, yet just as much off the tailnet.
        (
            {"networking": {"firewall": {"interfaces": {"br0": {"allowedTCPPorts": [PORT]}}}}},
            "opened beyond",
        ),
        (
            {
                "networking": {
                    "firewall": {
                        "interfaces": {
                            "eth0.100": {"allowedTCPPortRanges": [{"from": 36000, "to": 37000}]}
                        }
                    }
                }
            },
            "opened beyond",
        ),
    ],
)
def test_orchestrator_refuses_a_system_that_opens_its_port_on_the_lan(
    example_tree: Path, system: dict[str, Any], reason: str
) -> None:
    result = evaluate_module(
        example_tree / "modules" / "orchestrator.nix",
        example_tree / ORCHESTRATOR / "configuration.nix",
        system,
    )
    assert len(result["failedAssertions"]) == 1
    assert reason in result["failedAssertions"][0]


@pytest.mark.parametrize(
    ("trusted", "named"),
    [
        # The example's lanInterface.
        (["eth0"], "eth0"),
        # Not lanInterface, yet a trusted interface admits every port all the same.
        (["br0"], "br0"),
        (["eth0.100"], "eth0.100"),
        (["podman0"], "podman0"),
        # Trusting the tailnet too does not excuse the other one.
        (["tailscale0", "br0"], "br0"),
        (["br0", "podman0"], "br0, podman0"),
    ],
)
def test_orchestrator_refuses_any_trusted_interface_but_the_tailnet(
    example_tree: Path, trusted: list[str], named: str
) -> None:
    system = {"networking": {"firewall": {"trustedInterfaces": trusted}}}
    result = evaluate_module(
        example_tree / "modules" / "orchestrator.nix",
        example_tree / ORCHESTRATOR / "configuration.nix",
        system,
    )
    assert len(result["failedAssertions"]) == 1
    message = result["failedAssertions"][0]
    # The field, the offending interfaces, what it costs and the fix.
    assert f"networking.firewall.trustedInterfaces has {named}," in message
    assert f"{PORT} included" in message
    assert "Trust no interface but tailscale0" in message
    assert "networking.firewall.interfaces.<name>.allowedTCPPorts" in message


def test_orchestrator_accepts_a_trusted_tailnet_interface(example_tree: Path) -> None:
    system = {"networking": {"firewall": {"trustedInterfaces": ["tailscale0"]}}}
    orchestrator = declared(example_tree, "orchestrator", ORCHESTRATOR, system)
    assert orchestrator["networking"]["firewall"]["interfaces"] == {
        "tailscale0": {"allowedTCPPorts": [PORT]}
    }


def test_orchestrator_container_gets_its_token_from_a_root_only_file(example_tree: Path) -> None:
    container = declared(example_tree, "orchestrator", ORCHESTRATOR)["virtualisation"][
        "oci-containers"
    ]["containers"]["relaymd-orchestrator"]
    assert container["environmentFiles"] == [ORCHESTRATOR_ENV_FILE.path]
    assert ORCHESTRATOR_ENV_FILE.path.startswith(f"{SECRETS_DIR}/")
    assert "INFISICAL_TOKEN" not in container["environment"]
    assert container["image"] == "ghcr.io/example-org/relaymd-orchestrator:0.2.21"


def test_orchestrator_config_points_at_the_system_tailscaled_and_the_data_root(
    example_tree: Path,
) -> None:
    orchestrator = declared(example_tree, "orchestrator", ORCHESTRATOR)
    settings = orchestrator["relaymd"]["orchestrator"]["settings"]
    assert settings["tailscale_socket"] == "/run/tailscale/tailscaled.sock"
    assert settings["database_url"].endswith(":////var/lib/relaymd/db/relaymd.db")
    assert settings["tailscale_hostname"] == ORCHESTRATOR
    container = orchestrator["virtualisation"]["oci-containers"]["containers"][
        "relaymd-orchestrator"
    ]
    assert "/run/tailscale:/run/tailscale" in container["volumes"]
    assert "/var/lib/relaymd:/var/lib/relaymd" in container["volumes"]
    config_mount = next(v for v in container["volumes"] if v.endswith(":ro"))
    assert config_mount.endswith(f":{container['environment']['RELAYMD_CONFIG']}:ro")
    assert "d /var/lib/relaymd/db 0750 root root -" in orchestrator["systemd"]["tmpfiles"]["rules"]


def test_orchestrator_starts_after_the_node_has_joined(example_tree: Path, tmp_path: Path) -> None:
    orchestrator = declared(example_tree, "orchestrator", ORCHESTRATOR)
    services = orchestrator["relaymd"]["tailnet"]["dependentServices"]
    assert services == ["podman-relaymd-orchestrator"]
    configuration = tmp_path / "configuration.nix"
    configuration.write_text(
        (example_tree / ORCHESTRATOR / "configuration.nix")
        .read_text()
        .replace(
            "advertiseRoutes = [ ];",
            'advertiseRoutes = [ ]; dependentServices = [ "podman-relaymd-orchestrator" ];',
        )
    )
    tailnet = evaluate_module(example_tree / "modules" / "tailnet-node.nix", configuration)
    unit = tailnet["declared"]["systemd"]["services"]["podman-relaymd-orchestrator"]
    assert unit["after"] == ["tailscaled-autoconnect.service"]


# --- tailnet node ---------------------------------------------------------------------


def test_relay_tailscale_flags_carry_its_tag_hostname_and_routes(example_tree: Path) -> None:
    tailscale = declared(example_tree, "tailnet-node", RELAY)["services"]["tailscale"]
    assert tailscale["extraUpFlags"] == [
        "--hostname=relaymd-relay",
        "--advertise-tags=tag:relaymd-relay",
        "--advertise-routes=10.100.10.0/24",
    ]
    assert tailscale["useRoutingFeatures"] == "server"
    assert tailscale["authKeyFile"] == TAILSCALE_AUTH_KEY_FILE.path
    # Up flags apply at the first join only; routes changed later arrive through `set`.
    assert tailscale["extraSetFlags"] == ["--advertise-routes=10.100.10.0/24"]


def test_a_relay_without_routes_neither_advertises_nor_forwards(full_tree: Path) -> None:
    tailscale = declared(full_tree, "tailnet-node", RELAY_2)["services"]["tailscale"]
    assert tailscale["extraUpFlags"] == [
        "--hostname=relaymd-relay-2",
        "--advertise-tags=tag:relaymd-relay",
    ]
    assert tailscale["useRoutingFeatures"] == "none"
    # An empty value withdraws routes a joined node may still advertise from before.
    assert tailscale["extraSetFlags"] == ["--advertise-routes="]


def test_orchestrator_joins_with_its_own_tag(example_tree: Path) -> None:
    tailscale = declared(example_tree, "tailnet-node", ORCHESTRATOR)["services"]["tailscale"]
    assert "--advertise-tags=tag:relaymd-orchestrator" in tailscale["extraUpFlags"]


# --- relay ----------------------------------------------------------------------------


def test_relay_answers_the_internal_domain_on_the_tailnet_only(example_tree: Path) -> None:
    relay = declared(example_tree, "relay", RELAY)
    dnsmasq = relay["services"]["dnsmasq"]
    assert dnsmasq["settings"]["server"] == ["/internal/10.100.10.1"]
    assert dnsmasq["settings"]["no-resolv"] is True
    assert dnsmasq["settings"]["interface"] == ["tailscale0"]
    assert relay["services"]["resolved"] == {"enable": False}
    assert relay["networking"]["firewall"] == {
        "interfaces": {"tailscale0": {"allowedTCPPorts": [53], "allowedUDPPorts": [53]}}
    }
    assert relay["services"]["nginx"] is None


def test_tls_passthrough_goes_to_the_upstream_on_443_from_the_tailnet(full_tree: Path) -> None:
    relay = declared(full_tree, "relay", RELAY)
    nginx = relay["services"]["nginx"]
    assert "proxy_pass proxy.internal:443;" in nginx["streamConfig"]
    # No HTTP server: nixpkgs' default "localhost" virtual host would listen on port 80.
    assert nginx["virtualHosts"] == {}
    assert relay["networking"]["firewall"]["interfaces"]["tailscale0"]["allowedTCPPorts"] == [
        53,
        443,
    ]
    assert "allowedTCPPorts" not in relay["networking"]["firewall"]


def passthrough_listeners(stream_config: str) -> list[str]:
    return [
        line.strip() for line in stream_config.splitlines() if line.strip().startswith("listen ")
    ]


def test_tls_passthrough_listens_on_ipv4_and_ipv6(full_tree: Path) -> None:
    """NixOS enables IPv6 by default: tailnet clients may reach the relay on its IPv6 address."""
    nginx = declared(full_tree, "relay", RELAY)["services"]["nginx"]
    assert passthrough_listeners(nginx["streamConfig"]) == ["listen 443;", "listen [::]:443;"]
    explicit = declared(full_tree, "relay", RELAY, {"networking": {"enableIPv6": True}})
    assert explicit["services"]["nginx"] == nginx


def test_tls_passthrough_listens_on_ipv4_only_without_ipv6(full_tree: Path) -> None:
    system = {"networking": {"enableIPv6": False}}
    relay = declared(full_tree, "relay", RELAY, system)
    nginx = relay["services"]["nginx"]
    assert passthrough_listeners(nginx["streamConfig"]) == ["listen 443;"]
    assert "proxy_pass proxy.internal:443;" in nginx["streamConfig"]
    assert relay["networking"]["firewall"]["interfaces"]["tailscale0"]["allowedTCPPorts"] == [
        53,
        443,
    ]


def test_infisical_relay_ports_are_closed_unless_enabled(
    example_tree: Path, full_tree: Path
) -> None:
    assert declared(example_tree, "infisical-relay", RELAY) == {}
    assert declared(full_tree, "infisical-relay", RELAY_2) == {}
    enabled = declared(full_tree, "infisical-relay", RELAY)
    assert enabled["networking"]["firewall"]["allowedTCPPorts"] == [8443, 2222]
    for module in ("hardening", "relay", "tailnet-node", "proxmox-guest", "secrets"):
        text = json.dumps(declared(full_tree, module, RELAY).get("networking", {}))
        assert "8443" not in text
        assert "2222" not in text


def test_infisical_relay_enrolls_from_a_root_only_file_never_the_command_line(
    full_tree: Path,
) -> None:
    unit = declared(full_tree, "infisical-relay", RELAY)["systemd"]["services"]["infisical-relay"]
    assert unit["serviceConfig"]["EnvironmentFile"] == INFISICAL_RELAY_ENV_FILE.path
    start = unit["script"]
    assert "ExecStart" not in unit["serviceConfig"]
    # The token is read from the environment file, and passed only until enrolled.
    assert '--token="$INFISICAL_RELAY_ENROLLMENT_TOKEN"' in start
    assert "'/etc/infisical/relays/relay-1.conf'" in start
    assert start.index("INFISICAL_RELAY_ACCESS_TOKEN") < start.index("--token")
    assert unit["environment"]["INFISICAL_RELAY_NAME"] == "relay-1"
    assert unit["environment"]["INFISICAL_RELAY_ENROLL_METHOD"] == "token"


def test_guest_agent_runs_on_every_vm(example_tree: Path, full_tree: Path) -> None:
    """On whatever the VM's agent option says: Proxmox only hangs when it expects one in vain."""
    for tree in (example_tree, full_tree):
        assert declared(tree, "proxmox-guest", RELAY)["services"]["qemuGuest"] == {"enable": True}


def test_relay_lan_address_is_static(example_tree: Path) -> None:
    network = declared(example_tree, "proxmox-guest", RELAY)["systemd"]["network"]["networks"]
    assert network["10-lan"]["address"] == ["10.100.10.2/24"]
    assert network["10-lan"]["gateway"] == ["10.100.10.1"]


# --- hardening and secrets --------------------------------------------------------------


@pytest.mark.parametrize("host", [ORCHESTRATOR, RELAY])
def test_ssh_is_key_only_and_root_never_logs_in_with_a_password(
    example_tree: Path, host: str
) -> None:
    hardening = declared(example_tree, "hardening", host)
    settings = hardening["services"]["openssh"]["settings"]
    assert settings["PasswordAuthentication"] is False
    assert settings["KbdInteractiveAuthentication"] is False
    assert settings["PermitRootLogin"] == "no"
    assert hardening["networking"]["firewall"]["enable"] is True
    assert hardening["users"]["users"]["admin"]["extraGroups"] == ["wheel"]


def test_a_root_admin_may_use_a_key_but_never_a_password(full_tree: Path) -> None:
    hardening = declared(full_tree, "hardening", ORCHESTRATOR)
    assert hardening["services"]["openssh"]["settings"]["PermitRootLogin"] == "prohibit-password"
    assert hardening["services"]["openssh"]["ports"] == [2202]
    assert "isNormalUser" not in hardening["users"]["users"]["root"]


@pytest.mark.parametrize("host", [ORCHESTRATOR, RELAY, RELAY_2])
def test_secrets_directory_is_root_only_and_no_secret_is_ever_created(
    full_tree: Path, host: str
) -> None:
    rules = declared(full_tree, "secrets", host)["systemd"]["tmpfiles"]["rules"]
    assert rules[0] == f"d {SECRETS_DIR} 0700 root root -"
    # 'z' only adjusts an existing file; no rule type that writes content is used.
    assert all(rule.startswith("z ") and rule.endswith(" 0600 root root -") for rule in rules[1:])
    assert f"z {TAILSCALE_AUTH_KEY_FILE.path} 0600 root root -" in rules


def test_hostile_key_comment_reaches_nix_unchanged(full_tree: Path) -> None:
    settings = rendered_settings(full_tree / ORCHESTRATOR / "configuration.nix")
    assert settings["relaymd"]["hardening"]["authorizedKeys"] == [HOSTILE_ADMIN_KEY]
    # The comment tried to switch sshd off; the rendered file sets no such option.
    assert "services" not in settings


def test_configurations_import_the_right_modules(example_tree: Path) -> None:
    orchestrator = rendered_settings(example_tree / ORCHESTRATOR / "configuration.nix")
    relay = rendered_settings(example_tree / RELAY / "configuration.nix")
    names = {Path(path).name for path in orchestrator["imports"]}
    assert names == {
        "hardware-configuration.nix",
        "hardening.nix",
        "secrets.nix",
        "tailnet-node.nix",
        "orchestrator.nix",
    }
    assert {Path(path).name for path in relay["imports"]} == {
        "disko.nix",
        "proxmox-guest.nix",
        "hardening.nix",
        "secrets.nix",
        "tailnet-node.nix",
        "relay.nix",
        "infisical-relay.nix",
    }
    for path in relay["imports"] + orchestrator["imports"]:
        resolved = Path(path)
        assert resolved.is_relative_to(example_tree)
        assert resolved.is_file(), resolved
