"""The inventory: derived from the committed example render, and validated with errors
that name the field."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.ground.errors import RefusedError
from infra.verify.derive import denied_probes
from infra.verify.inventory import InventoryError, inventory_from_document, overlay
from tests.support.golden import GOLDEN
from tests.support.nixeval import nix_instantiate


def minimal() -> dict[str, Any]:
    return {
        "stack": "staging",
        "orchestrator": {
            "host": "ssh://admin@orchestrator",
            "hostname": "relaymd-orchestrator",
            "tag": "tag:relaymd-orchestrator",
        },
    }


def test_derived_from_the_example_render() -> None:
    nix_instantiate()
    from infra.verify.artifacts import inventory_from_build

    outputs = json.loads((GOLDEN / "plan.json").read_text())["outputs"]
    inventory = inventory_from_document(inventory_from_build("example", GOLDEN, outputs=outputs))
    orchestrator = inventory.orchestrator
    assert orchestrator.host == "ssh://admin@orchestrator.lab.example.org:22"
    assert orchestrator.dns_name == "relaymd-orchestrator.tail0a1b2c.ts.net"
    assert (orchestrator.port, orchestrator.key_ephemeral) == (36158, False)
    (relay,) = inventory.relays
    assert (relay.hostname, relay.tag, relay.host) == (
        "relaymd-relay",
        "tag:relaymd-relay",
        "ssh://admin@10.100.10.2:22",
    )
    assert (relay.internal_domain, relay.infisical_relay) == ("internal", False)
    labels = {probe.label for probe in inventory.denied_from_workers}
    assert {"tag:relaymd-relay:22/tcp", "tag:relaymd-relay:53/udp"} <= labels
    assert "tag:relaymd-orchestrator:36158/tcp" not in labels


def test_denied_probes_skip_routes_and_add_udp_for_dns() -> None:
    policy = {
        "tests": [
            {
                "src": "tag:w",
                "deny": ["tag:r:53", "10.0.0.1:22", "tag:o:22"],
                "accept": ["tag:o:36158"],
            },
            {"src": "tag:o", "deny": ["tag:w:22"]},
        ]
    }
    assert denied_probes(policy, "tag:w") == [
        {"tag": "tag:r", "port": 53, "proto": "tcp"},
        {"tag": "tag:r", "port": 53, "proto": "udp"},
        {"tag": "tag:o", "port": 22, "proto": "tcp"},
    ]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"orchestrator": None}, "orchestrator: got None; expected an object"),
        ({"orchestrator": {"host": "local://"}}, "orchestrator.hostname: missing"),
        ({"budget_seconds": "soon"}, "budget_seconds: got 'soon'; expected a float"),
        ({"workers": [{"host": "local://", "hostname": "w", "tag": 1}]}, "workers[0].tag"),
        ({"relays": [{"host": "h", "hostname": "r", "tag": "t", "colour": 1}]}, "colour"),
        ({"surprise": 1}, "unknown top-level field(s) surprise"),
        ({"denied_from_workers": [{"tag": "tag:x", "port": 22, "proto": "sctp"}]}, "proto"),
        ({"infisical_relay_ports": ["8443"]}, "infisical_relay_ports: got ['8443']"),
    ],
)
def test_bad_fields_are_named(change: dict[str, Any], message: str) -> None:
    document = minimal() | change
    with pytest.raises(InventoryError) as raised:
        inventory_from_document(document)
    assert message in str(raised.value)
    assert isinstance(raised.value, RefusedError)


def test_duplicate_hostnames_are_refused() -> None:
    document = minimal() | {
        "workers": [{"host": "local://", "hostname": "relaymd-orchestrator", "tag": "tag:w"}]
    }
    with pytest.raises(InventoryError, match="appear more than once"):
        inventory_from_document(document)


def test_an_inventory_file_overlays_the_derived_one() -> None:
    base = minimal() | {
        "relays": [{"host": "ssh://a", "hostname": "relay-a", "tag": "tag:r"}],
    }
    extra = {
        "orchestrator": {"tailscale_socket": "/run/ts.sock"},
        "relays": [
            {"hostname": "relay-a", "host": "ssh://jump-a"},
            {"host": "ssh://b", "hostname": "relay-b", "tag": "tag:r"},
        ],
        "workers": [{"host": "local://", "hostname": "probe", "tag": "tag:relaymd-worker"}],
    }
    inventory = inventory_from_document(overlay(base, extra))
    assert inventory.orchestrator.tailscale_socket == "/run/ts.sock"
    assert inventory.orchestrator.host == "ssh://admin@orchestrator"
    assert [relay.host for relay in inventory.relays] == ["ssh://jump-a", "ssh://b"]
    assert inventory.workers[0].hostname == "probe"
    assert inventory_from_document(json.loads(inventory.to_json())) == inventory
