"""Worker-key rotation end to end: the mock engine declares, the provider writes to the fake.

The mock engine does not run dynamic providers, so this test plays the engine's part for
the Infisical secrets: it takes each ``pulumi up``'s recorded inputs and drives the
program's own provider (create, or diff then update) against the contract fake, keeping
the outputs as the engine's state between runs.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import dill
import pytest
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockResourceArgs

from infra.ground.relaymd import RELAYMD_PROJECT_ID, RELAYMD_SITE_URL
from infra.infisical.api import Identity
from infra.infisical.provider import InfisicalSecretProvider
from infra.plan.engine import Deployment, run_program
from tests.support.deployments import TAILNET_KEY, host_key_canary
from tests.support.infisical_fake import InfisicalContractFake, serve
from tests.unit.infisical.support import FAST_RETRY

SECRET_TYPE = "pulumi-python:dynamic/infisical:Secret"
ROTATING = "time:index/rotating:Rotating"
WORKER_KEY = "worker-key"


def up(raw_config: Mapping[str, Any], worker_key: str, rotated_at: str) -> Deployment:
    """One ``pulumi up``: the new worker key is ``worker_key``, rotated at ``rotated_at``."""

    def tailnet_key(args: MockResourceArgs) -> Mapping[str, Any]:
        return {"key": worker_key if args.name == WORKER_KEY else host_key_canary(args.name)}

    def rotating(_: MockResourceArgs) -> Mapping[str, Any]:
        return {"rfc3339": rotated_at}

    return run_program(
        "example",
        raw_config,
        preview=False,
        resource_outputs={TAILNET_KEY: tailnet_key, ROTATING: rotating},
    )


def plain_inputs(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Inputs as the provider host receives them: no ``__provider``, secrets unwrapped."""
    return {key: rpc.unwrap_rpc_secret(v) for key, v in inputs.items() if key != "__provider"}


@dataclass
class EngineState:
    """What the engine would keep per secret between runs: its id and recorded outputs."""

    provider: InfisicalSecretProvider
    state: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)
    operations: list[tuple[str, str]] = field(default_factory=list)

    def apply(self, deployment: Deployment) -> None:
        for resource in deployment.by_type(SECRET_TYPE):
            news = plain_inputs(resource.inputs)
            if resource.name not in self.state:
                created = self.provider.create(news)
                self.state[resource.name] = (created.id, created.outs or {})
                self.operations.append(("create", resource.name))
                continue
            secret_id, olds = self.state[resource.name]
            diff = self.provider.diff(secret_id, olds, news)
            if diff.replaces:
                raise AssertionError(f"{resource.name} would be replaced: {diff.replaces}")
            if diff.changes:
                updated = self.provider.update(secret_id, olds, news)
                self.state[resource.name] = (secret_id, updated.outs or {})
                self.operations.append(("update", resource.name))


@pytest.fixture
def infisical(canary_document: dict[str, Any]) -> Iterator[tuple[InfisicalContractFake, str]]:
    fake = InfisicalContractFake()
    fake.add_identity(
        canary_document["infisical"]["client_id"], canary_document["infisical"]["client_secret"]
    )
    fake.add_environment(RELAYMD_PROJECT_ID, "prod")
    with serve(fake) as url:
        yield fake, url


def test_two_rotations_each_reach_infisical_in_the_up_that_mints_the_key(
    canary_stack: dict[str, Any],
    canary_document: dict[str, Any],
    infisical: tuple[InfisicalContractFake, str],
) -> None:
    fake, url = infisical
    identity = Identity(
        url,
        canary_document["infisical"]["client_id"],
        canary_document["infisical"]["client_secret"],
    )
    engine = EngineState(InfisicalSecretProvider(identity, FAST_RETRY))
    stored = lambda: fake.secrets_at(RELAYMD_PROJECT_ID, "prod", "/RelayMD")  # noqa: E731

    first = up(canary_stack, "CANARY-worker-key-1", "2026-01-01T00:00:00Z")
    engine.apply(first)
    assert stored()["TAILSCALE_AUTH_KEY"] == "CANARY-worker-key-1"
    assert stored()["RELAYMD_ORCHESTRATOR_URL"] == (
        "http://relaymd-orchestrator.tail0a1b2c.ts.net:36158"
    )
    assert stored()["RELAYMD_API_TOKEN"] == canary_document["relaymd"]["RELAYMD_API_TOKEN"]
    assert {op for op, _ in engine.operations} == {"create"}

    # Nothing rotated: the same key, nothing written.
    engine.operations.clear()
    engine.apply(up(canary_stack, "CANARY-worker-key-1", "2026-01-01T00:00:00Z"))
    assert engine.operations == []

    for number, rotated_at in ((2, "2026-03-02T00:00:00Z"), (3, "2026-05-01T00:00:00Z")):
        deployment = up(canary_stack, f"CANARY-worker-key-{number}", rotated_at)
        worker_key = deployment.named(TAILNET_KEY, WORKER_KEY)
        # The rotation clock's timestamp is what replaces the key; the replaced key is
        # forgotten, not revoked, so it stays valid until its own expiry...
        assert worker_key.replacement_trigger == rotated_at
        assert worker_key.retain_on_delete
        engine.operations.clear()
        engine.apply(deployment)
        # ...and the same up writes the new key where workers read it, touching nothing else.
        assert engine.operations == [("update", "infisical-TAILSCALE_AUTH_KEY")]
        assert stored()["TAILSCALE_AUTH_KEY"] == f"CANARY-worker-key-{number}"
    assert len(fake.calls("PATCH")) == 2


def test_the_program_ships_the_real_provider_with_the_stacks_identity(
    canary_stack: dict[str, Any], canary_document: dict[str, Any]
) -> None:
    deployment = up(canary_stack, "CANARY-worker-key-1", "2026-01-01T00:00:00Z")
    secrets = deployment.by_type(SECRET_TYPE)
    assert {plain_inputs(r.inputs)["project_id"] for r in secrets} == {RELAYMD_PROJECT_ID}
    shipped = secrets[0].inputs["__provider"]
    assert rpc.is_rpc_secret(shipped)  # the pickled provider holds credentials: state encrypts it
    # Our own program's pickle, as the dynamic-provider host unpickles it.
    provider = dill.loads(base64.b64decode(rpc.unwrap_rpc_secret(shipped)))  # noqa: S301
    assert isinstance(provider, InfisicalSecretProvider)
    assert provider.identity.site_url == RELAYMD_SITE_URL
    assert provider.identity.client_id == canary_document["infisical"]["client_id"]
