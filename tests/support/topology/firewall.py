"""nftables rules for one namespaced host, derived from the rendered policy and NixOS firewall.

Two filters guard a real node, in this order:

1. tailscaled's packet filter, applied to everything arriving over the tailnet. It
   accepts what the policy's ``acls`` accept and drops the rest without a reply
   (tailscale v1.84.3 wgengine/filter/filter.go: ``Drop``), keeping return traffic of
   connections the node opened. Rules without ``proto`` cover TCP, UDP and ICMP.
2. The kernel firewall. tailscaled inserts its ``ts-input`` chain first
   (util/linuxfw/iptables_runner.go, ``addBase4``): CGNAT sources (100.64.0.0/10, except
   ChromeOS's 100.115.92.0/23) on any other interface are dropped, except the node's own
   address on ``lo`` (``AddLoopbackRule``), and everything on
   ``tailscale0`` is accepted, so the NixOS firewall never sees tailnet traffic. On
   every other interface NixOS's rules apply (nixpkgs nixos-26.05,
   nixos/modules/services/networking/firewall.nix and firewall-iptables.nix): ``lo`` is
   trusted, established traffic passes, the global and per-interface allowed ports
   pass, ICMP echo when ``allowPing``, and the rest is dropped (``rejectPackets``
   defaults to false).

Only tag sources have nodes here; user and group sources (the admins) have none.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

TAILNET_INTERFACE = "tailscale0"
CGNAT_RANGE = "100.64.0.0/10"
TAILNET_IPV6_RANGE = "fd7a:115c:a1e0::/48"
"""Tailscale's IPv6 ULA range (tailscale v1.84.3 net/tsaddr, ``TailscaleULARange``)."""
NEIGHBOUR_DISCOVERY = "icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept"
"""The namespaced tailscale0 is a veth, which resolves IPv6 neighbours; the real one is a
layer-3 tun that needs none, so this admits nothing tailscaled's filter would see."""
CHROMEOS_VM_RANGE = "100.115.92.0/23"
DEFAULT_PROTOCOLS = ("tcp", "udp", "icmp")
"""What a rule without ``proto`` admits: tailscale v1.84.3 wgengine/filter/tailcfg.go
``defaultProtos`` (TCP, UDP, ICMPv4, ICMPv6; "icmp" here stands for both)."""


@dataclass(frozen=True)
class TailnetNode:
    hostname: str
    tags: tuple[str, ...]
    address: str
    address6: str | None = None


@dataclass(frozen=True)
class Accept:
    """Sources, protocol and ports one policy rule lets reach one node."""

    sources: tuple[str, ...]
    proto: str
    ports: str
    rule: str


@dataclass(frozen=True)
class NixosFirewall:
    """The firewall a host's NixOS configuration declares, upstream additions included."""

    tcp: tuple[int, ...] = ()
    udp: tuple[int, ...] = ()
    interfaces: Mapping[str, tuple[tuple[int, ...], tuple[int, ...]]] = field(default_factory=dict)
    """Interface → (TCP ports, UDP ports)."""
    trusted: tuple[str, ...] = ("lo",)
    allow_ping: bool = True


def _selector_covers(selector: str, node: TailnetNode) -> bool:
    if selector == "*" or selector in node.tags:
        return True
    try:
        network = ipaddress.ip_network(selector, strict=False)
    except ValueError:
        return False
    return any(
        ipaddress.ip_address(address) in network
        for address in (node.address, node.address6)
        if address
    )


def _sources(selectors: Iterable[str], nodes: Sequence[TailnetNode]) -> tuple[str, ...]:
    if "*" in selectors:
        return (CGNAT_RANGE, TAILNET_IPV6_RANGE)
    chosen = [node for node in nodes if set(selectors) & set(node.tags)]
    return tuple(node.address for node in chosen) + tuple(
        node.address6 for node in chosen if node.address6
    )


