"""Universal-auth client secrets: the fake's login and identity reads, their parsing, and the
SDK's transport under the project's HTTP rules."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from infra.ground.http import AnswerRefusedError, RetryPolicy
from infra.infisical.api import Identity, InfisicalApiError, InfisicalUnreachableError, SecretsApi
from infra.infisical.client_secrets import (
    in_use,
    parse_client_secrets,
    universal_auth_client_id,
)
from tests.support.http_fakes import Incoming, Reply, serve
from tests.support.infisical_fake import InfisicalContractFake
from tests.support.infisical_fake import serve as serve_infisical

FAST = RetryPolicy(first_delay=0.01, max_delay=0.02, total_seconds=1.0, request_seconds=2.0)
DEPLOY_ID = "0b6f3c0e-8d0a-4f5e-9c1b-2a7d4e5f6a01"
OTHER_ID = "7c2e9a14-3b5d-4e6f-8a9b-0c1d2e3f4a02"
SECRET = "CANARY-deploy-secret-7f3a9c"


@pytest.fixture
def fake() -> InfisicalContractFake:
    fake = InfisicalContractFake()
    fake.add_identity("deploy-client", SECRET, identity_id=DEPLOY_ID)
    fake.add_identity("other-client", "other-secret", identity_id=OTHER_ID)
    fake.grant_identity_read(DEPLOY_ID, DEPLOY_ID)
    fake.grant_identity_read(DEPLOY_ID, OTHER_ID)
    return fake


@pytest.fixture
def url(fake: InfisicalContractFake) -> Iterator[str]:
    with serve_infisical(fake) as base:
        yield base


def _login(url: str, secret: str = SECRET) -> SecretsApi:
    return SecretsApi(Identity(url, "deploy-client", secret), FAST)


def _only_secret(fake: InfisicalContractFake, identity_id: str) -> str:
    [stored] = fake.identities[identity_id].client_secrets
    return stored.id


def test_each_login_spends_one_use_and_a_limited_secret_is_used_up_then_revoked(
    fake: InfisicalContractFake, url: str
) -> None:
    limited = fake.add_client_secret(DEPLOY_ID, "LIMT-secret", uses_limit=2)
    for _ in range(2):
        _login(url, "LIMT-secret").close()
    assert fake.client_secret(DEPLOY_ID, limited).uses == 2
    with pytest.raises(InfisicalApiError) as refused:
        _login(url, "LIMT-secret")
    assert (refused.value.status, refused.value.reason) == (
        401,
        "Access denied due to client secret usage limit reached",
    )
    assert fake.client_secret(DEPLOY_ID, limited).revoked


def test_a_secret_past_its_ttl_is_refused_and_revoked_at_the_login_that_tries_it(
    fake: InfisicalContractFake, url: str
) -> None:
    old = fake.add_client_secret(DEPLOY_ID, "OLDS-secret", ttl=3600, age_seconds=7200)
    # Until someone tries it, it still lists (the list shows what is not revoked).
    with _login(url) as api:
        listed = parse_client_secrets(api.client_secrets(DEPLOY_ID), DEPLOY_ID)
    assert old in {secret.id for secret in listed}
    with pytest.raises(InfisicalApiError, match="expired client secret"):
        _login(url, "OLDS-secret")
    with _login(url) as api:
        listed = parse_client_secrets(api.client_secrets(DEPLOY_ID), DEPLOY_ID)
    assert old not in {secret.id for secret in listed}


def test_three_wrong_secrets_lock_the_identity_even_for_the_right_one(url: str) -> None:
    for _ in range(3):
        with pytest.raises(InfisicalApiError, match="Invalid credentials"):
            _login(url, "CANARY-wrong-7f3a9c")
    with pytest.raises(InfisicalApiError, match="temporarily locked"):
        _login(url)


def test_the_identity_reads_answer_metadata_never_a_secret(
    fake: InfisicalContractFake, url: str
) -> None:
    with _login(url) as api:
        config = api.universal_auth(OTHER_ID)
        listed_raw = api.client_secrets(OTHER_ID)
    assert universal_auth_client_id(config, OTHER_ID) == "other-client"
    assert "other-secret" not in str(listed_raw)
    [secret] = parse_client_secrets(listed_raw, OTHER_ID)
    assert (secret.ttl_seconds, secret.uses_limit, secret.expires_at, secret.uses_left) == (
        0,
        0,
        None,
        None,
    )
    assert in_use([secret], "other-secret") == (secret,)
    assert in_use([secret], "othr-secret") == ()
    assert "othe" not in repr(secret)


@pytest.mark.parametrize(
    ("set_up", "status", "reason"),
    [
        (lambda fake: None, 404, "Failed to find identity with ID"),
        (
            lambda fake: fake.identities[DEPLOY_ID].readable.pop(OTHER_ID),
            403,
            "You are not allowed to read on Identity",
        ),
        (
            lambda fake: fake.grant_identity_read(DEPLOY_ID, OTHER_ID, within_boundary=False),
            403,
            "Failed to get identity client secret with more privileged role",
        ),
    ],
)
def test_the_identity_reads_refusals(
    fake: InfisicalContractFake, url: str, set_up: object, status: int, reason: str
) -> None:
    set_up(fake)  # type: ignore[operator]
    target = "00000000-0000-4000-8000-000000000000" if status == 404 else OTHER_ID
    with _login(url) as api, pytest.raises(InfisicalApiError) as refused:
        api.client_secrets(target)
    assert refused.value.status == status
    assert reason in refused.value.reason


def test_a_malformed_list_is_refused_field_by_field() -> None:
    good = {
        "id": "s1",
        "createdAt": "2026-01-01T00:00:00.000Z",
        "clientSecretPrefix": "abcd",
        "clientSecretTTL": 60,
        "clientSecretNumUses": 1,
        "clientSecretNumUsesLimit": 0,
        "isClientSecretRevoked": False,
    }
    [parsed] = parse_client_secrets({"clientSecretData": [good]}, DEPLOY_ID)
    assert parsed.expires_at == datetime(2026, 1, 1, 0, 1, tzinfo=UTC)
    assert parsed.expires_at - parsed.created_at == timedelta(seconds=60)
    for field, value in (
        ("clientSecretTTL", "60"),
        ("clientSecretNumUses", -1),
        ("createdAt", None),
        ("isClientSecretRevoked", 0),
    ):
        with pytest.raises(AnswerRefusedError, match=field):
            parse_client_secrets({"clientSecretData": [{**good, field: value}]}, DEPLOY_ID)
    with pytest.raises(AnswerRefusedError, match="another identity"):
        universal_auth_client_id(
            {"identityUniversalAuth": {"identityId": OTHER_ID, "clientId": "x"}}, DEPLOY_ID
        )


def test_a_redirected_login_never_sends_the_secret_on(fake: InfisicalContractFake) -> None:
    """requests would resend a 307'd POST, body and all; the adapter refuses the redirect."""
    elsewhere: list[Incoming] = []

    def record(request: Incoming) -> Reply:
        elsewhere.append(request)
        return Reply(200, b"{}")

    with serve(record) as thief:
        redirect = Reply(307, headers={"Location": f"{thief}/api/v1/auth/universal-auth/login"})
        with serve(lambda _: redirect) as url, pytest.raises(InfisicalApiError) as refused:
            _login(url)
    assert elsewhere == []
    assert "redirect" in str(refused.value)
    assert SECRET not in str(refused.value)


