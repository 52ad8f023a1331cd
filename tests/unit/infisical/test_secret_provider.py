"""The dynamic provider end to end: SDK over HTTP against the contract fake."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from google.protobuf import json_format
from pulumi.runtime import rpc

from infra.infisical.api import (
    ApprovalRequiredError,
    Identity,
    InfisicalApiError,
    RetryPolicy,
    SecretsApi,
    SecretScope,
)
from infra.infisical.provider import InfisicalSecretProvider, secret_diff
from tests.unit.infisical.support import FAST_RETRY, PROJECT_ID, FakeInfisical, running_fake

CANARY = "CANARY-infisical-provider-value"


@pytest.fixture
def infisical() -> Iterator[FakeInfisical]:
    with running_fake() as running:
        yield running


@pytest.fixture
def provider(infisical: FakeInfisical) -> InfisicalSecretProvider:
    return InfisicalSecretProvider(infisical.identity, FAST_RETRY)


def inputs(
    value: str = CANARY, *, name: str = "AXIOM_TOKEN", path: str = "/RelayMD"
) -> dict[str, Any]:
    return {
        "secret_name": name,
        "environment_slug": "prod",
        "secret_path": path,
        "project_id": PROJECT_ID,
        "secret_value": value,
    }


def serialized(outs: dict[str, Any]) -> Any:
    """Serialise as the dynamic-provider host does (pulumi/dynamic/__main__.py): on a private
    event loop, so the Pulumi mocks of other tests keep the current one."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(rpc.serialize_properties(outs, {}))
    finally:
        loop.close()


def engine_view(outs: dict[str, Any]) -> dict[str, Any]:
    """What the dynamic-provider host sends the engine, as JSON."""
    return json.loads(json_format.MessageToJson(serialized(outs)))


def test_create_makes_the_folder_and_stores_the_value(
    infisical: FakeInfisical, provider: InfisicalSecretProvider
) -> None:
    created = provider.create(inputs())
    assert infisical.fake.secrets_at(PROJECT_ID, "prod", "/RelayMD") == {"AXIOM_TOKEN": CANARY}
    assert created.outs is not None
    assert created.outs["project_id"] == PROJECT_ID
    assert infisical.fake.calls("POST", "/api/v2/folders") == ["/api/v2/folders"]


def test_outputs_carry_the_value_only_as_a_pulumi_secret(provider: InfisicalSecretProvider) -> None:
    created = provider.create(inputs())
    assert created.outs is not None
    sent = engine_view(created.outs)
    assert sent["secret_value"] == {
        rpc._special_sig_key: rpc._special_secret_sig,
        "value": CANARY,
    }
    clear = {key: value for key, value in sent.items() if key != "secret_value"}
    assert CANARY not in json.dumps(clear)
    engine_side = rpc.deserialize_properties(serialized(created.outs))
    assert rpc.is_rpc_secret(engine_side["secret_value"])


def test_refresh_reads_by_id_and_a_404_drops_the_secret(
    infisical: FakeInfisical, provider: InfisicalSecretProvider
) -> None:
    created = provider.create(inputs())
    read = provider.read(created.id, {**inputs(), **(created.outs or {})})
    assert read.id == created.id
    assert infisical.fake.calls("GET", "/api/v3/secrets/raw/id/") == [
        f"/api/v3/secrets/raw/id/{created.id}"
    ]
    infisical.fake.secrets.clear()  # deleted behind Pulumi's back
    gone = provider.read(created.id, created.outs or {})
    assert not gone.id
    again = provider.create(inputs())
    assert again.id != created.id
    assert infisical.fake.secrets_at(PROJECT_ID, "prod", "/RelayMD") == {"AXIOM_TOKEN": CANARY}


def test_every_read_reaches_the_server(
    infisical: FakeInfisical, provider: InfisicalSecretProvider
) -> None:
    created = provider.create(inputs())
    for _ in range(3):
        provider.read(created.id, created.outs or {})
    assert len(infisical.fake.calls("GET", "/api/v3/secrets/raw/id/")) == 3


