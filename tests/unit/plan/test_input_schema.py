"""The plan is as strict as the providers: inputs are checked against the installed SDKs."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pulumi_proxmoxve as proxmoxve
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infra.plan.engine import run_program
from infra.plan.input_schema import (
    DeclaredResource,
    InputSchemaError,
    args_class_for,
    check_resources,
    resource_problems,
)
from tests.support.stacks import enable_infisical_relay, example_raw_config, stack_with_secrets

VM = "proxmoxve:index/vmLegacy:VmLegacy"


@pytest.fixture(scope="module")
def example_vm() -> DeclaredResource:
    deployment = run_program("example", example_raw_config(), preview=False)
    (vm,) = deployment.by_type(VM)
    return DeclaredResource(vm.type, vm.name, copy.deepcopy(vm.inputs))


def test_every_type_the_example_declares_has_a_schema() -> None:
    # run_program checks by default; a silently skipped type would make the check vacuous.
    deployment = run_program("example", example_raw_config(), preview=True)
    custom = {resource.type for resource in deployment.resources if resource.custom}
    assert custom, "the example declares provider resources"
    assert all(args_class_for(token) is not None for token in custom), custom


@pytest.mark.parametrize(
    ("holder", "name", "wrong", "problem"),
    [
        pytest.param(
            ("networkDevices", 0),
            "vlanId",
            "vlanID",
            f"{VM} 'relay-1-vm': input 'networkDevices[0].vlanID' is not declared by "
            "VmLegacyNetworkDeviceArgs; nearest valid name: 'vlanId'",
            id="a misspelled nested input names resource, path and nearest name",
        ),
        pytest.param(
            ("initialization",),
            "userAccount",
            "user_account",
            f"{VM} 'relay-1-vm': input 'initialization.user_account' is not declared by "
            "VmLegacyInitializationArgs; nearest valid name: 'userAccount'",
            id="a python name instead of the wire name is refused",
        ),
    ],
)
def test_an_input_under_a_wrong_name_is_refused_naming_the_right_one(
    example_vm: DeclaredResource,
    holder: tuple[str | int, ...],
    name: str,
    wrong: str,
    problem: str,
) -> None:
    inputs = copy.deepcopy(dict(example_vm.inputs))
    container: Any = inputs
    for key in holder:
        container = container[key]
    container[wrong] = container.pop(name)
    assert resource_problems(DeclaredResource(VM, example_vm.name, inputs)) == [problem]


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (("cpu", "cores"), "two", "a whole number"),
        (("cpu", "cores"), 1.5, "a whole number"),
        (("agent", "enabled"), "false", "a boolean"),
        (("tags",), "relaymd", "a list"),
        (("clone",), [116], "an object (VmLegacyCloneArgs)"),
    ],
)
def test_a_value_of_the_wrong_kind_is_refused(
    example_vm: DeclaredResource, path: tuple[str, ...], value: Any, expected: str
) -> None:
    inputs = copy.deepcopy(dict(example_vm.inputs))
    holder = inputs
    for key in path[:-1]:
        holder = holder[key]
    holder[path[-1]] = value
    (problem,) = resource_problems(DeclaredResource(VM, example_vm.name, inputs))
    assert f"input '{'.'.join(path)}'" in problem
    assert problem.endswith(f"the provider declares {expected}")


def test_an_unknown_provider_type_is_refused() -> None:
    (problem,) = resource_problems(DeclaredResource("tailscale:index/acls:Acls", "policy", {}))
    assert "no installed provider SDK declares this type" in problem


def test_provider_configuration_is_decoded_before_it_is_checked() -> None:
    # Provider inputs travel as strings: "true" for a boolean, JSON text for a list.
    good = DeclaredResource(
        "pulumi:providers:proxmoxve", "proxmox", {"insecure": "true", "endpoint": "https://x"}
    )
    assert resource_problems(good) == []
    bad = DeclaredResource("pulumi:providers:tailscale", "tailscale", {"scope": '["dns"]'})
    (problem,) = resource_problems(bad)
    assert "nearest valid name: 'scopes'" in problem


def test_a_misspelled_input_in_the_program_stops_the_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Through the real program: a dict with a misspelt wire name reaches the check."""

    def misspelt_nic(**kwargs: Any) -> dict[str, Any]:
        return {"bridge": kwargs["bridge"], "vlanID": kwargs["vlan_id"], "model": kwargs["model"]}

    monkeypatch.setattr(proxmoxve, "VmLegacyNetworkDeviceArgs", misspelt_nic)
    with pytest.raises(InputSchemaError) as raised:
        run_program("example", example_raw_config(), preview=True)
    assert "relay-1-vm" in str(raised.value)
    assert "networkDevices[0].vlanID" in str(raised.value)
    assert "nearest valid name: 'vlanId'" in str(raised.value)


