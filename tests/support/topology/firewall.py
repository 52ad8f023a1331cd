"""nftables rules for one namespaced host, derived from the policy and its NixOS firewall.

Two filters guard a real node, in this order (tailscale v1.98.5):

1. tailscaled's packet filter, on everything arriving over WireGuard: the ``tailscaled-filter``
   table here, on ``tailscale0``. It mirrors wgengine/filter/filter.go (``runIn4``/``runIn6``)
   and net/tstun/wrap.go: TSMP (IP protocol 99) is answered before the filter and accepted by
   it; ICMP replies and errors pass; TCP packets other than a SYN pass (only a SYN opens a
   session); UDP replies to flows the node opened pass; a packet must be addressed to one of
   the node's own tailnet addresses; an ICMP echo passes from any source some rule lets reach
   that address on any port ("If any port is open to an IP, allow ICMP to it"); then the
   policy's rules (a rule without a protocol admits TCP, UDP and ICMP, filter/tailcfg.go
   ``defaultProtos``); everything else is dropped without a reply.
2. The kernel firewall. tailscaled's ``ts-input`` chain comes first
   (util/linuxfw/iptables_runner.go ``addBase4``, ``AddLoopbackRule``,
   ``buildExternalCGNATRules``): the node's own addresses on ``lo`` pass, everything on
   ``tailscale0`` passes (so the NixOS firewall never sees tailnet traffic), CGNAT sources on
   any other interface are dropped (except ChromeOS's 100.115.92.0/23, which returns). Then
   NixOS's rules (nixpkgs nixos-26.05, nixos/modules/services/networking/firewall.nix and
   firewall-iptables.nix): ``lo`` trusted, established traffic passes, the global and
   per-interface allowed ports pass, ICMP echo when ``allowPing``, the rest is dropped
   (``rejectPackets`` defaults to false).

Only tagged nodes have namespaces; user and group sources (the admins) have none, so their
rules admit nobody here.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from infra.verify.policy import ALL_PORTS, Party, Policy

TAILNET_INTERFACE = "tailscale0"
CGNAT_RANGE = "100.64.0.0/10"
TAILNET_IPV6_RANGE = "fd7a:115c:a1e0::/48"
"""Tailscale's IPv6 ULA range (tailscale v1.98.5 net/tsaddr, ``TailscaleULARange``)."""
CHROMEOS_VM_RANGE = "100.115.92.0/23"
"""net/tsaddr ``ChromeOSVMRange`` (v1.98.5)."""
TSMP = 99
ICMP_PASSING = (
    "icmp type { echo-reply, destination-unreachable, time-exceeded, parameter-problem } accept",
    "icmpv6 type { echo-reply, destination-unreachable, packet-too-big, time-exceeded, "
    "parameter-problem } accept",
)


@dataclass(frozen=True)
class TailnetNode:
    hostname: str
    tags: tuple[str, ...]
    address: str
    address6: str | None = None

    @property
    def addresses(self) -> tuple[str, ...]:
        return (self.address, *([self.address6] if self.address6 else []))

    def party(self) -> Party:
        return Party(self.tags, self.addresses)


@dataclass(frozen=True)
class Accept:
    """What one policy rule lets in: sources, the destination addresses it covers, how."""

    sources: tuple[str, ...]
    destinations: tuple[str, ...]
    protocols: frozenset[str]
    ports: tuple[tuple[int, int], ...]
    rule: str


@dataclass(frozen=True)
class NixosFirewall:
    """The firewall a host's NixOS configuration declares, upstream additions included."""

    tcp: tuple[str, ...] = ()
    udp: tuple[str, ...] = ()
    interfaces: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]] = field(default_factory=dict)
    """Interface → (TCP ports, UDP ports)."""
    trusted: tuple[str, ...] = ("lo",)
    allow_ping: bool = True


def _sources(
    policy: Policy, selectors: Iterable[str], nodes: Sequence[TailnetNode]
) -> tuple[str, ...]:
    chosen = list(selectors)
    if "*" in chosen:
        return (CGNAT_RANGE, TAILNET_IPV6_RANGE)
    found: list[str] = []
    for node in nodes:
        if any(policy.covers(selector, node.party()) for selector in chosen):
            found += node.addresses
    return tuple(found)


def accepts_for(
    policy: Policy, nodes: Sequence[TailnetNode], destination: TailnetNode
) -> list[Accept]:
    """What the policy lets reach ``destination``, per rule and destination selector."""
    others = [node for node in nodes if node != destination]
    accepts = []
    for rule in policy.rules:
        covered = tuple(
            address
            for address in destination.addresses
            if policy.covers(rule.destination, destination.party(), address)
        )
        sources = _sources(policy, rule.sources, others)
        if covered and sources:
            accepts.append(Accept(sources, covered, rule.protocols, rule.ports, rule.where))
    return accepts


