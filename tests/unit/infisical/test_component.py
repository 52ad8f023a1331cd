"""InfisicalSecrets under the mock engine: one secret per value, at RelayMD's coordinates."""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.runtime import rpc

from infra.ground.relaymd import RELAYMD_COORDINATES
from infra.infisical.api import Identity, SecretScope
from infra.infisical.component import InfisicalSecrets, InfisicalSecretsArgs
from infra.plan.engine import run_declarations
from tests.support.decided import decided_of
from tests.support.deployments import deploy

SECRET_TYPE = "pulumi-python:dynamic/infisical:Secret"
COMPONENT = "relaymd:infisical:InfisicalSecrets"


def test_declared_alone_it_writes_exactly_the_values_it_is_given(
    example_config: dict[str, Any],
) -> None:
    """One component, one spec: the names, coordinates and values come only from its Args."""
    coordinates = decided_of(example_config).config.infisical
    identity = Identity("https://infisical.invalid", "client-id", "CANARY-client-secret")
    values: dict[str, pulumi.Input[str]] = {
        "PLAIN_VALUE": "CANARY-plain-value",
        "OUTPUT_VALUE": pulumi.Output.from_input("CANARY-output-value"),
    }

    def declare() -> None:
        InfisicalSecrets(
            "infisical-x",
            InfisicalSecretsArgs(SecretScope.of(coordinates), identity=identity, values=values),
        )

    deployment = run_declarations("example", declare, preview=True)
    (component,) = deployment.by_type(COMPONENT)
    secrets = {r.inputs["secret_name"]: r for r in deployment.by_type(SECRET_TYPE)}
    assert sorted(secrets) == ["OUTPUT_VALUE", "PLAIN_VALUE"]
    for name, resource in secrets.items():
        assert resource.name == f"infisical-x-{name}"
        assert resource.parent_urn == component.urn
        assert resource.inputs["project_id"] == coordinates.project_id
        assert resource.inputs["environment_slug"] == coordinates.environment
        assert resource.inputs["secret_path"] == coordinates.secret_path
        # A plain string arrives a secret too.
        assert rpc.is_rpc_secret(resource.inputs["secret_value"])
    assert rpc.unwrap_rpc_secret(secrets["PLAIN_VALUE"].inputs["secret_value"]) == (
        "CANARY-plain-value"
    )
    # The identity travels only inside the serialised provider, which Pulumi keeps secret.
    assert "CANARY-client-secret" not in repr(
        [{k: v for k, v in r.inputs.items() if k != "__provider"} for r in secrets.values()]
    )
    assert all(rpc.is_rpc_secret(r.inputs["__provider"]) for r in secrets.values())


def test_every_sops_value_and_both_computed_ones_get_a_secret(
    canary_stack: dict[str, Any], canary_document: dict[str, Any]
) -> None:
    deployment = deploy(canary_stack)
    (component,) = deployment.by_type(COMPONENT)
    secrets = deployment.by_type(SECRET_TYPE)
    names = sorted(r.inputs["secret_name"] for r in secrets)
    assert names == sorted(
        [*canary_document["relaymd"], "TAILSCALE_AUTH_KEY", "RELAYMD_ORCHESTRATOR_URL"]
    )
    for resource in secrets:
        assert resource.parent_urn == component.urn
        assert resource.name == f"infisical-{resource.inputs['secret_name']}"
        coordinates = {
            "project_id": resource.inputs["project_id"],
            "environment": resource.inputs["environment_slug"],
            "secret_path": resource.inputs["secret_path"],
        }
        assert coordinates.items() <= RELAYMD_COORDINATES.items()
        assert rpc.is_rpc_secret(resource.inputs["secret_value"])


def test_the_orchestrator_url_comes_from_the_tailnet_output(canary_stack: dict[str, Any]) -> None:
    deployment = deploy(canary_stack)
    url = deployment.named(SECRET_TYPE, "infisical-RELAYMD_ORCHESTRATOR_URL")
    assert rpc.unwrap_rpc_secret(url.inputs["secret_value"]) == (
        deployment.outputs["RELAYMD_ORCHESTRATOR_URL"].value
    )


def test_declaring_secrets_leaves_pickle_as_it_found_it(canary_stack: dict[str, Any]) -> None:
    """Each dynamic resource would otherwise nest another pickle wrapper (RecursionError)."""
    import pickle

    before = (pickle._Pickler._batch_setitems, pickle._Pickler.save_dict)
    deploy(canary_stack)
    after = (pickle._Pickler._batch_setitems, pickle._Pickler.save_dict)
    assert after == before


def test_the_plans_input_check_knows_the_secret_resource(canary_stack: dict[str, Any]) -> None:
    from infra.plan.input_schema import DeclaredResource, resource_problems

    written = deploy(canary_stack).named(SECRET_TYPE, "infisical-AXIOM_TOKEN")
    declared = DeclaredResource(SECRET_TYPE, written.name, written.inputs, ("secret_value",))
    assert resource_problems(declared) == []
    misspelt = {**written.inputs, "secret_nam": written.inputs["secret_name"]}
    problems = resource_problems(DeclaredResource(SECRET_TYPE, written.name, misspelt))
    assert len(problems) == 1
    assert "'secret_nam' is not declared" in problems[0]
