"""A host's firewall and dnsmasq settings, read from its rendered NixOS configuration.

Each relaymd module the rendered ``configuration.nix`` imports is evaluated with real Nix
(:mod:`tests.support.nixeval`), and the declarations are merged. Upstream modules add
ports of their own, transcribed from nixpkgs nixos-24.11:
- ``services.openssh.openFirewall`` opens ``services.openssh.ports`` on every interface
  (nixos/modules/services/networking/ssh/sshd.nix);
- ``services.tailscale.openFirewall`` opens UDP ``services.tailscale.port``, default
  41641 (nixos/modules/services/networking/tailscale.nix);
- ``networking.firewall.trustedInterfaces`` always holds ``lo``, and ``allowPing``
  defaults to true (nixos/modules/services/networking/firewall.nix).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.nixeval import evaluate_module, rendered_settings
from tests.support.topology.firewall import NixosFirewall

TAILSCALE_DEFAULT_PORT = 41641


@dataclass(frozen=True)
class HostDeclarations:
    settings: Mapping[str, Any]
    """The rendered file's own values (relaymd.*, networking.hostName)."""
    firewall: NixosFirewall
    dnsmasq: Mapping[str, Any] | None
    ssh_ports: tuple[int, ...]


def _merge(into: dict[str, Any], declared: Mapping[str, Any]) -> None:
    for key, value in declared.items():
        if isinstance(value, Mapping) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        elif isinstance(value, list) and isinstance(into.get(key), list):
            into[key] = [*into[key], *value]
        else:
            into[key] = value if not isinstance(value, Mapping) else dict(value)


def _declared(configuration: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    settings = rendered_settings(configuration)
    merged: dict[str, Any] = {}
    for module in settings["imports"]:
        if "/modules/" in module:
            declared = evaluate_module(Path(module), configuration)["declared"]
            _merge(merged, declared or {})
    return settings, merged


def _ports(section: Mapping[str, Any], key: str) -> tuple[int, ...]:
    return tuple(int(port) for port in section.get(key, []))


def host_declarations(configuration: Path) -> HostDeclarations:
    settings, declared = _declared(configuration)
    networking = declared.get("networking", {}).get("firewall", {})
    services = declared.get("services", {})
    openssh = services.get("openssh", {})
    tailscale = services.get("tailscale", {})
    ssh_ports = _ports(openssh, "ports") or (22,)
    tcp = list(_ports(networking, "allowedTCPPorts"))
    udp = list(_ports(networking, "allowedUDPPorts"))
    if openssh.get("openFirewall"):
        tcp += ssh_ports
    if tailscale.get("openFirewall"):
        udp.append(int(tailscale.get("port", TAILSCALE_DEFAULT_PORT)))
    interfaces = {
        name: (_ports(section, "allowedTCPPorts"), _ports(section, "allowedUDPPorts"))
        for name, section in networking.get("interfaces", {}).items()
    }
    firewall = NixosFirewall(
        tcp=tuple(tcp),
        udp=tuple(udp),
        interfaces=interfaces,
        trusted=("lo", *networking.get("trustedInterfaces", [])),
        allow_ping=bool(networking.get("allowPing", True)),
    )
    dnsmasq = services.get("dnsmasq")
    return HostDeclarations(
        settings=settings,
        firewall=firewall,
        dnsmasq=dnsmasq.get("settings") if dnsmasq and dnsmasq.get("enable") else None,
        ssh_ports=ssh_ports,
    )
