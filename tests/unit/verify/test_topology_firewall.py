"""The topology's firewalls follow the rendered policy and NixOS firewall (pure part)."""

from __future__ import annotations

from typing import Any

from tests.support.topology.firewall import NixosFirewall, TailnetNode, accepts_for, ruleset

ORCHESTRATOR = TailnetNode("o", ("tag:o",), "100.101.0.1")
WORKER_A = TailnetNode("a", ("tag:w",), "100.101.0.3")
WORKER_B = TailnetNode("b", ("tag:w",), "100.101.0.4")
NODES = [ORCHESTRATOR, WORKER_A, WORKER_B]
POLICY: dict[str, Any] = {
    "acls": [
        {"action": "accept", "src": ["tag:w"], "proto": "tcp", "dst": ["tag:o:36158"]},
        {"action": "accept", "src": ["alice@example.org"], "dst": ["tag:o:22"]},
    ]
}


def test_only_tag_sources_with_nodes_become_rules() -> None:
    (accept,) = accepts_for(POLICY, NODES, ORCHESTRATOR)
    assert accept.sources == ("100.101.0.3", "100.101.0.4")
    assert (accept.proto, accept.ports) == ("tcp", "36158")
    assert accepts_for(POLICY, NODES, WORKER_B) == []


def test_a_rule_without_proto_admits_tcp_udp_and_icmp() -> None:
    opened = {"acls": [{"action": "accept", "src": ["tag:w"], "dst": ["tag:w:*"]}]}
    accepts = accepts_for(opened, NODES, WORKER_B)
    assert {accept.proto for accept in accepts} == {"tcp", "udp", "icmp"}
    assert all(accept.sources == ("100.101.0.3",) for accept in accepts)


def test_ruleset_drops_the_tailnet_by_policy_and_the_lan_by_nixos() -> None:
    firewall = NixosFirewall(
        tcp=("22", "60000-60010"), udp=("41641",), interfaces={"tailscale0": (("36158",), ())}
    )
    text = ruleset([ORCHESTRATOR.address], accepts_for(POLICY, NODES, ORCHESTRATOR), firewall)
    assert "ip saddr { 100.101.0.3, 100.101.0.4 } tcp dport { 36158 } accept" in text
    assert 'iifname "tailscale0" tcp dport { 36158 } accept' in text
    assert "tcp dport { 22, 60000-60010 } accept" in text
    # tailscaled accepts all of tailscale0 ahead of NixOS's rules; CGNAT elsewhere drops.
    assert text.index('iifname "tailscale0" accept') < text.index("jump nixos")
    assert 'iifname != "tailscale0" ip saddr 100.64.0.0/10 drop' in text


def test_ipv6_sources_get_their_own_line_and_icmpv6() -> None:
    orchestrator = TailnetNode("o", ("tag:o",), "100.101.0.1", "fd7a:115c:a1e0::1")
    worker = TailnetNode("a", ("tag:w",), "100.101.0.3", "fd7a:115c:a1e0::3")
    (accept,) = accepts_for(POLICY, [orchestrator, worker], orchestrator)
    assert accept.sources == ("100.101.0.3", "fd7a:115c:a1e0::3")
    text = ruleset([orchestrator.address, str(orchestrator.address6)], [accept], NixosFirewall())
    assert "ip saddr { 100.101.0.3 } tcp dport { 36158 } accept" in text
    assert "ip6 saddr { fd7a:115c:a1e0::3 } tcp dport { 36158 } accept" in text
    assert 'iifname "lo" ip6 saddr fd7a:115c:a1e0::1 accept' in text
    opened = {"acls": [{"action": "accept", "src": ["*"], "dst": ["tag:o:*"]}]}
    lines = ruleset([], accepts_for(opened, [orchestrator, worker], orchestrator), NixosFirewall())
    assert "ip6 saddr { fd7a:115c:a1e0::/48 } meta l4proto icmpv6 accept" in lines
    assert "ip saddr { 100.64.0.0/10 } meta l4proto icmp accept" in lines