def _family(address: str) -> str:
    """nftables' address match for one address or range: ``ip`` or ``ip6``."""
    return "ip6" if ":" in address else "ip"


def _set(items: Iterable[str]) -> str:
    return "{ " + ", ".join(items) + " }"


def _ports(spans: Iterable[tuple[int, int]]) -> str:
    return _set(str(low) if low == high else f"{low}-{high}" for low, high in spans)


def _accept_lines(accept: Accept) -> list[str]:
    """One line per family and protocol; ICMP follows the family (ICMPv6 for IPv6)."""
    lines = []
    for family in ("ip", "ip6"):
        sources = [source for source in accept.sources if _family(source) == family]
        targets = [target for target in accept.destinations if _family(target) == family]
        if not sources or not targets:
            continue
        match = f"{family} saddr {_set(sources)} {family} daddr {_set(targets)}"
        for proto in sorted(accept.protocols):
            if proto in ("tcp", "udp"):
                ports = (
                    "" if accept.ports == (ALL_PORTS,) else f" {proto} dport {_ports(accept.ports)}"
                )
                how = f"meta l4proto {proto}{ports}"
            elif proto == ("icmp" if family == "ip" else "icmpv6"):
                how = f"meta l4proto {proto}"
            elif proto.startswith("proto:"):
                how = f"meta l4proto {proto.removeprefix('proto:')}"
            else:
                continue
            lines.append(f'{match} {how} accept comment "{accept.rule}"')
    return lines


def _echo_lines(accepts: Sequence[Accept]) -> list[str]:
    """An echo request passes wherever a rule opens any port from its source to the address."""
    lines = []
    for accept in accepts:
        for family, kind in (("ip", "icmp"), ("ip6", "icmpv6")):
            sources = [source for source in accept.sources if _family(source) == family]
            targets = [target for target in accept.destinations if _family(target) == family]
            if sources and targets:
                lines.append(
                    f"{family} saddr {_set(sources)} {family} daddr {_set(targets)} "
                    f'{kind} type echo-request accept comment "{accept.rule}: a port is open"'
                )
    return lines


def _nixos_ports(proto: str, ports: Iterable[str]) -> str:
    listed = sorted(set(ports), key=lambda port: int(port.split("-")[0]))
    return f"{proto} dport {_set(listed)} accept" if listed else ""


def ruleset(addresses: Sequence[str], accepts: Sequence[Accept], firewall: NixosFirewall) -> str:
    """The complete nftables ruleset of one host (``nft -f``); ``addresses`` are its own, the
    tailnet ones first (``own``) and any the host answers on ``lo`` as its own after."""
    tailnet = [address for address in addresses if _tailnet(address)]
    own_v4 = [address for address in tailnet if _family(address) == "ip"]
    own_v6 = [address for address in tailnet if _family(address) == "ip6"]
    nixos = [f'iifname "{name}" accept' for name in firewall.trusted]
    nixos.append("ct state established,related accept")
    nixos += [
        line
        for line in (_nixos_ports("tcp", firewall.tcp), _nixos_ports("udp", firewall.udp))
        if line
    ]
    for name, (tcp, udp) in sorted(firewall.interfaces.items()):
        nixos += [
            f'iifname "{name}" {line}'
            for line in (_nixos_ports("tcp", tcp), _nixos_ports("udp", udp))
            if line
        ]
    if firewall.allow_ping:
        nixos.append("icmp type echo-request accept")
    nixos.append("drop")
    filter_lines = [
        f'iifname != "{TAILNET_INTERFACE}" accept',
        f'meta l4proto {TSMP} accept comment "TSMP: answered before the filter"',
        *ICMP_PASSING,
        'tcp flags & (syn | ack) != syn accept comment "only a SYN opens a session"',
        'ct state established,related accept comment "replies to flows this node opened"',
        *([f"meta nfproto ipv4 ip daddr != {_set(own_v4)} drop"] if own_v4 else []),
        *([f"meta nfproto ipv6 ip6 daddr != {_set(own_v6)} drop"] if own_v6 else []),
        *_echo_lines(accepts),
        *(line for accept in accepts for line in _accept_lines(accept)),
        "drop",
    ]
    return "\n".join(
        [
            "flush ruleset",
            "table inet tailscaled-filter {",
            "  chain input {",
            "    type filter hook input priority -10; policy accept;",
            *(f"    {line}" for line in filter_lines),
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


def _tailnet(address: str) -> bool:
    parsed = ipaddress.ip_address(address)
    return parsed in ipaddress.ip_network(CGNAT_RANGE) or parsed in ipaddress.ip_network(
        TAILNET_IPV6_RANGE
    )