def accepts_for(
    policy: Mapping[str, Any], nodes: Sequence[TailnetNode], destination: TailnetNode
) -> list[Accept]:
    """What the policy's ``acls`` let reach ``destination``, per rule and destination entry."""
    accepts: list[Accept] = []
    for index, rule in enumerate(policy.get("acls", [])):
        if rule.get("action") != "accept":
            continue
        sources = _sources(rule.get("src", []), [n for n in nodes if n != destination])
        if not sources:
            continue
        protocols = (rule["proto"],) if rule.get("proto") else DEFAULT_PROTOCOLS
        for entry in rule.get("dst", []):
            selector, _, ports = str(entry).rpartition(":")
            if _selector_covers(selector, destination):
                accepts += [Accept(sources, proto, ports, f"acls[{index}]") for proto in protocols]
    return accepts


def _port_set(ports: str) -> str:
    return "{ " + ", ".join(part for part in ports.split(",")) + " }"


def _family(address: str) -> str:
    """nftables' address match for one address or range: ``ip`` or ``ip6``."""
    return "ip6" if ":" in address else "ip"


def _accept_lines(accept: Accept) -> list[str]:
    """One line per address family among the sources (ICMP is ICMPv6 for IPv6)."""
    lines = []
    for family in ("ip", "ip6"):
        sources = [source for source in accept.sources if _family(source) == family]
        if not sources:
            continue
        if accept.proto == "icmp" or accept.ports == "*":
            proto = "icmpv6" if accept.proto == "icmp" and family == "ip6" else accept.proto
            protocol = f"meta l4proto {proto}"
        else:
            protocol = f"{accept.proto} dport {_port_set(accept.ports)}"
        listed = "{ " + ", ".join(sources) + " }"
        lines.append(f'{family} saddr {listed} {protocol} accept comment "{accept.rule}"')
    return lines


def _ports(proto: str, ports: Iterable[str]) -> str:
    listed = sorted(set(ports), key=lambda port: int(port.split("-")[0]))
    return f"{proto} dport {{ {', '.join(listed)} }} accept" if listed else ""


def ruleset(addresses: Sequence[str], accepts: Sequence[Accept], firewall: NixosFirewall) -> str:
    """The complete nftables ruleset of one host (``nft -f``); ``addresses`` are its own."""
    acl = [line for accept in accepts for line in _accept_lines(accept)]
    nixos = [f'iifname "{name}" accept' for name in firewall.trusted]
    nixos.append("ct state established,related accept")
    nixos += [line for line in (_ports("tcp", firewall.tcp), _ports("udp", firewall.udp)) if line]
    for name, (tcp, udp) in sorted(firewall.interfaces.items()):
        nixos += [
            f'iifname "{name}" {line}' for line in (_ports("tcp", tcp), _ports("udp", udp)) if line
        ]
    if firewall.allow_ping:
        nixos.append("icmp type echo-request accept")
    nixos.append("drop")
    return "\n".join(
        [
            "flush ruleset",
            "table inet tailscaled-filter {",
            "  chain input {",
            "    type filter hook input priority -10; policy accept;",
            f'    iifname != "{TAILNET_INTERFACE}" accept',
            "    ct state established,related accept",
            f"    {NEIGHBOUR_DISCOVERY}",
            *(f"    {line}" for line in acl),
            "    drop",
            "  }",
            "}",
            "table inet nixos-fw {",
            "  chain input {",
            "    type filter hook input priority 0; policy drop;",
            *(
                f'    iifname "lo" {_family(address)} saddr {address} accept'
                for address in addresses
            ),
            f'    iifname "{TAILNET_INTERFACE}" accept',
            f'    iifname != "{TAILNET_INTERFACE}" ip saddr {CHROMEOS_VM_RANGE} jump nixos',
            f'    iifname != "{TAILNET_INTERFACE}" ip saddr {CGNAT_RANGE} drop',
            "    jump nixos",
            "  }",
            "  chain nixos {",
            *(f"    {line}" for line in nixos),
            "  }",
            "}",
            "",
        ]
    )
