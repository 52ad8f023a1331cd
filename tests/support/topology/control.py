"""Stand-in for Tailscale's control plane (the coordination server): the netmap each node gets.

A netmap holds what the checks look at (tailscale v1.98.5 ``tailcfg.MapResponse`` as the node
reports it in ``ipnstate.Status``): the node itself (tags, tailnet addresses, MagicDNS name,
whether it is connected to control) and its peers. A peer is every other node the policy
gives a path to or from it: Tailscale trims the rest from the netmap (KB 1087, "netmap
trimming"; for either direction, see headscale#1961), so a node has no WireGuard peer, no route
and no ``Peer`` entry for them. Each peer comes with its WireGuard key, its endpoint (its
underlay address: reached directly), its addresses as AllowedIPs, its tags and ``Online``,
whether control sees it connected.

Not mirrored: registration, auth keys and key expiry; DERP and NAT traversal (every endpoint is
reachable on one flat underlay); the distribution of the packet filter (the topology applies the
policy with nftables itself, firewall.py); subnet routes; the real MagicDNS resolver (a dnsmasq
stand-in serves the names, topology.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from infra.verify.policy import Party, Policy

LISTEN_PORT = 41641
"""tailscaled's default WireGuard port (tailscale v1.98.5 cmd/tailscaled: ``--port`` 41641)."""


@dataclass(frozen=True)
class Member:
    """A node as control knows it."""

    hostname: str
    dns_label: str
    tags: tuple[str, ...]
    addresses: tuple[str, ...]
    public_key: str
    """WireGuard's base64 public key, which is also the node key."""
    endpoint: str
    connected: bool
    """Connected to control: tailscaled runs and is logged in (BackendState Running)."""

    def party(self) -> Party:
        return Party(self.tags, self.addresses)

    def entry(self) -> dict[str, Any]:
        return {
            "HostName": self.hostname,
            "DNSLabel": self.dns_label,
            "Tags": list(self.tags),
            "TailscaleIPs": list(self.addresses),
            "PublicKey": self.public_key,
            "Online": self.connected,
        }


def peers_of(policy: Policy, me: Member, members: Sequence[Member]) -> list[Member]:
    return [
        other
        for other in members
        if other.hostname != me.hostname and policy.peers(me.party(), other.party())
    ]


def netmap(
    policy: Policy,
    me: Member,
    members: Sequence[Member],
    *,
    backend_state: str,
    suffix: str,
    private_key_file: str,
) -> dict[str, Any]:
    """The document the stand-in tailscaled of ``me`` reads (standins/tailscaled.py)."""
    running = backend_state == "Running"
    return {
        "BackendState": backend_state,
        "MagicDNSSuffix": suffix,
        "PrivateKeyFile": private_key_file,
        "ListenPort": LISTEN_PORT,
        "Self": me.entry(),
        # Logged out, a node has no netmap at all.
        "Peers": [
            {
                **peer.entry(),
                "Endpoint": peer.endpoint,
                "AllowedIPs": [
                    f"{address}/{128 if ':' in address else 32}" for address in peer.addresses
                ],
            }
            for peer in (peers_of(policy, me, members) if running else [])
        ],
    }