def test_diff_does_not_flap_on_server_side_trimming(provider: InfisicalSecretProvider) -> None:
    padded = f"  {CANARY}\t"
    created = provider.create(inputs(padded))
    refreshed = provider.read(created.id, created.outs or {})
    assert refreshed.outs is not None
    diff = secret_diff(refreshed.outs, inputs(padded))
    assert diff.changes is False


def test_a_new_value_updates_in_place(
    infisical: FakeInfisical, provider: InfisicalSecretProvider
) -> None:
    created = provider.create(inputs())
    olds = created.outs or {}
    diff = secret_diff(olds, inputs("CANARY-second"))
    assert (diff.changes, diff.replaces) == (True, [])
    updated = provider.update(created.id, olds, inputs("CANARY-second"))
    assert updated.outs is not None
    assert infisical.fake.secrets_at(PROJECT_ID, "prod", "/RelayMD") == {
        "AXIOM_TOKEN": "CANARY-second"
    }


def test_a_new_name_renames_in_place(
    infisical: FakeInfisical, provider: InfisicalSecretProvider
) -> None:
    created = provider.create(inputs())
    olds = created.outs or {}
    renamed = inputs(name="RENAMED")
    diff = secret_diff(olds, renamed)
    assert (diff.changes, diff.replaces) == (True, [])
    updated = provider.update(created.id, olds, renamed)
    assert (updated.outs or {})["secret_name"] == "RENAMED"
    assert infisical.fake.secrets_at(PROJECT_ID, "prod", "/RelayMD") == {"RENAMED": CANARY}
    assert infisical.fake.calls("PATCH") == ["/api/v3/secrets/raw/AXIOM_TOKEN"]


@pytest.mark.parametrize(
    ("key", "value"),
    [("project_id", "another-project"), ("environment_slug", "dev"), ("secret_path", "/Other")],
)
def test_a_new_project_environment_or_path_replaces(key: str, value: str) -> None:
    olds = {**inputs(), "secret_value": CANARY}
    diff = secret_diff(olds, {**inputs(), key: value})
    assert diff.replaces == [key]
    assert diff.changes is True


def test_an_unknown_value_is_a_change() -> None:
    olds = {**inputs(), "secret_value": CANARY}
    assert secret_diff(olds, {**inputs(), "secret_value": rpc.UNKNOWN}).changes is True


def test_an_existing_secret_is_adopted(
    infisical: FakeInfisical, provider: InfisicalSecretProvider
) -> None:
    existing = infisical.fake.put_secret(PROJECT_ID, "prod", "/RelayMD", "AXIOM_TOKEN", "stale")
    created = provider.create(inputs())
    assert created.id == existing
    assert infisical.fake.secrets_at(PROJECT_ID, "prod", "/RelayMD") == {"AXIOM_TOKEN": CANARY}


@pytest.mark.parametrize("idempotent_folder_create", [False, True])
def test_an_existing_folder_is_fine_whichever_way_the_server_answers(
    idempotent_folder_create: bool,
) -> None:
    with running_fake(idempotent_folder_create=idempotent_folder_create) as infisical:
        infisical.fake.put_secret(PROJECT_ID, "prod", "/RelayMD", "OTHER", "x")
        infisical.fake.fail_next("POST", r"^/api/v3/secrets/raw/AXIOM_TOKEN$", 404)
        provider = InfisicalSecretProvider(infisical.identity, FAST_RETRY)
        with pytest.raises(InfisicalApiError, match="404"):
            provider.create(inputs())  # a 404 that is not about a folder stays an error
        provider.create(inputs())
        assert infisical.fake.secrets_at(PROJECT_ID, "prod", "/RelayMD")["AXIOM_TOKEN"] == CANARY
        api = SecretsApi(infisical.identity, FAST_RETRY)
        api.ensure_folder(
            SecretScope(PROJECT_ID, "prod", "/RelayMD")
        )  # exists: a 400, or the folder
        api.ensure_folder(SecretScope(PROJECT_ID, "prod", "/RelayMD/nested"))
        assert ("/api/v2/folders") in infisical.fake.calls("POST")


