"""verify's reading of the rendered policy: acls and grants, the protocols a rule admits, which
nodes are peers, what the tests deny, and refusals that name the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from infra.ground import hujson
from infra.verify.policy import (
    DEFAULT_PROTOCOLS,
    Party,
    PolicyError,
    read_policy,
    tag_sources,
    untestable_sources,
)

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "example"
ORCHESTRATOR = Party(("tag:relaymd-orchestrator",), ("100.101.0.1", "fd7a:115c:a1e0::1"))
RELAY = Party(("tag:relaymd-relay",), ("100.101.0.2",))
WORKER = Party(("tag:relaymd-worker",), ("100.101.0.3", "fd7a:115c:a1e0::3"))


def example() -> Any:
    return read_policy(hujson.parse((GOLDEN / "tailscale" / "policy.hujson").read_text()))


def test_the_example_policy_as_a_worker_sees_it() -> None:
    policy = example()
    assert policy.allows(WORKER, ORCHESTRATOR, "tcp", 36158)
    assert not policy.allows(WORKER, ORCHESTRATOR, "tcp", 22)
    assert not policy.allows(WORKER, ORCHESTRATOR, "udp", 36158)  # the rule says tcp
    assert policy.allowed_ports(WORKER, ORCHESTRATOR, "tcp") == ((36158, 36158),)
    # Netmap trimming: peers only where some rule opens a path either way.
    assert policy.peers(WORKER, ORCHESTRATOR) and policy.peers(ORCHESTRATOR, WORKER)
    assert not policy.peers(WORKER, RELAY)
    assert not policy.peers(ORCHESTRATOR, RELAY)
    assert not policy.peers(WORKER, WORKER)
    assert not policy.opens_any(ORCHESTRATOR, WORKER)  # so no ICMP echo either
    assert tag_sources(policy) == [
        "tag:relaymd-worker",
        "tag:relaymd-orchestrator",
        "tag:relaymd-relay",
    ]
    assert untestable_sources(policy) == ["alice@example.org", "bob@example.org"]


def test_the_tests_denies_with_their_protocols() -> None:
    denials = {(d.source, d.destination, d.port): d for d in example().denials}
    worker_ssh = denials[("tag:relaymd-worker", "tag:relaymd-relay", 22)]
    assert worker_ssh.protocols == DEFAULT_PROTOCOLS  # no proto: the default set
    assert ("tag:relaymd-orchestrator", "tag:relaymd-worker", 22) in denials
    assert ("tag:relaymd-worker", "10.100.10.1", 22) in denials
    proto = read_policy({"tests": [{"src": "tag:w", "proto": "udp", "deny": ["[fd7a::1]:53"]}]})
    (denial,) = proto.denials
    assert (denial.destination, denial.port, denial.protocols) == ("fd7a::1", 53, {"udp"})


def test_grants_a_bare_port_admits_tcp_udp_and_icmp() -> None:
    """tailcfg.FilterRule: no IPProto means TCP, UDP and ICMP (SaaS capture grant-j6)."""
    policy = read_policy(
        {
            "grants": [
                {"src": ["tag:relaymd-worker"], "dst": ["tag:relaymd-relay"], "ip": ["53"]},
                {
                    "src": ["tag:relaymd-worker"],
                    "dst": ["tag:relaymd-orchestrator"],
                    "ip": ["tcp:22", "icmp:*"],
                },
            ]
        }
    )
    assert policy.allows(WORKER, RELAY, "udp", 53) and policy.allows(WORKER, RELAY, "tcp", 53)
    assert policy.allows(WORKER, RELAY, "icmp", 53)
    assert policy.allows(WORKER, ORCHESTRATOR, "tcp", 22)
    assert not policy.allows(WORKER, ORCHESTRATOR, "udp", 22)
    assert policy.allows(WORKER, ORCHESTRATOR, "icmp", 0)
    assert not policy.allows(WORKER, ORCHESTRATOR, "icmpv6", 0)  # icmp:* is ICMPv4 only


def test_selectors_wildcard_autogroup_addresses_and_host_aliases() -> None:
    policy = read_policy(
        {
            "hosts": {"orchestrator-v6": "fd7a:115c:a1e0::1"},
            "acls": [
                {"action": "accept", "src": ["autogroup:tagged"], "dst": ["orchestrator-v6:22"]},
                {"action": "accept", "src": ["*"], "proto": "tcp", "dst": ["100.101.0.0/24:80"]},
                {"action": "accept", "src": ["group:admins"], "dst": ["*:*"]},
            ],
        }
    )
    # An address selector opens that address only: the hole is IPv6-only.
    assert policy.allows(WORKER, ORCHESTRATOR, "tcp", 22, "fd7a:115c:a1e0::1")
    assert not policy.allows(WORKER, ORCHESTRATOR, "tcp", 22, "100.101.0.1")
    assert policy.allows(RELAY, ORCHESTRATOR, "tcp", 80, "100.101.0.1")
    assert not policy.allows(Party(()), RELAY, "tcp", 22)  # a group: no tagged node


@pytest.mark.parametrize(
    ("document", "named"),
    [
        ({"acls": {}}, "acls: got dict; expected a list"),
        (
            {"acls": [{"src": ["tag:w"], "dst": ["host"]}]},
            "acls[0].dst[0]: 'host' has no ':<ports>'",
        ),
        ({"acls": [{"src": ["tag:w"], "dst": ["tag:o:70000"]}]}, "port '70000'"),
        ({"acls": [{"src": ["tag:w"], "dst": ["tag:o:30-20"]}]}, "runs backwards"),
        ({"acls": [{"action": "deny", "src": [], "dst": []}]}, "acls[0].action"),
        ({"acls": [{"src": ["tag:w"], "proto": "quic", "dst": ["tag:o:1"]}]}, "unknown protocol"),
        (
            {"grants": [{"src": ["tag:\x1b[2J"], "dst": ["tag:o"], "ip": ["*"]}]},
            "control characters",
        ),
        ({"tests": [{"src": "tag:w", "deny": ["tag:o:x"]}]}, "tests[0].deny[0]: port 'x'"),
        ({"tests": [{"deny": ["tag:o:1"]}]}, "tests[0].src"),
        ({"acls": [{"src": ["tag:w"], "dst": ["tag:o:1"]}] * 10_001}, "at most 10000"),
        ("not a policy", "expected the policy document"),
    ],
)
def test_a_policy_that_does_not_read_is_refused_naming_the_field(
    document: object, named: str
) -> None:
    with pytest.raises(PolicyError) as raised:
        read_policy(document)
    assert named in str(raised.value)
