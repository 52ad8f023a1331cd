"""The inventory: derived from the committed example render, and validated with errors
that name the field."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.ground.errors import RefusedError
from infra.verify.derive import inventory_document, missing_outputs
from infra.verify.inventory import InventoryError, inventory_from_document, overlay
from tests.support.golden import GOLDEN
from tests.support.nixeval import nix_instantiate

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHZpZXctb25seS1rZXktZm9yLXRlc3RzLTAwMDAwMDA"


def minimal() -> dict[str, Any]:
    return {
        "stack": "staging",
        "orchestrator": {
            "host": "ssh://admin@orchestrator",
            "hostname": "relaymd-orchestrator",
            "tag": "tag:relaymd-orchestrator",
            "ssh_host_key": KEY,
        },
        "policy": {"acls": [], "tests": []},
    }


def test_derived_from_the_example_render() -> None:
    nix_instantiate()
    from infra.verify.artifacts import inventory_from_build

    outputs = json.loads((GOLDEN / "plan.json").read_text())["outputs"]
    derived = inventory_from_build("example", GOLDEN, outputs=outputs)
    # The plan cannot know a relay's generated host key: the stack outputs give it after `up`.
    assert derived["relays"][0]["ssh_host_key"] is None
    pinned = {"relays": [{"hostname": "relaymd-relay", "ssh_host_key": KEY}]}
    inventory = inventory_from_document(overlay(derived, pinned))
    orchestrator = inventory.orchestrator
    assert orchestrator.host == "ssh://admin@orchestrator.lab.example.org:22"
    assert orchestrator.dns_name == "relaymd-orchestrator.tail0a1b2c.ts.net"
    assert (orchestrator.port, orchestrator.key_ephemeral) == (36158, False)
    assert orchestrator.ssh_host_key and orchestrator.ssh_host_key.startswith("ssh-ed25519 ")
    (relay,) = inventory.relays
    assert (relay.hostname, relay.tag, relay.host) == (
        "relaymd-relay",
        "tag:relaymd-relay",
        "ssh://admin@10.100.10.2:22",
    )
    assert (relay.internal_domain, relay.infisical_relay) == ("internal", False)
    denied = {(d.source, d.destination, d.port) for d in inventory.tailnet_policy.denials}
    assert ("tag:relaymd-worker", "tag:relaymd-relay", 22) in denied
    assert ("tag:relaymd-orchestrator", "tag:relaymd-worker", 36158) in denied


PLAN: dict[str, Any] = {
    "resources": [
        {"type": "relaymd:nixos:NixosHost", "name": "orch"},
        {
            "type": "command:local:Command",
            "name": "orch-install",
            "parent": "orch",
            "inputs": {
                "environment": {
                    "RELAYMD_SSH_TARGET": "admin@o.lab",
                    "RELAYMD_SSH_PORT": "22",
                    "RELAYMD_SSH_HOST_KEY": KEY,
                }
            },
        },
        {"type": "relaymd:nixos:NixosHost", "name": "relay"},
        {
            "type": "command:local:Command",
            "name": "relay-install",
            "parent": "relay",
            "inputs": {
                "environment": {
                    "RELAYMD_SSH_TARGET": "admin@10.0.0.2",
                    "RELAYMD_SSH_HOST_KEY": "(known after apply)",
                }
            },
        },
        {
            "type": "tailscale:index/tailnetKey:TailnetKey",
            "name": "host-key-orch",
            "inputs": {"tags": ["tag:o"], "reusable": False, "ephemeral": False},
        },
    ]
}
SETTINGS = {
    "orch": {"relaymd": {"orchestrator": {}, "tailnet": {"hostname": "orch", "tags": ["tag:o"]}}},
    "relay": {"relaymd": {"relay": {}, "tailnet": {"hostname": "relay", "tags": ["tag:r"]}}},
}


def test_without_outputs_only_what_they_give_is_missing() -> None:
    """The stack outputs give the orchestrator's name and the relays' host keys: an inventory
    file giving both needs no Pulumi call."""
    document = inventory_document("staging", PLAN, {}, SETTINGS, None)
    assert document["orchestrator"]["ssh_host_key"] == KEY
    assert document["relays"][0]["ssh_host_key"] is None  # known after apply is no key
    assert missing_outputs(document) == [
        "RELAYMD_ORCHESTRATOR_URL",
        "RELAYMD_SSH_HOST_KEYS.relay",
    ]
    given = overlay(
        document,
        {
            "orchestrator": {"dns_name": "orch.tail.ts.net", "port": 36158},
            "relays": [{"hostname": "relay", "ssh_host_key": KEY}],
        },
    )
    assert missing_outputs(given) == []
    outputs = {
        "RELAYMD_ORCHESTRATOR_URL": "http://orch.tail.ts.net:36158",
        "RELAYMD_SSH_HOST_KEYS": {"relay": KEY},
    }
    derived = inventory_document("staging", PLAN, {}, SETTINGS, outputs)
    assert derived["relays"][0]["ssh_host_key"] == KEY
    assert missing_outputs(derived) == []


def test_a_stack_host_without_a_pinned_key_is_refused() -> None:
    document = minimal() | {
        "relays": [{"host": "ssh://admin@10.0.0.2", "hostname": "relay", "tag": "tag:r"}]
    }
    with pytest.raises(InventoryError, match=r"relays\[0\]\.ssh_host_key: missing for relay"):
        inventory_from_document(document)
    local = minimal() | {"relays": [{"host": "local://", "hostname": "relay", "tag": "tag:r"}]}
    assert inventory_from_document(local).relays[0].ssh_host_key is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"orchestrator": None}, "orchestrator: got None; expected an object"),
        ({"orchestrator": {"host": "local://"}}, "orchestrator.hostname: missing"),
        ({"budget_seconds": "soon"}, "budget_seconds: got 'soon'; expected a float"),
        ({"workers": [{"host": "local://", "hostname": "w", "tag": 1}]}, "workers[0].tag"),
        ({"relays": [{"host": "h", "hostname": "r", "tag": "t", "colour": 1}]}, "colour"),
        ({"surprise": 1}, "unknown top-level field(s) surprise"),
        ({"policy": {"tests": [{"src": "tag:w", "deny": ["tag:o:22"], "proto": "sctp"}]}}, "proto"),
        ({"policy": {"acls": [{"src": ["tag:w"], "dst": ["tag:o:99999"]}]}}, "acls[0].dst[0]"),
        ({"policy": None}, "policy: missing"),
        ({"lan_probe_host_key": "ssh-ed25519 AAAA\nssh-rsa AAAA"}, "lan_probe_host_key"),
        ({"workers": [{"host": "local://", "hostname": "w;rm", "tag": "tag:w"}]}, "hostname"),
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
        "relays": [{"host": "ssh://a", "hostname": "relay-a", "tag": "tag:r", "ssh_host_key": KEY}],
    }
    extra = {
        "orchestrator": {"tailscale_socket": "/run/ts.sock"},
        "relays": [
            {"hostname": "relay-a", "host": "ssh://jump-a"},
            {"host": "ssh://b", "hostname": "relay-b", "tag": "tag:r", "ssh_host_key": KEY},
        ],
        "workers": [{"host": "local://", "hostname": "probe", "tag": "tag:relaymd-worker"}],
    }
    inventory = inventory_from_document(overlay(base, extra))
    assert inventory.orchestrator.tailscale_socket == "/run/ts.sock"
    assert inventory.orchestrator.host == "ssh://admin@orchestrator"
    assert [relay.host for relay in inventory.relays] == ["ssh://jump-a", "ssh://b"]
    assert inventory.workers[0].hostname == "probe"
    assert inventory_from_document(json.loads(inventory.to_json())) == inventory
