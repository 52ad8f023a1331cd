"""Generated stacks, each host evaluated whole: whatever the settings, no assertion fails, no
warning is raised, and the ports land where the design says (the API and DNS on the tailnet
interface only, SSH and tailscaled's UDP port on every interface)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.nixeval import evaluate_host, require_pinned_sources
from tests.support.nixos_stacks import render_tree
from tests.support.stacks import TEST_INFISICAL_CLI_SHA256, example_raw_config

pytestmark = pytest.mark.nix

TAILSCALE_UDP = 41641
INFISICAL_RELAY_PORTS = {8443, 2222}


@st.composite
def stacks(draw: st.DrawFn) -> dict[str, Any]:
    raw = example_raw_config()
    orchestrator = raw["orchestrator"]
    orchestrator["ssh_port"] = draw(st.sampled_from([22, 2202, 60022]))
    orchestrator["port"] = draw(st.sampled_from([36158, 8080, 40000]))
    orchestrator["lan_interface"] = draw(st.sampled_from(["eth0", "enp1s0", "br0"]))
    if draw(st.booleans()):
        orchestrator["ssh_target"] = "root@orchestrator.lab.example.org"
    template = raw["relays"][0]
    relays = []
    for index in range(draw(st.integers(min_value=0, max_value=2))):
        relay = dict(template)
        relay.update(
            name=f"relay-{index + 1}",
            address=f"10.100.10.{index + 2}/24",
            tailnet_hostname=f"relaymd-relay-{index + 1}",
            advertise_routes=draw(st.sampled_from([[], ["10.100.10.0/24"]])),
            tls_passthrough_upstream=draw(st.sampled_from([None, "proxy.internal:443"])),
            infisical_relay=draw(st.booleans()),
            guest_agent=draw(st.booleans()),
        )
        relays.append(relay)
    raw["relays"] = relays
    if any(relay["infisical_relay"] for relay in relays):
        # The CLI's hash, as scripts/nixpkgs-pin would record it (a test value, never fetched).
        raw["nixos"]["infisical_cli"] = {"version": "0.43.121", "sha256": TEST_INFISICAL_CLI_SHA256}
    if not relays:
        raw.pop("proxmox", None)
    return raw


@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(stacks())
def test_every_host_of_a_generated_stack_evaluates_clean(raw: dict[str, Any]) -> None:
    require_pinned_sources()
    orchestrator_port = raw["orchestrator"]["port"]
    with tempfile.TemporaryDirectory() as directory:
        files = render_tree(raw, Path(directory) / "build")
        hosts = sorted({path.split("/")[1] for path in files if path.endswith("configuration.nix")})
        assert len(hosts) == 1 + len(raw["relays"])
        for name in hosts:
            evaluated = evaluate_host(
                Path(directory) / "build" / "nixos" / name / "configuration.nix"
            )
            assert evaluated["failedAssertions"] == [], name
            assert evaluated["warnings"] == [], name
            interfaces = evaluated["firewall"]["interfaces"]
            everywhere = set(interfaces["default"]["allowedTCPPorts"])
            tailnet_only = set(interfaces["tailscale0"]["allowedTCPPorts"])
            assert set(interfaces) == {"default", "tailscale0"}
            assert evaluated["openssh"]["ports"][0] in everywhere
            assert interfaces["default"]["allowedUDPPorts"] == [TAILSCALE_UDP]
            if name == "relaymd-orchestrator":
                assert tailnet_only == {orchestrator_port}
                assert orchestrator_port not in everywhere
            else:
                assert 53 in tailnet_only and 53 not in everywhere
                assert everywhere - {evaluated["openssh"]["ports"][0]} <= INFISICAL_RELAY_PORTS
