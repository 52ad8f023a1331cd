"""A host's firewall and dnsmasq settings, from its rendered NixOS configuration evaluated whole.

:func:`tests.support.nixeval.evaluate_host` runs the real module system over the rendered
``configuration.nix``, the project's modules and the transcribed upstream NixOS modules
(``tests/support/nix/upstream``), so what upstream adds is in: sshd's and tailscale's
``openFirewall`` ports, ``lo`` among the trusted interfaces, dnsmasq's defaults. The global
allowed ports are ``allInterfaces.default`` (nixpkgs firewall.nix). The RelayMD container's
environment gives the address its API binds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from tests.support.nixeval import evaluate_host, rendered_settings
from tests.support.topology.firewall import NixosFirewall

GLOBAL = "default"
ORCHESTRATOR_CONTAINER = "relaymd-orchestrator"
IPV6_FORWARD_UNIT = "relaymd-orchestrator-ipv6"
LISTEN_VARIABLE = "RELAYMD_ORCHESTRATOR_HOST"
RELAYMD_DEFAULT_LISTEN = "127.0.0.1"
"""RelayMD 0.2.21 binds loopback unless RELAYMD_ORCHESTRATOR_HOST says otherwise."""


@dataclass(frozen=True)
class Ipv6Forward:
    """The orchestrator's IPv6 socket unit and the systemd-socket-proxyd it activates."""

    listen: str
    """ListenStream, e.g. ``[::]:36158``."""
    ipv6_only: bool
    """BindIPv6Only=ipv6-only."""
    target: str
    """systemd-socket-proxyd's HOST:PORT."""


@dataclass(frozen=True)
class HostDeclarations:
    settings: Mapping[str, Any]
    """The rendered file's own values (relaymd.*, networking.hostName)."""
    firewall: NixosFirewall
    dnsmasq: Mapping[str, Any] | None
    ssh_ports: tuple[int, ...]
    api_listen: str | None = None
    """The RelayMD container's RELAYMD_ORCHESTRATOR_HOST (None: no orchestrator here)."""
    api_ipv6_forward: Ipv6Forward | None = None


def _ports(section: Mapping[str, Any], protocol: str) -> tuple[str, ...]:
    ports = [str(port) for port in section.get(f"allowed{protocol}Ports", [])]
    ranges = section.get(f"allowed{protocol}PortRanges", [])
    return (*ports, *(f"{span['from']}-{span['to']}" for span in ranges))


@cache
def host_declarations(configuration: Path) -> HostDeclarations:
    evaluated = evaluate_host(configuration)
    declared = evaluated["firewall"]
    interfaces = declared["interfaces"]
    firewall = NixosFirewall(
        tcp=_ports(interfaces.get(GLOBAL, {}), "TCP"),
        udp=_ports(interfaces.get(GLOBAL, {}), "UDP"),
        interfaces={
            name: (_ports(section, "TCP"), _ports(section, "UDP"))
            for name, section in interfaces.items()
            if name != GLOBAL
        },
        trusted=tuple(declared["trustedInterfaces"]),
        allow_ping=bool(declared["allowPing"]),
    )
    dnsmasq = evaluated["dnsmasq"]
    container = evaluated["containers"].get(ORCHESTRATOR_CONTAINER)
    socket = evaluated["sockets"].get(IPV6_FORWARD_UNIT)
    forward = None
    if socket is not None:
        (listen,) = socket["listenStreams"]
        exec_start = evaluated["services"][IPV6_FORWARD_UNIT]["serviceConfig"]["ExecStart"]
        forward = Ipv6Forward(
            listen=listen,
            ipv6_only=socket["socketConfig"].get("BindIPv6Only") == "ipv6-only",
            target=exec_start.split()[-1],
        )
    return HostDeclarations(
        settings=rendered_settings(configuration),
        firewall=firewall,
        dnsmasq=dnsmasq["settings"] if dnsmasq["enable"] else None,
        ssh_ports=tuple(int(port) for port in evaluated["openssh"]["ports"]),
        api_listen=(
            container["environment"].get(LISTEN_VARIABLE, RELAYMD_DEFAULT_LISTEN)
            if container
            else None
        ),
        api_ipv6_forward=forward,
    )
