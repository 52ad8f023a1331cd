"""The contract fake answers Infisical's SDK (infisicalsdk 1.0.17) as the real API does."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from infisical_sdk import InfisicalSDKClient
from infisical_sdk.infisical_requests import APIError

from tests.unit.infisical.support import (
    CLIENT_ID,
    CLIENT_SECRET,
    PROJECT_ID,
    FakeInfisical,
    running_fake,
)


@pytest.fixture
def infisical() -> Iterator[FakeInfisical]:
    with running_fake() as running:
        yield running


@pytest.fixture
def client(infisical: FakeInfisical) -> Iterator[InfisicalSDKClient]:
    sdk = InfisicalSDKClient(host=infisical.url, cache_ttl=None)
    sdk.auth.universal_auth.login(CLIENT_ID, CLIENT_SECRET)
    yield sdk
    sdk.close()


@pytest.mark.parametrize(
    "request_without_login",
    [
        pytest.param(
            lambda sdk: sdk.auth.universal_auth.login(CLIENT_ID, "not-the-secret"),
            id="login with a wrong secret",
        ),
        pytest.param(
            lambda sdk: sdk.secrets.list_secrets("prod", "/", project_id=PROJECT_ID),
            id="a request without a token",
        ),
    ],
)
def test_an_unauthenticated_request_is_401(
    infisical: FakeInfisical, request_without_login: Callable[[InfisicalSDKClient], object]
) -> None:
    sdk = InfisicalSDKClient(host=infisical.url, cache_ttl=None)
    with pytest.raises(APIError) as refused:
        request_without_login(sdk)
    assert refused.value.status_code == 401


def test_sdk_crud_by_name_round_trips(client: InfisicalSDKClient) -> None:
    created = client.secrets.create_secret_by_name(
        "AXIOM_TOKEN", "/", "prod", project_id=PROJECT_ID, secret_value="one"
    )
    read = client.secrets.get_secret_by_name("AXIOM_TOKEN", "prod", "/", project_id=PROJECT_ID)
    assert (read.id, read.secretValue) == (created.id, "one")
    client.secrets.update_secret_by_name(
        "AXIOM_TOKEN", "/", "prod", project_id=PROJECT_ID, secret_value="two", new_secret_name="B"
    )
    listed = client.secrets.list_secrets("prod", "/", project_id=PROJECT_ID)
    assert [(s.secretKey, s.secretValue) for s in listed.secrets] == [("B", "two")]
    client.secrets.delete_secret_by_name("B", "/", "prod", project_id=PROJECT_ID)
    with pytest.raises(APIError) as gone:
        client.secrets.get_secret_by_name("B", "prod", "/", project_id=PROJECT_ID)
    assert gone.value.status_code == 404


def test_read_by_id_answers_the_secret_with_its_path(
    infisical: FakeInfisical, client: InfisicalSDKClient
) -> None:
    secret_id = infisical.fake.put_secret(PROJECT_ID, "prod", "/RelayMD", "K", "v")
    answer = client.api.get(path=f"/api/v3/secrets/raw/id/{secret_id}", model=dict).data
    assert answer["secret"]["secretPath"] == "/RelayMD"
    assert answer["secret"]["workspace"] == PROJECT_ID
    with pytest.raises(APIError) as gone:
        client.api.get(path="/api/v3/secrets/raw/id/no-such-id", model=dict)
    assert gone.value.status_code == 404


@pytest.mark.parametrize(
    ("sent", "stored"),
    [(" padded\t", "padded"), ("line\n", "line\n"), ("  both \n", "both\n"), ("x\n\n", "x\n")],
)
def test_values_are_trimmed_but_keep_a_final_newline(
    client: InfisicalSDKClient, sent: str, stored: str
) -> None:
    created = client.secrets.create_secret_by_name(
        "K", "/", "prod", project_id=PROJECT_ID, secret_value=sent
    )
    assert created.secretValue == stored


def test_writing_into_a_missing_folder_is_404(client: InfisicalSDKClient) -> None:
    with pytest.raises(APIError) as missing:
        client.secrets.create_secret_by_name(
            "K", "/RelayMD", "prod", project_id=PROJECT_ID, secret_value="v"
        )
    assert missing.value.status_code == 404
    assert "Folder with path '/RelayMD' in environment with slug 'prod' not found" in str(
        missing.value
    )


def test_listing_a_missing_folder_is_empty_not_404(client: InfisicalSDKClient) -> None:
    listed = client.secrets.list_secrets("prod", "/RelayMD", project_id=PROJECT_ID)
    assert listed.secrets == []


def test_creating_an_existing_folder_is_400(client: InfisicalSDKClient) -> None:
    client.folders.create_folder("RelayMD", "prod", PROJECT_ID, path="/")
    with pytest.raises(APIError) as exists:
        client.folders.create_folder("RelayMD", "prod", PROJECT_ID, path="/")
    assert exists.value.status_code == 400
    assert "Folder with name 'RelayMD' already exists in path '/'" in str(exists.value)
    names = [f.name for f in client.folders.list_folders(PROJECT_ID, "prod", "/").folders]
    assert names == ["RelayMD"]


def test_servers_before_pr_4690_answer_with_the_existing_folder() -> None:
    with running_fake(idempotent_folder_create=True) as infisical:
        sdk = InfisicalSDKClient(host=infisical.url, cache_ttl=None)
        sdk.auth.universal_auth.login(CLIENT_ID, CLIENT_SECRET)
        first = sdk.folders.create_folder("RelayMD", "prod", PROJECT_ID, path="/")
        again = sdk.folders.create_folder("RelayMD", "prod", PROJECT_ID, path="/")
        assert again.id == first.id


def test_creating_an_existing_secret_is_400(client: InfisicalSDKClient) -> None:
    client.secrets.create_secret_by_name("K", "/", "prod", project_id=PROJECT_ID, secret_value="a")
    with pytest.raises(APIError) as exists:
        client.secrets.create_secret_by_name(
            "K", "/", "prod", project_id=PROJECT_ID, secret_value="b"
        )
    assert exists.value.status_code == 400


def test_an_approval_policy_answers_approval_and_the_sdk_cannot_parse_it(
    infisical: FakeInfisical, client: InfisicalSDKClient
) -> None:
    infisical.fake.require_approval(PROJECT_ID, "prod", "/")
    with pytest.raises(KeyError, match="secret"):
        client.secrets.create_secret_by_name(
            "K", "/", "prod", project_id=PROJECT_ID, secret_value="v"
        )
    assert infisical.fake.secrets_at(PROJECT_ID, "prod", "/") == {}


@pytest.mark.parametrize("status", [429, 500])
def test_injected_failures_answer_with_their_status(
    infisical: FakeInfisical, client: InfisicalSDKClient, status: int
) -> None:
    infisical.fake.fail_next("GET", r"^/api/v3/secrets/raw$", status, retry_after=3)
    with pytest.raises(APIError) as failed:
        client.secrets.list_secrets("prod", "/", project_id=PROJECT_ID)
    assert failed.value.status_code == status
    # The next request goes through: the failure was injected once.
    assert client.secrets.list_secrets("prod", "/", project_id=PROJECT_ID).secrets == []