def test_a_login_whose_answer_is_lost_is_not_sent_again(
    fake: InfisicalContractFake, url: str
) -> None:
    """The SDK retries network errors 4 times; a login that reached the server may have spent
    a use, so a lost answer is reported, not repeated."""
    secret_id = _only_secret(fake, DEPLOY_ID)
    fake.slow_next("POST", "/login$", 1.5)
    slow = RetryPolicy(first_delay=0.01, max_delay=0.02, total_seconds=1.0, request_seconds=0.5)
    with pytest.raises(InfisicalUnreachableError, match="Could not reach Infisical"):
        SecretsApi(Identity(url, "deploy-client", SECRET), slow)
    time.sleep(1.2)  # the fake finishes the login it was sent
    assert fake.calls("POST") == ["/api/v1/auth/universal-auth/login"]
    # The server did act on it: the one use is spent, and only one.
    assert fake.client_secret(DEPLOY_ID, secret_id).uses == 1


def test_a_malformed_answer_is_refused_not_parsed(fake: InfisicalContractFake, url: str) -> None:
    with _login(url) as api:
        fake.malformed_next("GET", "/client-secrets$")
        with pytest.raises(InfisicalApiError):
            api.client_secrets(OTHER_ID)
        fake.malformed_next("GET", "/client-secrets$", b"[1, 2]")
        with pytest.raises(InfisicalApiError, match="other than a JSON object"):
            api.client_secrets(OTHER_ID)