def test_delete_removes_it_and_tolerates_it_being_gone(
    infisical: FakeInfisical, provider: InfisicalSecretProvider
) -> None:
    created = provider.create(inputs())
    provider.delete(created.id, created.outs or {})
    assert infisical.fake.secrets_at(PROJECT_ID, "prod", "/RelayMD") == {}
    provider.delete(created.id, created.outs or {})


def test_an_approval_policy_is_a_clear_error(
    infisical: FakeInfisical, provider: InfisicalSecretProvider
) -> None:
    infisical.fake.add_environment("p2", "prod")
    infisical.fake.put_secret(PROJECT_ID, "prod", "/RelayMD", "OTHER", "x")
    infisical.fake.require_approval(PROJECT_ID, "prod", "/RelayMD")
    with pytest.raises(ApprovalRequiredError, match="approval request") as refused:
        provider.create(inputs())
    assert "AXIOM_TOKEN" in str(refused.value)
    assert CANARY not in str(refused.value)
    assert "AXIOM_TOKEN" not in infisical.fake.secrets_at(PROJECT_ID, "prod", "/RelayMD")


@pytest.mark.parametrize("status", [429, 500, 503])
def test_rate_limits_and_server_errors_are_retried(
    infisical: FakeInfisical, provider: InfisicalSecretProvider, status: int
) -> None:
    infisical.fake.fail_next("POST", r"^/api/v3/secrets/raw/", status, times=2, retry_after=0)
    provider.create(inputs())
    assert len(infisical.fake.calls("POST", "/api/v3/secrets/raw/")) >= 3


def test_retries_stop_within_the_bounded_total(infisical: FakeInfisical) -> None:
    waits: list[float] = []
    infisical.fake.fail_next("POST", r"^/api/v3/secrets/raw/", 429, times=1000, retry_after=1)
    bounded = RetryPolicy(first_delay=1.0, max_delay=4.0, total_seconds=10.0)
    clock = iter(range(1000))

    api = SecretsApi(
        infisical.identity, bounded, sleep=waits.append, clock=lambda: float(next(clock))
    )
    with pytest.raises(InfisicalApiError, match="HTTP 429"):
        api.create(SecretScope(PROJECT_ID, "prod", "/"), "K", CANARY)
    assert 0 < len(waits) < 12
    assert max(waits) <= 4.0


def test_a_wrong_identity_names_the_fix(infisical: FakeInfisical) -> None:
    wrong = InfisicalSecretProvider(Identity(infisical.url, "fake-client-id", "wrong"), FAST_RETRY)
    with pytest.raises(InfisicalApiError, match="machine identity"):
        wrong.create(inputs())


def test_check_names_bad_inputs(provider: InfisicalSecretProvider) -> None:
    result = provider.check({}, {**inputs(), "secret_path": "RelayMD", "secret_name": " "})
    assert sorted(failure.property for failure in result.failures) == ["secret_name", "secret_path"]


def test_a_server_that_never_answers_is_an_error_not_a_hang(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The SDK retries a timed-out request 4 times, 1-8 s apart: skip its waits.
    monkeypatch.setattr("infisical_sdk.infisical_requests.time.sleep", lambda _seconds: None)
    bounded = RetryPolicy(first_delay=0.01, max_delay=0.05, total_seconds=2.0, request_seconds=0.2)
    with socket.socket() as silent:  # accepts connections (the backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        with pytest.raises(InfisicalApiError, match=f"Could not reach Infisical at {url}"):
            SecretsApi(Identity(url, "fake-client-id", CANARY), bounded)
