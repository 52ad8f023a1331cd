"""The topology's firewalls follow the policy and the NixOS firewall (pure part)."""

from __future__ import annotations

from typing import Any

from infra.verify.policy import read_policy
from tests.support.topology.firewall import NixosFirewall, TailnetNode, accepts_for, ruleset

ORCHESTRATOR = TailnetNode("o", ("tag:o",), "100.101.0.1", "fd7a:115c:a1e0::1")
WORKER_A = TailnetNode("a", ("tag:w",), "100.101.0.3", "fd7a:115c:a1e0::3")
WORKER_B = TailnetNode("b", ("tag:w",), "100.101.0.4", "fd7a:115c:a1e0::4")
NODES = [ORCHESTRATOR, WORKER_A, WORKER_B]
POLICY: dict[str, Any] = {
    "acls": [
        {"action": "accept", "src": ["tag:w"], "proto": "tcp", "dst": ["tag:o:36158"]},
        {"action": "accept", "src": ["alice@example.org"], "dst": ["tag:o:22"]},
    ]
}


def test_only_tag_sources_with_nodes_become_rules() -> None:
    (accept,) = accepts_for(read_policy(POLICY), NODES, ORCHESTRATOR)
    assert accept.sources == (*WORKER_A.addresses, *WORKER_B.addresses)
    assert (accept.protocols, accept.ports) == (frozenset({"tcp"}), ((36158, 36158),))
    assert accepts_for(read_policy(POLICY), NODES, WORKER_B) == []


def test_tailscaleds_filter_comes_first_and_mirrors_filter_go() -> None:
    """TSMP passes before the rules; an echo passes where a port is open; TCP only opens with
    a SYN; the destination must be the node's own; the rest drops without a reply."""
    accepts = accepts_for(read_policy(POLICY), NODES, ORCHESTRATOR)
    text = ruleset(list(ORCHESTRATOR.addresses), accepts, NixosFirewall())
    tsmp = text.index("meta l4proto 99 accept")
    rule = text.index("ip saddr { 100.101.0.3, 100.101.0.4 } ip daddr { 100.101.0.1 }")
    assert tsmp < rule < text.index("    drop\n  }\n}\ntable inet nixos-fw")
    assert "meta l4proto tcp tcp dport { 36158 } accept" in text
    assert "icmp type echo-request accept" in text.split("table inet nixos-fw")[0]
    assert "tcp flags & (syn | ack) != syn accept" in text
    assert "meta nfproto ipv4 ip daddr != { 100.101.0.1 } drop" in text


def test_a_rule_without_proto_admits_tcp_udp_and_icmp_of_each_family() -> None:
    opened = read_policy({"acls": [{"action": "accept", "src": ["tag:w"], "dst": ["tag:w:*"]}]})
    (accept,) = accepts_for(opened, NODES, WORKER_B)
    assert accept.sources == WORKER_A.addresses
    text = ruleset(list(WORKER_B.addresses), [accept], NixosFirewall())
    assert "ip saddr { 100.101.0.3 } ip daddr { 100.101.0.4 } meta l4proto icmp accept" in text
    assert "ip6 daddr { fd7a:115c:a1e0::4 } meta l4proto icmpv6 accept" in text
    assert "ip daddr { 100.101.0.4 } meta l4proto udp accept" in text


def test_an_address_selector_opens_that_address_only() -> None:
    """A hole to the IPv6 address leaves the IPv4 one closed."""
    hole = read_policy(
        {
            "acls": [
                {
                    "action": "accept",
                    "src": ["tag:w"],
                    "proto": "tcp",
                    "dst": ["[fd7a:115c:a1e0::1]:22"],
                }
            ]
        }
    )
    (accept,) = accepts_for(hole, NODES, ORCHESTRATOR)
    assert accept.destinations == ("fd7a:115c:a1e0::1",)
    text = ruleset(list(ORCHESTRATOR.addresses), [accept], NixosFirewall())
    assert "ip6 daddr { fd7a:115c:a1e0::1 } meta l4proto tcp tcp dport { 22 } accept" in text
    assert "ip daddr { 100.101.0.1 } meta l4proto tcp" not in text


def test_ruleset_drops_the_lan_by_nixos() -> None:
    firewall = NixosFirewall(
        tcp=("22", "60000-60010"), udp=("41641",), interfaces={"tailscale0": (("36158",), ())}
    )
    text = ruleset([ORCHESTRATOR.address], [], firewall)
    assert 'iifname "tailscale0" tcp dport { 36158 } accept' in text
    assert "tcp dport { 22, 60000-60010 } accept" in text
    # tailscaled accepts all of tailscale0 ahead of NixOS's rules; CGNAT elsewhere drops.
    assert text.index('iifname "tailscale0" accept') < text.index("jump nixos")
    assert 'iifname != "tailscale0" ip saddr 100.64.0.0/10 drop' in text


def test_a_wildcard_source_is_the_whole_tailnet() -> None:
    opened = read_policy({"acls": [{"action": "accept", "src": ["*"], "dst": ["tag:o:*"]}]})
    lines = ruleset([], accepts_for(opened, NODES, ORCHESTRATOR), NixosFirewall())
    assert "ip6 saddr { fd7a:115c:a1e0::/48 }" in lines
    assert "ip saddr { 100.64.0.0/10 }" in lines
