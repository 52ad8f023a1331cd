"""Stack variants for the NixOS rendering tests, and rendering them into a tree."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from infra.plan.files import write_tree
from tests.support.decided import decided_of
from tests.support.stacks import enable_infisical_relay, example_raw_config

HOSTILE_KEY_COMMENT = 'x" ; services.openssh.enable = false; "${builtins.abort "boom"}\\ \'\' $'
HOSTILE_ADMIN_KEY = (
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHGtgrslz7VGiM2OFqf1/QABHK+X2LzRwfKXv9S7+zpu "
    + HOSTILE_KEY_COMMENT
)


def full_raw_config() -> dict[str, Any]:
    """The example plus every optional relay feature, a second relay on a virtio disk and a
    hostile key."""
    raw = example_raw_config()
    relay = enable_infisical_relay(raw)["relays"][0]
    relay["guest_agent"] = True
    relay["tls_passthrough_upstream"] = "proxy.internal:443"
    second = dict(relay)
    second.update(
        name="relay-2",
        address="10.100.10.3/24",
        tailnet_hostname="relaymd-relay-2",
        infisical_relay=False,
        tls_passthrough_upstream=None,
        advertise_routes=[],
        boot_disk_interface="virtio0",
    )
    raw["relays"].append(second)
    raw["orchestrator"]["ssh_target"] = "root@orchestrator.lab.example.org"
    raw["orchestrator"]["ssh_port"] = 2202
    raw.setdefault("nixos", {})["admin_ssh_keys"] = [HOSTILE_ADMIN_KEY]
    return raw


def orchestrator_only_raw_config() -> dict[str, Any]:
    """No relay, and the orchestrator on other ports, another LAN interface and RelayMD's
    default storage provider."""
    raw = example_raw_config()
    raw["relays"] = []
    raw.pop("proxmox", None)
    raw["orchestrator"].pop("storage_provider", None)
    raw["orchestrator"].update(port=36200, ssh_port=2222, lan_interface="enp1s0")
    return raw


def render_tree(raw: dict[str, Any], directory: Path) -> dict[str, str]:
    """Render every artifact of ``raw`` into ``directory``; return the NixOS files."""
    files = dict(decided_of(raw).artifacts)
    write_tree(directory, files)
    return {path: text for path, text in files.items() if path.startswith("nixos/")}
