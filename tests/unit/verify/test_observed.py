"""Reading what a host reports: tailscale status --json and ss -Htuln, typed and bounded."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.verify.observed import ObservedError, parse_listeners, parse_status

PEER = {
    "HostName": "relaymd-orchestrator",
    "DNSName": "relaymd-orchestrator.tail0a1b2c.ts.net.",
    "TailscaleIPs": ["100.101.0.1", "fd7a:115c:a1e0::1"],
    "AllowedIPs": ["100.101.0.1/32", "fd7a:115c:a1e0::1/128"],
    "Tags": ["tag:relaymd-orchestrator"],
    "Online": True,
}


def status(**change: Any) -> str:
    document = {
        "BackendState": "Running",
        "Self": {"HostName": "w", "TailscaleIPs": ["100.101.0.3"], "Online": True},
        "Peer": {"nodekey:ab": PEER},
    }
    return json.dumps({**document, **change})


def test_status_self_peers_and_omitted_fields() -> None:
    read = parse_status(status())
    assert read.backend_state == "Running"
    assert read.me.tags == ()  # Tags is omitted when empty (omitempty)
    peer = read.peer_at("fd7a:115c:a1e0::1")
    assert peer is not None and peer.tags == ("tag:relaymd-orchestrator",) and peer.online
    assert peer.ipv4 == "100.101.0.1" and peer.ipv6 == "fd7a:115c:a1e0::1"
    assert peer.routes() == ()  # its own addresses are not routes
    assert read.route_to("10.100.10.1") is None


def test_a_subnet_router_carries_its_routes() -> None:
    router = {**PEER, "AllowedIPs": [*PEER["AllowedIPs"], "10.100.10.0/24"]}
    read = parse_status(status(Peer={"nodekey:cd": router}))
    found = read.route_to("10.100.10.1")
    assert found is not None and found.hostname == "relaymd-orchestrator"


def test_a_logged_out_node_has_no_peers_and_may_have_no_self() -> None:
    read = parse_status(status(BackendState="NeedsLogin", Peer=None, Self=None))
    assert (read.backend_state, read.peers, read.me.online) == ("NeedsLogin", (), False)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("not json", "printed no JSON"),
        ("[1]", "printed no object"),
        (status(Self={"Online": "yes"}), "Self.Online"),
        (status(Peer={"nodekey:ab": {**PEER, "Tags": "tag:x"}}), "Tags"),
        (status(BackendState="x" * 5000), "BackendState"),
        ("[" * 100_000 + "]" * 100_000, "printed no JSON"),
        (" " * (33 * 1024 * 1024), "more than expected"),
    ],
)
def test_a_status_not_in_shape_is_refused_in_words(text: str, says: str) -> None:
    with pytest.raises(ObservedError) as raised:
        parse_status(text)
    assert says in str(raised.value)


SS = """\
udp   UNCONN 0      0        100.101.0.2%tailscale0:53        0.0.0.0:*
udp   UNCONN 0      0                   0.0.0.0:41641      0.0.0.0:*
tcp   LISTEN 0      128               127.0.0.1:36159      0.0.0.0:*
tcp   LISTEN 0      128                 0.0.0.0:22         0.0.0.0:*
tcp   LISTEN 0      128                    [::]:22            [::]:*
tcp   LISTEN 0      4096                      *:8080             *:*
"""


def test_listening_sockets_and_whom_they_serve() -> None:
    dns, wireguard, dashboard, ssh4, ssh6, dual = parse_listeners(SS)
    assert (dns.proto, dns.address, dns.port, dns.interface) == (
        "udp",
        "100.101.0.2",
        53,
        "tailscale0",
    )
    assert dns.serves("100.101.0.2") and not dns.serves("fd7a:115c:a1e0::2")
    assert dashboard.loopback and not ssh4.loopback
    assert ssh4.serves("100.101.0.2") and not ssh4.serves("fd7a:115c:a1e0::2")
    assert ssh6.serves("fd7a:115c:a1e0::2")
    assert dual.serves("100.101.0.2") and dual.serves("fd7a:115c:a1e0::2")
    assert wireguard.port == 41641


@pytest.mark.parametrize(
    "line",
    [
        "tcp LISTEN 0 128 0.0.0.0:http 0.0.0.0:*",
        "raw UNCONN 0 0 *:1 *:*",
        "tcp LISTEN",
        "tcp LISTEN 0 1 nonsense:22 *:*",
    ],
)
def test_an_unexpected_ss_line_is_refused(line: str) -> None:
    with pytest.raises(ObservedError, match="ss"):
        parse_listeners(line)