def _relay(index: int, vlan: int | None, agent: bool, passthrough: bool) -> dict[str, Any]:
    relay: dict[str, Any] = {
        "name": f"relay-{index}",
        "proxmox_node": "proxmox",
        "address": f"10.100.{10 + index}.2/24",
        "gateway": f"10.100.{10 + index}.1",
        "nameservers": [f"10.100.{10 + index}.1"],
        "tailnet_hostname": f"relaymd-relay-{index}",
        "advertise_routes": [f"10.100.{10 + index}.0/24"],
        "guest_agent": agent,
    }
    if vlan is not None:
        relay["vlan"] = vlan
    if passthrough:
        relay["tls_passthrough_upstream"] = f"10.100.{10 + index}.9:8443"
    return relay


generated_stacks = st.builds(
    lambda relays, port: {
        **example_raw_config(),
        "relays": [_relay(index + 1, *options) for index, options in enumerate(relays)],
        "orchestrator": {**example_raw_config()["orchestrator"], "port": port},
    },
    st.lists(st.tuples(st.none() | st.integers(1, 4094), st.booleans(), st.booleans()), max_size=3),
    st.integers(1024, 65535).filter(lambda port: port != 22),
)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=generated_stacks, preview=st.booleans())
def test_generated_stacks_declare_only_inputs_the_providers_accept(
    raw: dict[str, Any], preview: bool
) -> None:
    deployment = run_program("example", raw, preview=preview, check_inputs=False)
    check_resources(
        DeclaredResource(resource.type, resource.name, resource.inputs)
        for resource in deployment.resources
    )


def test_options_naming_properties_are_checked_too() -> None:
    command = "command:local:Command"
    good = DeclaredResource(command, "c", {}, secret_outputs=("stdout", "stderr"))
    assert resource_problems(good) == []
    bad = DeclaredResource(command, "c", {}, secret_outputs=("stdOut",), ignored_changes=("x.y",))
    problems = resource_problems(bad)
    assert any(
        "additional_secret_outputs names 'stdOut'" in p and "'stdout'" in p for p in problems
    )
    assert any("ignore_changes names 'x.y'" in p for p in problems)


@pytest.mark.parametrize("variant", ["api key", "infisical relay", "no relays"])
def test_every_credential_and_relay_variant_passes_the_check(
    variant: str, tmp_path: Path, canary_document: dict[str, Any]
) -> None:
    raw = example_raw_config()
    document = copy.deepcopy(canary_document)
    if variant == "api key":
        document["tailscale"] = {"api_key": "CANARY-api-key-1d2e"}
    elif variant == "infisical relay":
        enable_infisical_relay(raw)
        document["relays"] = {"relay-1": {"infisical_relay_token": "CANARY-enroll-77aa"}}
    else:
        raw["relays"] = []
        document.pop("proxmox")
    deployment = run_program("example", stack_with_secrets(tmp_path, document, raw), preview=False)
    providers = deployment.by_type("pulumi:providers:tailscale")
    assert providers, "the check ran over a deployment that declares the providers"
