"""The pure pieces: the replacement table, resource matching and policy coverage."""

from __future__ import annotations

from typing import Any

import pytest

from infra.ground.contract import TAILNET_KEY_TYPE
from infra.plan.document import plan_document
from infra.plan.engine import run_program
from infra.review.policy import Atom, covered, diff_policy, who
from infra.review.replacement import (
    COMMAND_TYPE,
    FOLLOWERS,
    INFISICAL_SECRET_TYPE,
    REPLACE_ON_CHANGE,
    REPLACED_WITH_VM,
    RETAINED_ON_DELETE,
    VM_TYPE,
    replacements,
)
from infra.review.resources import Action, diff_resources, urn
from tests.support.stacks import example_raw_config

NEW_TYPE = "example:index/unknown:Unknown"


def settings(resource_type: str, paths: list[str], new: dict[str, Any] | None = None) -> list[str]:
    return [r.rule.setting for r in replacements(resource_type, paths, new or {})]


@pytest.mark.parametrize(
    ("resource_type", "paths", "new", "replaced_by"),
    [
        pytest.param(VM_TYPE, ["clone.vmId"], {}, ["template_id"], id="vm template"),
        pytest.param(VM_TYPE, ["disks[0].fileId"], {}, ["disk fileId"], id="vm disk image"),
        pytest.param(VM_TYPE, ["nodeName"], {}, ["proxmox_node"], id="vm node"),
        pytest.param(
            VM_TYPE, ["nodeName"], {"migrate": True}, [], id="vm node with migrate: not replaced"
        ),
        pytest.param(
            VM_TYPE,
            ["cpu.cores", "memory.dedicated", "disks[0].size"],
            {},
            [],
            id="vm sizes: updated in place",
        ),
        pytest.param(COMMAND_TYPE, ["triggers"], {}, ["triggers"], id="command triggers"),
        pytest.param(
            COMMAND_TYPE, ["environment.RELAYMD_HOST", "create"], {}, [], id="command script"
        ),
        pytest.param(
            TAILNET_KEY_TYPE, ["tags", "recreateIfInvalid"], {}, ["tags"], id="tailnet key tags"
        ),
        pytest.param(
            NEW_TYPE, ["value", "secretName"], {}, [], id="unknown type: never a guessed replace"
        ),
    ],
)
def test_the_settings_that_force_a_replacement_by_type(
    resource_type: str, paths: list[str], new: dict[str, Any], replaced_by: list[str]
) -> None:
    assert settings(resource_type, paths, new) == replaced_by


def plan(*resources: dict[str, Any]) -> dict[str, Any]:
    return {"resources": list(resources)}


def test_any_resource_type_is_diffed_by_type_and_name() -> None:
    old = {"type": NEW_TYPE, "name": "axiom", "parent": None, "inputs": {"a": 1, "gone": True}}
    new = {"type": NEW_TYPE, "name": "axiom", "parent": None, "inputs": {"a": 2, "b": [1]}}
    extra = {"type": NEW_TYPE, "name": "b2", "parent": "infisical"}  # no inputs at all
    changes = diff_resources(plan(old), plan(new, extra))
    assert [(c.action, c.name) for c in changes] == [
        (Action.CREATE, "b2"),
        (Action.UPDATE, "axiom"),
    ]
    moved = {c.path: (c.old, c.new) for c in changes[1].changes}
    assert moved["a"] == (1, 2)
    assert repr(moved["gone"][1]) == "(absent)" and repr(moved["b"][0]) == "(absent)"


def test_a_replaced_vm_takes_its_key_and_install_along() -> None:
    vm = {"type": VM_TYPE, "name": "relay-1-vm", "parent": "relay-1"}
    key = {"type": TAILNET_KEY_TYPE, "name": "host-key-edge", "parent": "tailnet", "inputs": {}}
    install = {"type": COMMAND_TYPE, "name": "edge-install", "parent": "edge", "inputs": {}}
    old = plan({**vm, "inputs": {"name": "edge", "clone": {"vmId": 116}}}, key, install)
    new = plan({**vm, "inputs": {"name": "edge", "clone": {"vmId": 117}}}, key, install)
    changes = {c.name: c for c in diff_resources(old, new)}
    assert {name: c.action for name, c in changes.items()} == dict.fromkeys(
        ("relay-1-vm", "host-key-edge", "edge-install"), Action.REPLACE
    )
    assert changes["host-key-edge"].replaced_with[0].startswith("replaced with relay-1-vm")


def test_coverage_of_new_grants() -> None:
    wide = [Atom("tag:a", "", "10.0.0.0/16", "1-1000"), Atom("*", "tcp", "tag:b", "*")]
    assert covered(Atom("tag:a", "tcp", "10.0.1.5", "22"), wide)
    assert covered(Atom("user@x", "tcp", "tag:b", "9000"), wide)
    assert not covered(Atom("user@x", "udp", "tag:b", "53"), wide)  # tcp covers no udp
    assert not covered(Atom("tag:a", "tcp", "10.1.0.1", "22"), wide)
    assert not covered(Atom("tag:a", "tcp", "10.0.0.1", "1000-1001"), wide)


