"""The provider inside Pulumi's own dynamic-provider host, spoken to over gRPC as the engine does.

``python -m pulumi.dynamic`` (pulumi 3.272, pulumi/dynamic/__main__.py) is the process the
engine starts for dynamic resources: it prints its port, unpickles ``__provider`` and answers
Configure/Check/Create/Read/Diff/Update/Delete. It tells the engine it does not accept
secrets, so the engine sends inputs unwrapped and records whatever the host serialises: the
value must come back only inside Pulumi's secret envelope.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from google.protobuf import json_format, struct_pb2
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime import rpc
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

from infra.ground.project import PROJECT_ROOT
from infra.infisical.provider import InfisicalSecretProvider
from tests.unit.infisical.support import FAST_RETRY, PROJECT_ID, FakeInfisical, running_fake

CANARY = "CANARY-grpc-host-value"
URN = "urn:pulumi:example::relaymd-infra::pulumi-python:dynamic/infisical:Secret::s"
SECRET_SIG = {rpc._special_sig_key: rpc._special_secret_sig}


@pytest.fixture
def infisical() -> Iterator[FakeInfisical]:
    with running_fake() as running:
        yield running


@pytest.fixture
def host() -> Iterator[provider_pb2_grpc.ResourceProviderStub]:
    """Pulumi's dynamic-provider host on loopback, started where Pulumi starts it."""
    process = subprocess.Popen(
        [sys.executable, "-m", "pulumi.dynamic"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=PROJECT_ROOT / "infra",
        text=True,
    )
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline())
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield provider_pb2_grpc.ResourceProviderStub(channel)
    finally:
        process.terminate()
        _, errors = process.communicate(timeout=10)
        assert CANARY not in errors


def struct(props: dict[str, Any]) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    message.update(props)
    return message


def plain(message: struct_pb2.Struct) -> dict[str, Any]:
    """What the engine sends a host that does not accept secrets: envelopes removed."""
    return {
        key: value["value"] if isinstance(value, dict) and rpc._special_sig_key in value else value
        for key, value in json_format.MessageToDict(message).items()
    }


def recorded(message: struct_pb2.Struct) -> dict[str, Any]:
    """The host's answer as the engine records it, without the pickled provider."""
    answer = json_format.MessageToDict(message)
    answer.pop("__provider")
    return answer


def assert_value_only_as_secret(message: struct_pb2.Struct, value: str) -> None:
    answer = recorded(message)
    assert answer["secret_value"] == {**SECRET_SIG, "value": value}
    del answer["secret_value"]
    assert "CANARY" not in json.dumps(answer)


def test_the_host_answers_every_operation_with_the_value_only_as_a_secret(
    infisical: FakeInfisical, host: provider_pb2_grpc.ResourceProviderStub
) -> None:
    configured = host.Configure(provider_pb2.ConfigureRequest(args=struct({})))
    assert configured.acceptSecrets is False  # so the engine sends and expects plain values
    provider = serialize_provider(InfisicalSecretProvider(infisical.identity, FAST_RETRY))
    wanted = {
        "__provider": provider,
        "secret_name": "AXIOM_TOKEN",
        "environment_slug": "prod",
        "secret_path": "/RelayMD",
        "project_id": PROJECT_ID,
        "secret_value": CANARY,
    }
    checked = host.Check(provider_pb2.CheckRequest(urn=URN, olds=struct({}), news=struct(wanted)))
    assert not checked.failures

    created = host.Create(provider_pb2.CreateRequest(urn=URN, properties=checked.inputs))
    assert_value_only_as_secret(created.properties, CANARY)
    assert recorded(created.properties)["project_id"] == PROJECT_ID
    assert infisical.fake.secrets_at(PROJECT_ID, "prod", "/RelayMD") == {"AXIOM_TOKEN": CANARY}
    state = plain(created.properties)

    read = host.Read(provider_pb2.ReadRequest(id=created.id, urn=URN, properties=struct(state)))
    assert read.id == created.id
    assert_value_only_as_secret(read.properties, CANARY)

    def diff(**changed: str) -> provider_pb2.DiffResponse:
        news = struct({**wanted, **changed})
        return host.Diff(
            provider_pb2.DiffRequest(id=created.id, urn=URN, olds=struct(state), news=news)
        )

    assert diff(secret_value=f" {CANARY}\t").changes == provider_pb2.DiffResponse.DIFF_NONE
    assert list(diff(secret_path="/Other").replaces) == ["secret_path"]
    renamed = diff(secret_name="AXIOM_TOKEN_2", secret_value="CANARY-second")
    assert (renamed.changes, list(renamed.replaces)) == (provider_pb2.DiffResponse.DIFF_SOME, [])

    news = {**wanted, "secret_name": "AXIOM_TOKEN_2", "secret_value": "CANARY-second"}
    updated = host.Update(
        provider_pb2.UpdateRequest(id=created.id, urn=URN, olds=struct(state), news=struct(news))
    )
    assert_value_only_as_secret(updated.properties, "CANARY-second")
    stored = infisical.fake.secrets_at(PROJECT_ID, "prod", "/RelayMD")
    assert stored == {"AXIOM_TOKEN_2": "CANARY-second"}

    state = plain(updated.properties)
    host.Delete(provider_pb2.DeleteRequest(id=created.id, urn=URN, properties=struct(state)))
    assert infisical.fake.secrets_at(PROJECT_ID, "prod", "/RelayMD") == {}
    gone = host.Read(provider_pb2.ReadRequest(id=created.id, urn=URN, properties=struct(state)))
    assert gone.id == ""  # the engine drops it from state; the next up creates it again


def test_a_refused_write_reaches_the_engine_as_a_clear_error_without_the_value(
    infisical: FakeInfisical, host: provider_pb2_grpc.ResourceProviderStub
) -> None:
    infisical.fake.put_secret(PROJECT_ID, "prod", "/RelayMD", "OTHER", "x")
    infisical.fake.require_approval(PROJECT_ID, "prod", "/RelayMD")
    props = {
        "__provider": serialize_provider(InfisicalSecretProvider(infisical.identity, FAST_RETRY)),
        "secret_name": "AXIOM_TOKEN",
        "environment_slug": "prod",
        "secret_path": "/RelayMD",
        "project_id": PROJECT_ID,
        "secret_value": CANARY,
    }
    with pytest.raises(grpc.RpcError) as refused:
        host.Create(provider_pb2.CreateRequest(urn=URN, properties=struct(props)))
    details = str(refused.value.details())  # the engine prints these to the operator
    assert "approval request" in details
    assert CANARY not in details