def test_words_for_selectors() -> None:
    assert who("tag:relaymd-worker") == "workers"
    assert who("tag:relaymd-orchestrator") == "the orchestrator"
    assert who("tag:backup") == "devices tagged tag:backup"
    assert who("*") == "anyone"
    assert who("10.0.0.0/24") == "the network 10.0.0.0/24"
    assert who("10.0.0.9") == "10.0.0.9"
    assert who("alice@example.org") == "alice@example.org"


def test_a_redundant_rule_is_no_widening() -> None:
    base = {"acls": [{"action": "accept", "src": ["tag:w"], "proto": "tcp", "dst": ["tag:o:*"]}]}
    extra = {"action": "accept", "src": ["tag:w"], "proto": "tcp", "dst": ["tag:o:22"]}
    head = {"acls": [*base["acls"], extra]}
    diff = diff_policy(base, head)
    assert diff.rules_added == 1 and not diff.widenings
    assert diff.now_reach == ("devices tagged tag:w may now reach devices tagged tag:o on tcp/22",)


def test_urns_follow_the_engine() -> None:
    """Full ancestor chain, root stack left out (pulumi pkg/resource/deploy/deployment.go,
    generateURN; sdk/go/common/resource/urn.go, NewURN). The SDK's mock monitor builds URNs
    differently (only the parent's own type), so the engine's rule is spelled out here."""
    document = plan_document(run_program("example", example_raw_config(), preview=True))
    prefix = "urn:pulumi:example::relaymd-infra::"
    assert urn(document, (VM_TYPE, "relay-1-vm")) == (
        f"{prefix}relaymd:proxmox:RelayVm$proxmoxve:index/vmLegacy:VmLegacy::relay-1-vm"
    )
    assert urn(document, ("pulumi:providers:proxmoxve", "proxmox")) == (
        f"{prefix}pulumi:providers:proxmoxve::proxmox"
    )
    chain = plan(
        {"type": "x:a:A", "name": "a", "parent": None},
        {"type": "x:b:B", "name": "b", "parent": "a"},
        {"type": "x:c:C", "name": "c", "parent": "b"},
    )
    assert urn({**chain, "stack": "s"}, ("x:c:C", "c")) == (
        "urn:pulumi:s::relaymd-infra::x:a:A$x:b:B$x:c:C::c"
    )


def test_infisical_rules_are_the_providers() -> None:
    """The table says what infra/infisical/provider.py's diff does: coordinates replace."""
    from infra.infisical.provider import REPLACING

    assert [r.path for r in REPLACE_ON_CHANGE[INFISICAL_SECRET_TYPE]] == list(REPLACING)
    assert settings(INFISICAL_SECRET_TYPE, ["secret_path"]) == ["infisical.secret_path"]
    assert settings(INFISICAL_SECRET_TYPE, ["secret_name", "secret_value"]) == []


def test_a_renamed_secret_is_updated_in_place() -> None:
    def secret(name: str) -> dict[str, Any]:
        inputs = {"secret_name": name, "secret_path": "/RelayMD", "secret_value": "[secret]"}
        return {"type": INFISICAL_SECRET_TYPE, "name": "s", "parent": "infisical", "inputs": inputs}

    (change,) = diff_resources(plan(secret("OLD")), plan(secret("NEW")))
    assert change.action is Action.UPDATE
    assert [(c.path, c.old, c.new) for c in change.changes] == [("secret_name", "OLD", "NEW")]


def test_tables_match_the_programs_resource_options() -> None:
    """retain_on_delete and replace_with as the program declares them, read from the engine."""
    deployment = run_program("example", example_raw_config(), preview=True)
    by_urn = {r.urn: r for r in deployment.resources}
    retained = {(r.type, r.name) for r in deployment.resources if r.retain_on_delete}
    assert retained == set(RETAINED_ON_DELETE)
    with_vm = {
        (r.type, r.name)
        for r in deployment.resources
        if any(by_urn[u].type == VM_TYPE for u in r.replace_with)
    }
    vm = next(r for r in deployment.resources if r.type == VM_TYPE)
    parent = by_urn[vm.parent_urn].name if vm.parent_urn else None
    companions = {
        (c.type, c.name.format(host=vm.inputs["name"], relay=parent)) for c in REPLACED_WITH_VM
    }
    assert with_vm == companions
    # A follower takes its source's output as an input: the engine records the dependency.
    by_key = {(r.type, r.name): r for r in deployment.resources}
    for follower in FOLLOWERS:
        assert (follower.type, follower.name) in by_key
        if follower.source is not None:
            source_urn = by_key[follower.source].urn
            assert source_urn in by_key[(follower.type, follower.name)].dependencies
        if follower.output is not None:
            assert follower.output in deployment.outputs
